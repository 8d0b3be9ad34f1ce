#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

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

// The unsigned type exactly `Bytes` wide, for the native widths.
template <std::size_t Bytes>
using uint_of_width = std::conditional_t<
    Bytes == 1, std::uint8_t,
    std::conditional_t<Bytes == 2, std::uint16_t,
                       std::conditional_t<Bytes == 4, std::uint32_t, std::uint64_t>>>;

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

/// Reads a `Bytes`-wide unsigned integer (1 to 8 bytes: a 3-byte length is
/// as valid as a 4-byte one) stored in `Order` at `in`.
template <std::size_t Bytes, byte_order Order>
std::uint64_t load_uint(const std::uint8_t* in) noexcept {
  static_assert(Bytes >= 1 && Bytes <= 8);
  if constexpr (Bytes == 1 || Bytes == 2 || Bytes == 4 || Bytes == 8) {
    using type = detail::uint_of_width<Bytes>;
    return load<type, Order>(in);
  } else {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < Bytes; ++i) {
      const std::size_t byte = Order == byte_order::big ? i : Bytes - 1 - i;
      value = (value << 8) | in[byte];
    }
    return value;
  }
}

/// Writes the low `Bytes` bytes of `value` in `Order` at `out`.
template <std::size_t Bytes, byte_order Order>
void store_uint(std::uint8_t* out, std::uint64_t value) noexcept {
  static_assert(Bytes >= 1 && Bytes <= 8);
  if constexpr (Bytes == 1 || Bytes == 2 || Bytes == 4 || Bytes == 8) {
    using type = detail::uint_of_width<Bytes>;
    store<type, Order>(out, static_cast<type>(value));
  } else {
    for (std::size_t i = 0; i < Bytes; ++i) {
      const std::size_t byte = Order == byte_order::big ? Bytes - 1 - i : i;
      out[byte] = static_cast<std::uint8_t>(value >> (8 * i));
    }
  }
}

}  // namespace wiregen
