// What every connection carries, bounded: the state that exists for every
// connection is only what every connection needs (docs/runtime.md, 9a). The
// parts a connection needs only sometimes (startup, liveness, the rate
// limit, a drain) are pointers here and cost nothing until made. Raise a
// bound only with a reason, and the memory figures in docs/performance.md.
#include <catch2/catch.hpp>

#include "wiregen/connection.hpp"

TEST_CASE("connection size: the per-connection state stays small", "[runtime][memory]") {
  CHECK(sizeof(wiregen::detail::send_queue) <= 104);
  CHECK(sizeof(wiregen::detail::stream) <= 56);
  CHECK(sizeof(wiregen::frame_loop) <= 32);
  CHECK(sizeof(wiregen::byte_buffer) <= 32);
  CHECK(sizeof(wiregen::connection) <= 520);
}
