#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "wiregen/byte_order.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

/// Reads a header whose fields are not all at fixed offsets (one or more is
/// a varint) from the front of the bytes received so far. Each read returns
/// false when it cannot complete: the bytes end first (error() is empty:
/// wait for more), or a varint runs past its width (error() says which).
/// Generated scan_header() functions chain the reads with &&.
class header_reader {
 public:
  explicit header_reader(std::span<const std::uint8_t> in) noexcept : in_(in) {}

  /// A fixed-width field of `Bytes` bytes in `Order`.
  template <std::size_t Bytes, byte_order Order>
  bool fixed(std::uint64_t& value) noexcept {
    if (in_.size() - at_ < Bytes) {
      return false;
    }
    value = load_uint<Bytes, Order>(in_.data() + at_);
    at_ += Bytes;
    return true;
  }

  /// A base-128 varint of at most `max_bytes` bytes; `too_long` is the error
  /// when it runs longer.
  bool varint(std::size_t max_bytes, error too_long, std::uint64_t& value) noexcept {
    value = 0;
    for (std::size_t i = 0; i < max_bytes; ++i) {
      if (at_ + i == in_.size()) {
        return false;
      }
      const std::uint8_t byte = in_[at_ + i];
      if (i < 10) {  // bits past the 64th are dropped, as protobuf drops them
        value |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
      }
      if ((byte & 0x80) == 0) {
        at_ += i + 1;
        return true;
      }
    }
    error_ = too_long;
    return false;
  }

  /// Bytes read so far: the header's size once every field is read.
  std::size_t position() const noexcept { return at_; }
  /// Empty while the header is only incomplete.
  std::error_code error() const noexcept { return error_; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
  std::error_code error_;
};

}  // namespace wiregen
