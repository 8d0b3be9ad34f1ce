// Varints and the header reader against reference implementations: a varint
// read with any width limit from any bytes agrees with a plain decoder, and
// writing a value back reads back the same value in size_of(value) bytes;
// fixed-width fields agree with a byte-by-byte load in either order.
#include <fuzzer/FuzzedDataProvider.h>
#include <wiregen_fuzz.hpp>

#include <wiregen/byte_order.hpp>
#include <wiregen/header_reader.hpp>
#include <wiregen/varint.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

struct reference_varint {
  enum class end { complete, incomplete, too_long } how = end::incomplete;
  std::uint64_t value = 0;
  std::size_t size = 0;
};

reference_varint read_reference(std::span<const std::uint8_t> in, std::size_t max_bytes) {
  reference_varint out;
  for (std::size_t i = 0; i < max_bytes; ++i) {
    if (i == in.size()) {
      return out;
    }
    if (i < 10) {  // bits past the 64th are dropped, as protobuf drops them
      out.value |= static_cast<std::uint64_t>(in[i] & 0x7F) << (7 * i);
    }
    if ((in[i] & 0x80) == 0) {
      out.how = reference_varint::end::complete;
      out.size = i + 1;
      return out;
    }
  }
  out.how = reference_varint::end::too_long;
  return out;
}

template <std::size_t Bytes>
void check_fixed(std::span<const std::uint8_t> in) {
  std::uint64_t big = 0;
  std::uint64_t little = 0;
  wiregen::header_reader big_reader(in);
  wiregen::header_reader little_reader(in);
  const bool fits = in.size() >= Bytes;
  WIREGEN_FUZZ_EXPECT((big_reader.fixed<Bytes, wiregen::byte_order::big>(big)) == fits);
  WIREGEN_FUZZ_EXPECT((little_reader.fixed<Bytes, wiregen::byte_order::little>(little)) == fits);
  if (!fits) {
    return;
  }
  std::uint64_t expected_big = 0;
  std::uint64_t expected_little = 0;
  for (std::size_t i = 0; i < Bytes; ++i) {
    expected_big = (expected_big << 8) | in[i];
    expected_little |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  }
  WIREGEN_FUZZ_EXPECT(big == expected_big && little == expected_little);
  WIREGEN_FUZZ_EXPECT(big_reader.position() == Bytes);
  std::array<std::uint8_t, Bytes> written{};
  wiregen::store_uint<Bytes, wiregen::byte_order::big>(written.data(), big);
  WIREGEN_FUZZ_EXPECT(std::equal(written.begin(), written.end(), in.begin()));
  wiregen::store_uint<Bytes, wiregen::byte_order::little>(written.data(), little);
  WIREGEN_FUZZ_EXPECT(std::equal(written.begin(), written.end(), in.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::size_t max_bytes = provider.ConsumeIntegralInRange<std::size_t>(1, 12);
  const std::uint64_t value = provider.ConsumeIntegral<std::uint64_t>();
  const std::vector<std::uint8_t> bytes = provider.ConsumeRemainingBytes<std::uint8_t>();

  wiregen::header_reader reader(bytes);
  std::uint64_t read = 0;
  const bool complete = reader.varint(max_bytes, wiregen::error::malformed_varint, read);
  const reference_varint expected = read_reference(bytes, max_bytes);
  WIREGEN_FUZZ_EXPECT(complete == (expected.how == reference_varint::end::complete));
  if (complete) {
    WIREGEN_FUZZ_EXPECT(read == expected.value && reader.position() == expected.size);
    WIREGEN_FUZZ_EXPECT(!reader.error());
  } else {
    WIREGEN_FUZZ_EXPECT(reader.position() == 0);
    WIREGEN_FUZZ_EXPECT((reader.error() == wiregen::error::malformed_varint) ==
                        (expected.how == reference_varint::end::too_long));
  }

  std::array<std::uint8_t, 10> written{};
  const std::size_t written_size = wiregen::varint::write(written.data(), value);
  WIREGEN_FUZZ_EXPECT(written_size == wiregen::varint::size_of(value) && written_size <= 10);
  const reference_varint back = read_reference({written.data(), written_size}, 10);
  WIREGEN_FUZZ_EXPECT(back.how == reference_varint::end::complete && back.value == value &&
                      back.size == written_size);

  check_fixed<1>(bytes);
  check_fixed<2>(bytes);
  check_fixed<3>(bytes);
  check_fixed<4>(bytes);
  check_fixed<8>(bytes);
  return 0;
}
