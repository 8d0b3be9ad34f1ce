#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

namespace wiregen {

namespace detail {

/// Storage for byte buffers. Large blocks are mapped from the kernel rather
/// than taken from the heap, so freeing one gives its memory back to the
/// system at once: a buffer grown for one large frame does not stay in the
/// process once it is released.
std::uint8_t* allocate_bytes(std::size_t size);
void free_bytes(std::uint8_t* block, std::size_t size) noexcept;

}  // namespace detail

/// A growable byte buffer: [consumed | readable | writable]. Growing does not
/// zero-fill, and consumed bytes are reclaimed by moving the readable bytes to
/// the front, so a buffer reused for a connection's lifetime stops allocating
/// once it has reached its working size. Not thread-safe.
class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;
  byte_buffer(byte_buffer&& other) noexcept { swap(other); }
  byte_buffer& operator=(byte_buffer&& other) noexcept {
    byte_buffer(std::move(other)).swap(*this);
    return *this;
  }
  ~byte_buffer() { detail::free_bytes(data_, capacity_); }

  /// The bytes written and not yet consumed.
  std::span<const std::uint8_t> readable() const noexcept {
    return {data_ + begin_, end_ - begin_};
  }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  /// Bytes allocated, readable or not.
  std::size_t capacity() const noexcept { return capacity_; }

  /// Makes room for at least `n` bytes after the readable ones and returns
  /// where they go; commit() makes the ones actually written readable.
  std::uint8_t* prepare(std::size_t n) {
    if (capacity_ - end_ < n) {
      make_room(n);
    }
    return data_ + end_;
  }
  /// The room after the readable bytes, without growing.
  std::size_t writable() const noexcept { return capacity_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Drops `n` bytes from the front of the readable ones.
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) {
      begin_ = end_ = 0;
    }
  }
  void clear() noexcept { begin_ = end_ = 0; }
  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
  }

 private:
  void make_room(std::size_t n) {
    const std::size_t live = end_ - begin_;
    if (capacity_ - live >= n && begin_ > 0) {
      std::memmove(data_, data_ + begin_, live);
    } else {
      std::size_t grown = capacity_ ? capacity_ * 2 : 256;
      while (grown < live + n) {
        grown *= 2;
      }
      std::uint8_t* bigger = detail::allocate_bytes(grown);
      if (live > 0) {
        std::memcpy(bigger, data_ + begin_, live);
      }
      detail::free_bytes(std::exchange(data_, bigger), capacity_);
      capacity_ = grown;
    }
    begin_ = 0;
    end_ = live;
  }

  std::uint8_t* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace wiregen
