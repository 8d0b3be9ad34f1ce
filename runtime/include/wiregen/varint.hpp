#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "wiregen/error.hpp"

namespace wiregen {

/// protobuf's base-128 varints, as its delimited format prefixes messages
/// with them: 7 bits per byte, least significant first, the high bit set on
/// every byte but the last.
namespace varint {

/// A length prefix is a 32-bit varint: at most 5 bytes.
inline constexpr std::size_t max_prefix_size = 5;

constexpr std::size_t size_of(std::uint64_t value) noexcept {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

/// Writes `value` at `out` (size_of(value) bytes).
inline void write(std::uint8_t* out, std::uint64_t value) noexcept {
  while (value >= 0x80) {
    *out++ = static_cast<std::uint8_t>(value | 0x80);
    value >>= 7;
  }
  *out = static_cast<std::uint8_t>(value);
}

/// Reads the length prefix at the front of `in`. Sets `prefix_size` to 0
/// while the prefix is incomplete (more bytes needed); an error when it runs
/// past 5 bytes or announces a frame larger than `max_frame_size` (then
/// `prefix_size` and `payload_size` are set, so the frame can be skipped).
inline std::error_code read_prefix(std::span<const std::uint8_t> in, std::uint64_t max_frame_size,
                                   std::size_t& prefix_size, std::uint64_t& payload_size) noexcept {
  prefix_size = 0;
  payload_size = 0;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i == max_prefix_size) {
      return error::malformed_length_prefix;
    }
    value |= static_cast<std::uint64_t>(in[i] & 0x7F) << (7 * i);
    if ((in[i] & 0x80) == 0) {
      prefix_size = i + 1;
      payload_size = value;
      return prefix_size + value > max_frame_size ? std::error_code(error::frame_too_large)
                                                  : std::error_code();
    }
  }
  return in.size() >= max_prefix_size ? std::error_code(error::malformed_length_prefix)
                                      : std::error_code();
}

}  // namespace varint

}  // namespace wiregen
