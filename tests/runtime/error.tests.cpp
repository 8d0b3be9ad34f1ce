#include "wiregen/error.hpp"

#include <catch2/catch.hpp>

TEST_CASE("error: wiregen errors are std::error_codes in the wiregen category",
          "[runtime][error]") {
  const std::error_code ec = wiregen::error::frame_too_large;
  CHECK(ec.category().name() == std::string("wiregen"));
  CHECK(ec.message() == "frame larger than the maximum frame size");
  CHECK(ec == wiregen::error::frame_too_large);
  CHECK(ec != wiregen::error::send_queue_full);
  for (int value = 1; value <= static_cast<int>(wiregen::error::bad_address); ++value) {
    CHECK(wiregen::make_error_code(static_cast<wiregen::error>(value))
              .message()
              .find("unknown wiregen error") == std::string::npos);
  }
}
