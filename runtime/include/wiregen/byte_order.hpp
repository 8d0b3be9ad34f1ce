#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>

namespace wiregen {

/// The byte order of a multi-byte header field on the wire.
enum class byte_order { big, little };

namespace detail {

template <std::unsigned_integral T>
constexpr T byteswap(T value) noexcept {
  if constexpr (sizeof(T) == 1) {
    return value;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(value));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(value));
  } else {
    return static_cast<T>(__builtin_bswap64(value));
  }
}

template <std::unsigned_integral T, byte_order Order>
constexpr T to_or_from_wire(T value) noexcept {
  constexpr bool native = (Order == byte_order::big) == (std::endian::native == std::endian::big);
  return native ? value : byteswap(value);
}

}  // namespace detail

/// Reads an unsigned integer stored in `Order` at `in`; `in` need not be aligned.
template <std::unsigned_integral T, byte_order Order>
T load(const std::uint8_t* in) noexcept {
  T value;
  std::memcpy(&value, in, sizeof(T));
  return detail::to_or_from_wire<T, Order>(value);
}

/// Writes `value` in `Order` at `out`; `out` need not be aligned.
template <std::unsigned_integral T, byte_order Order>
void store(std::uint8_t* out, T value) noexcept {
  value = detail::to_or_from_wire<T, Order>(value);
  std::memcpy(out, &value, sizeof(T));
}

}  // namespace wiregen
