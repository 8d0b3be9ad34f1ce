// The per-thread buffer pool: buffers come back for reuse, large ones are
// freed, and what one thread keeps is bounded.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "wiregen/detail/buffer_pool.hpp"

using wiregen::byte_buffer;
using wiregen::detail::buffer_pool;

TEST_CASE("buffer pool: a buffer given back is taken again, no larger than asked",
          "[runtime][buffer_pool]") {
  std::thread([] {  // a thread of its own: a fresh pool
    byte_buffer a;
    a.prepare(1000);
    const auto* storage = a.prepare(0);
    buffer_pool::give_back(a);
    CHECK(a.capacity() == 0);
    CHECK(buffer_pool::kept_bytes() >= 1000);
    byte_buffer too_small_for;
    buffer_pool::take(too_small_for, 5000);  // none kept is large enough
    CHECK(too_small_for.capacity() == 0);
    byte_buffer b;
    buffer_pool::take(b, 100);
    CHECK(b.prepare(0) == storage);  // the same storage, reused
    CHECK(buffer_pool::kept_bytes() == 0);
    buffer_pool::give_back(b);
  })
      .join();
}

TEST_CASE("buffer pool: large buffers are freed, and a thread keeps a bounded amount",
          "[runtime][buffer_pool]") {
  std::thread([] {
    byte_buffer large;
    large.prepare(buffer_pool::largest_kept + 1);
    buffer_pool::give_back(large);
    CHECK(large.capacity() == 0);
    CHECK(buffer_pool::kept_bytes() == 0);
    std::vector<byte_buffer> many(100);
    for (auto& b : many) {
      b.prepare(buffer_pool::largest_kept);
    }
    for (auto& b : many) {
      buffer_pool::give_back(b);
      CHECK(b.capacity() == 0);
    }
    CHECK(buffer_pool::kept_bytes() <= buffer_pool::most_kept_per_thread);
  }).join();
}
