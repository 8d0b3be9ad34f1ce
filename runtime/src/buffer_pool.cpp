#include "wiregen/detail/buffer_pool.hpp"

#include <array>
#include <utility>

namespace wiregen::detail {

namespace {

// Whether this thread's pool still exists: a buffer given back while the
// thread's storage is being torn down (a connection destroyed by a static
// object's destructor, say) is freed instead. Trivially destructible, so it
// outlives the pool.
thread_local bool pool_alive = true;

struct thread_pool {
  ~thread_pool() { pool_alive = false; }
  // A stack: the buffer given back last is the warmest in the cache.
  std::array<byte_buffer, 64> kept;
  std::size_t count = 0;
  std::size_t bytes = 0;
};

thread_pool& pool() noexcept {
  static thread_local thread_pool instance;
  return instance;
}

}  // namespace

void buffer_pool::take(byte_buffer& out, std::size_t size) noexcept {
  // Checked first: a buffer in use (the common case) costs one comparison.
  if (out.capacity() != 0 || !pool_alive) {
    return;
  }
  auto& p = pool();
  // The warmest buffer that is large enough; the ones above it stay.
  for (std::size_t i = p.count; i-- > 0;) {
    if (p.kept[i].capacity() >= size) {
      p.bytes -= p.kept[i].capacity();
      out.swap(p.kept[i]);
      for (std::size_t j = i + 1; j < p.count; ++j) {
        p.kept[j - 1].swap(p.kept[j]);
      }
      --p.count;
      return;
    }
  }
}

void buffer_pool::give_back(byte_buffer& buffer) noexcept {
  const std::size_t capacity = buffer.capacity();
  if (capacity == 0) {
    return;
  }
  buffer.clear();
  if (!pool_alive) {
    byte_buffer().swap(buffer);
    return;
  }
  auto& p = pool();
  if (capacity <= largest_kept && p.count < p.kept.size() &&
      p.bytes + capacity <= most_kept_per_thread) {
    p.kept[p.count++].swap(buffer);
    p.bytes += capacity;
    return;
  }
  byte_buffer().swap(buffer);  // freed
}

std::size_t buffer_pool::kept_bytes() noexcept {
  return pool_alive ? pool().bytes : 0;
}

}  // namespace wiregen::detail
