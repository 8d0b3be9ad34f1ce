#pragma once

#include <cstddef>
#include <cstdint>

namespace wiregen {

/// protobuf's base-128 varints, as its delimited format prefixes messages
/// with them and VARINT header fields are written: 7 bits per byte, least
/// significant first, the high bit set on every byte but the last. Reading
/// is wiregen::header_reader's.
namespace varint {

constexpr std::size_t size_of(std::uint64_t value) noexcept {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

/// Writes `value` at `out`; returns its size, size_of(value).
inline std::size_t write(std::uint8_t* out, std::uint64_t value) noexcept {
  std::uint8_t* const start = out;
  while (value >= 0x80) {
    *out++ = static_cast<std::uint8_t>(value | 0x80);
    value >>= 7;
  }
  *out = static_cast<std::uint8_t>(value);
  return static_cast<std::size_t>(out - start) + 1;
}

}  // namespace varint

}  // namespace wiregen
