// CRC32C against a bit-at-a-time reference: the hardware path, the table
// path, and a checksum continued over any split of the input agree with it.
#include <fuzzer/FuzzedDataProvider.h>
#include <wiregen_fuzz.hpp>

#include <wiregen/crc32c.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

std::uint32_t reference_crc32c(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::uint8_t byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const std::uint32_t expected = reference_crc32c(bytes);
  WIREGEN_FUZZ_EXPECT(wiregen::crc32c(bytes) == expected);
  WIREGEN_FUZZ_EXPECT(wiregen::detail::crc32c_extend_portable(0, bytes) == expected);
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  const std::uint32_t head = wiregen::crc32c(bytes.first(split));
  WIREGEN_FUZZ_EXPECT(wiregen::crc32c_extend(head, bytes.subspan(split)) == expected);
  WIREGEN_FUZZ_EXPECT(wiregen::detail::crc32c_extend_portable(head, bytes.subspan(split)) ==
                      expected);
  return 0;
}
