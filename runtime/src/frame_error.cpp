#include "wiregen/frame_error.hpp"

#include <utility>

#include "wiregen/error.hpp"

namespace wiregen {

namespace {
// Between a generated dispatcher's catch block and the report that follows
// on the same thread, in the same call: never seen by another frame.
thread_local std::exception_ptr kept_exception;
}  // namespace

std::string frame_error::what() const {
  if (!exception) {
    return {};
  }
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& thrown) {
    return thrown.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::error_code handler_threw() noexcept {
  kept_exception = std::current_exception();
  return error::handler_failed;
}

namespace detail {
std::exception_ptr take_handler_exception() noexcept {
  return std::exchange(kept_exception, nullptr);
}
}  // namespace detail

}  // namespace wiregen
