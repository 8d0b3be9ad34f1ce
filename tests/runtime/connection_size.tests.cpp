// What every connection carries, bounded: the state that exists for every
// connection is only what every connection needs (docs/runtime.md, 9a). The
// parts a connection needs only sometimes (startup, buffers while bytes
// move, liveness, the rate limit, a drain) are pointers here and cost
// nothing until made. 280 bytes and make_shared's 16-byte control block fill
// a 304-byte malloc chunk, which with Asio's per-socket state (176) and its
// pending read wait (112) is the 600 bytes of an idle connection. Raise a
// bound only with a reason, and the memory figures in docs/performance.md.
#include <catch2/catch.hpp>

#include "wiregen/connection.hpp"

TEST_CASE("connection size: the per-connection state stays small", "[runtime][memory]") {
  CHECK(sizeof(wiregen::detail::send_queue) <= 56);
  CHECK(sizeof(wiregen::detail::stream) <= 48);
  // In the transfer state, held only by busy connections: 40 with the
  // per-connection frame limit in its gate.
  CHECK(sizeof(wiregen::frame_loop) <= 40);
  CHECK(sizeof(wiregen::byte_buffer) <= 32);
  CHECK(sizeof(wiregen::connection) <= 280);
}
