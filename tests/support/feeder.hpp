#pragma once

#include <memory>
#include <string>

#include "support/detached_connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/frame_loop.hpp"

namespace wiregen::test {

/// Plays the connection's part for a dispatcher fed bytes directly: keeps
/// unconsumed bytes and hands everything buffered to the dispatcher after
/// each chunk arrives.
struct feeder {
  explicit feeder(std::shared_ptr<wiregen::stream_dispatcher> d)
      : dispatcher(d), conn(detached_connection(d)), loop(conn->gate()) {}
  feeder(const feeder&) = delete;
  feeder& operator=(const feeder&) = delete;
  // A stop posts work that owns the connection; run it so nothing leaks.
  ~feeder() { conn->context().poll(); }

  wiregen::decode_result feed(const std::string& chunk) {
    buffered += chunk;
    const auto result = dispatcher->on_input(
        *conn, loop, {reinterpret_cast<const std::uint8_t*>(buffered.data()), buffered.size()});
    buffered.erase(0, result.consumed);
    return result;
  }

  std::shared_ptr<wiregen::stream_dispatcher> dispatcher;
  std::shared_ptr<wiregen::connection> conn;
  // Stops delivering once the connection stops, as a served connection's does.
  wiregen::frame_loop loop;
  std::string buffered;
};

}  // namespace wiregen::test
