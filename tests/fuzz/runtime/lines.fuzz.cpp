// The line decoder against a plain reference: for delimiters that overlap
// themselves ("\n\n", "aba") or not, any line limit and any split of the
// stream into reads, the lines delivered and the line_too_long error are
// exactly those of splitting the whole stream with std::string_view::find.
#include <fuzzer/FuzzedDataProvider.h>
#include <wiregen_fuzz.hpp>

#include <wiregen/frame_loop.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::array<std::string_view, 6> delimiters{"\n",  "\r\n", "\n\n",
                                                     "aba", "aab",  std::string_view("\0", 1)};

struct lines {
  std::vector<std::string> delivered;
  bool too_long = false;
  bool operator==(const lines&) const = default;
};

lines reference(std::string_view stream, std::string_view delimiter, std::size_t max_length) {
  lines out;
  const std::size_t window = max_length + delimiter.size();
  while (true) {
    const std::size_t end = stream.substr(0, window).find(delimiter);
    if (end == std::string_view::npos) {
      out.too_long = stream.size() >= window;
      return out;
    }
    out.delivered.emplace_back(stream.substr(0, end));
    stream.remove_prefix(end + delimiter.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string_view delimiter =
      delimiters[provider.ConsumeIntegralInRange<std::size_t>(0, delimiters.size() - 1)];
  const std::size_t max_length = provider.ConsumeIntegralInRange<std::size_t>(1, 80);
  wiregen::fuzz::splitter reads(provider.ConsumeIntegral<std::uint32_t>());
  const std::string stream = provider.ConsumeRemainingBytesAsString();

  lines decoded;
  wiregen::frame_loop loop;
  std::string buffered;
  std::size_t offset = 0;
  while (offset < stream.size() && !decoded.too_long) {
    const std::size_t read = std::min(reads.next() % 97 + 1, stream.size() - offset);
    buffered.append(stream, offset, read);
    offset += read;
    const auto result = loop.decode_lines(
        {reinterpret_cast<const std::uint8_t*>(buffered.data()), buffered.size()}, delimiter,
        max_length,
        [&](std::string_view line) -> std::error_code {
          WIREGEN_FUZZ_EXPECT(line.size() <= max_length);
          WIREGEN_FUZZ_EXPECT(line.find(delimiter) == std::string_view::npos);
          decoded.delivered.emplace_back(line);
          return {};
        },
        [](std::error_code) { return true; });
    WIREGEN_FUZZ_EXPECT(result.consumed <= buffered.size());
    buffered.erase(0, result.consumed);
    if (result.error) {
      WIREGEN_FUZZ_EXPECT(result.error == wiregen::error::line_too_long);
      decoded.too_long = true;
    } else {
      WIREGEN_FUZZ_EXPECT(buffered.size() < max_length + delimiter.size());
      WIREGEN_FUZZ_EXPECT(result.wanted == buffered.size() + 1);
    }
  }
  WIREGEN_FUZZ_EXPECT(decoded == reference(stream, delimiter, max_length));
  return 0;
}
