#include "wiregen/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace wiregen {
namespace {

// The reflected Castagnoli polynomial.
constexpr std::uint32_t polynomial = 0x82F63B78u;

// Slicing-by-8: eight tables let the loop fold 8 bytes per step.
constexpr auto make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ ((crc & 1u) ? polynomial : 0u);
    }
    tables[0][i] = crc;
  }
  for (std::size_t t = 1; t < 8; ++t) {
    for (std::size_t i = 0; i < 256; ++i) {
      tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][tables[t - 1][i] & 0xFF];
    }
  }
  return tables;
}

constexpr auto tables = make_tables();

std::uint32_t extend_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data, 8);
    if constexpr (std::endian::native == std::endian::big) {
      word = __builtin_bswap64(word);
    }
    word ^= crc;
    crc = tables[7][word & 0xFF] ^ tables[6][(word >> 8) & 0xFF] ^ tables[5][(word >> 16) & 0xFF] ^
          tables[4][(word >> 24) & 0xFF] ^ tables[3][(word >> 32) & 0xFF] ^
          tables[2][(word >> 40) & 0xFF] ^ tables[1][(word >> 48) & 0xFF] ^ tables[0][word >> 56];
    data += 8;
    size -= 8;
  }
  while (size-- > 0) {
    crc = (crc >> 8) ^ tables[0][(crc ^ *data++) & 0xFF];
  }
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc,
                                                             const std::uint8_t* data,
                                                             std::size_t size) {
  std::uint64_t crc64 = crc;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data, 8);
    crc64 = _mm_crc32_u64(crc64, word);
    data += 8;
    size -= 8;
  }
  crc = static_cast<std::uint32_t>(crc64);
  while (size-- > 0) {
    crc = _mm_crc32_u8(crc, *data++);
  }
  return crc;
}

const bool has_sse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> bytes) noexcept {
  crc = ~crc;
#if defined(__x86_64__)
  if (has_sse42) {
    return ~extend_sse42(crc, bytes.data(), bytes.size());
  }
#endif
  return ~extend_portable(crc, bytes.data(), bytes.size());
}

namespace detail {
std::uint32_t crc32c_extend_portable(std::uint32_t crc,
                                     std::span<const std::uint8_t> bytes) noexcept {
  return ~extend_portable(~crc, bytes.data(), bytes.size());
}
}  // namespace detail

std::uint32_t crc32c(std::span<const std::uint8_t> bytes) noexcept {
  return crc32c_extend(0, bytes);
}

}  // namespace wiregen
