// The PROXY protocol reader: read the way a connection reads it (exactly the
// bytes it asks for), it never asks for a byte past the header, it asks the
// same of every shorter prefix, a complete header stays within the caps
// (107 bytes for v1, 16 + 1024 for v2), and parsing it never fails where the
// reader accepted it, nor returns addresses of mixed families.
#include <wiregen_fuzz.hpp>

#include <wiregen/proxy_protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace proxy = wiregen::proxy_protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  std::size_t have = 0;
  std::size_t header_size = 0;
  bool complete = false;
  while (true) {
    std::error_code ec;
    const std::size_t needed = proxy::bytes_needed(input.first(have), ec);
    if (ec) {
      WIREGEN_FUZZ_EXPECT(ec == wiregen::error::bad_proxy_header);
      break;
    }
    if (needed == 0) {
      complete = true;
      header_size = have;
      break;
    }
    if (have + needed > size) {
      break;  // the peer stopped sending
    }
    have += needed;
  }
  if (!complete) {
    return 0;
  }
  const bool v2 = header_size >= 12 && data[0] == 0x0D;
  WIREGEN_FUZZ_EXPECT(header_size <= (v2 ? proxy::max_v2_size : proxy::max_v1_size));
  for (std::size_t prefix = 0; prefix < header_size; ++prefix) {
    std::error_code ec;
    const std::size_t needed = proxy::bytes_needed(input.first(prefix), ec);
    WIREGEN_FUZZ_EXPECT(!ec);
    WIREGEN_FUZZ_EXPECT(needed > 0 && prefix + needed <= header_size);
  }
  proxy::header header;
  const std::error_code parsed = proxy::parse(input.first(header_size), header);
  if (!parsed && !header.local) {
    WIREGEN_FUZZ_EXPECT(header.source.address().is_v4() == header.destination.address().is_v4());
  }
  return 0;
}
