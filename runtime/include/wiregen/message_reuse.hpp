#pragma once

#include <cstddef>

namespace wiregen {

/// Messages larger than this on the wire are not kept for reuse.
inline constexpr std::size_t largest_reused_message = 64 * 1024;

/// Generated dispatchers parse every message into one object per thread and
/// type, so that steady traffic allocates nothing. One large message would
/// leave that object holding its buffers for the thread's life: after a
/// message of `wire_size` bytes above largest_reused_message, `message`
/// starts over empty and its buffers are freed.
template <class Message>
void release_if_large(Message& message, std::size_t wire_size) {
  if (wire_size > largest_reused_message) {
    message = Message();
  }
}

/// Calls release_if_large when the scope ends, whichever way it ends.
template <class Message>
class reuse_scope {
 public:
  reuse_scope(Message& message, std::size_t wire_size) noexcept
      : message_(message), wire_size_(wire_size) {}
  reuse_scope(const reuse_scope&) = delete;
  reuse_scope& operator=(const reuse_scope&) = delete;
  ~reuse_scope() { release_if_large(message_, wire_size_); }

 private:
  Message& message_;
  std::size_t wire_size_;
};

}  // namespace wiregen
