#pragma once

#include <cstddef>

#include "wiregen/byte_buffer.hpp"

namespace wiregen::detail {

/// Buffers of the calling thread kept for reuse: a connection takes one
/// when it has bytes to hold (frames to send, a partial frame received) and
/// gives it back when they are gone, so an idle connection holds no buffer
/// at all while steady traffic allocates nothing. A buffer grown for a large
/// frame is freed rather than kept, and each thread keeps a bounded number
/// of bytes, so the pools together hold at most a few MiB per thread.
class buffer_pool {
 public:
  /// Buffers larger than this are freed when given back. A write round of
  /// sixteen 4 KiB replies needs a 128 KiB buffer: freeing those would cost
  /// a map and an unmap per round.
  static constexpr std::size_t largest_kept = 128 * 1024;
  /// Bytes of capacity one thread keeps at most.
  static constexpr std::size_t most_kept_per_thread = 4 * 1024 * 1024;

  /// Gives `out`, which must hold no storage, a kept buffer of this thread
  /// with room for `size` bytes, if one is kept; else leaves it as it is.
  static void take(byte_buffer& out, std::size_t size) noexcept;
  /// Gives the storage of `buffer` back (kept, or freed) and leaves it
  /// empty with no capacity. Anything still in it is dropped.
  static void give_back(byte_buffer& buffer) noexcept;
  /// The bytes of capacity this thread keeps right now, for tests.
  static std::size_t kept_bytes() noexcept;
};

}  // namespace wiregen::detail
