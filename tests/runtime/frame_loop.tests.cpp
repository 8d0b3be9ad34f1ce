// The frame loop on plain bytes, with no connection and no socket: a toy
// layout (a 2-byte big-endian payload length, then the payload) scanned by
// the test itself, so every rule of the loop is checked on its own.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wiregen/frame_loop.hpp"

using wiregen::frame_gate;
using wiregen::frame_loop;

namespace {

constexpr std::size_t header_size = 2;
constexpr std::size_t max_payload = 100;

struct toy_header {
  std::uint64_t payload_size = 0;
};

std::error_code scan(std::span<const std::uint8_t> rest, toy_header& header, std::size_t& size) {
  if (rest.size() < header_size) {
    size = 0;
    return {};
  }
  size = header_size;
  header.payload_size = (std::uint64_t{rest[0]} << 8) | rest[1];
  if (header.payload_size == 0xFFFF) {
    return wiregen::error::bad_constant;  // this toy's "lost boundaries"
  }
  return header.payload_size > max_payload ? std::error_code(wiregen::error::frame_too_large)
                                           : std::error_code();
}

std::string frame(const std::string& payload) {
  std::string out;
  out += static_cast<char>(payload.size() >> 8);
  out += static_cast<char>(payload.size() & 0xFF);
  return out + payload;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Feeds chunks as a connection would: keeps what was not consumed.
struct stream {
  explicit stream(frame_gate gate = {}, bool skip_bad = false) : loop(gate), skip(skip_bad) {}

  wiregen::decode_result feed(const std::string& chunk) {
    buffered += chunk;
    const auto result = loop.decode<toy_header, header_size, 0>(
        bytes_of(buffered), scan,
        [&](const toy_header& header, std::span<const std::uint8_t> whole, std::size_t size) {
          seen.emplace_back(reinterpret_cast<const char*>(whole.data()) + size,
                            header.payload_size);
          return on_frame ? on_frame(seen.back()) : std::error_code();
        },
        [&](std::error_code ec) {
          reported.push_back(ec);
          return skip;
        });
    buffered.erase(0, result.consumed);
    return result;
  }

  frame_loop loop;
  bool skip;
  std::function<std::error_code(const std::string&)> on_frame;
  std::string buffered;
  std::vector<std::string> seen;
  std::vector<std::error_code> reported;
};

}  // namespace

TEST_CASE("frame loop: split at every byte, every frame arrives once", "[runtime][frame_loop]") {
  const std::string all = frame("one") + frame("") + frame(std::string(100, 'x')) + frame("four");
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    stream s;
    REQUIRE_FALSE(s.feed(all.substr(0, cut)).error);
    const auto last = s.feed(all.substr(cut));
    REQUIRE_FALSE(last.error);
    REQUIRE(s.seen == std::vector<std::string>{"one", "", std::string(100, 'x'), "four"});
    REQUIRE(s.buffered.empty());
    REQUIRE(last.wanted == header_size);  // nothing pending: the next header
  }
}

TEST_CASE("frame loop: wanted says what the next frame needs, never past the limit",
          "[runtime][frame_loop]") {
  stream s;
  CHECK(s.feed(std::string(1, '\0')).wanted == header_size);
  CHECK(s.feed(std::string("\x05", 1)).wanted == header_size + 5);
  CHECK(s.feed("ab").wanted == header_size + 5);
  CHECK(s.feed("cde").frames == 1);
}

TEST_CASE("frame loop: an oversized frame is refused from its header alone",
          "[runtime][frame_loop]") {
  stream s;  // the policy is to disconnect
  const auto result = s.feed(std::string("\x10\x00", 2) + "partial payload");
  CHECK(result.error == wiregen::error::frame_too_large);
  CHECK(result.wanted == 0);  // nothing of its 4 KiB is ever asked for
  CHECK(s.reported == std::vector<std::error_code>{wiregen::error::frame_too_large});
  CHECK(s.seen.empty());
}

TEST_CASE("frame loop: a skipped oversized frame is discarded as it arrives",
          "[runtime][frame_loop]") {
  stream s({}, true);
  const std::string big(300, 'z');  // over the 100-byte limit
  const std::string wire = frame("a") + frame(big) + frame("b");
  // In chunks of 7 bytes: the skipped frame's rest comes over many reads.
  std::size_t skipped = 0;
  for (std::size_t at = 0; at < wire.size(); at += 7) {
    const auto result = s.feed(wire.substr(at, 7));
    REQUIRE_FALSE(result.error);
    skipped += result.skipped;
    REQUIRE(s.buffered.size() < header_size + max_payload);  // never buffered
  }
  CHECK(skipped == 1);
  CHECK(s.seen == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(s.loop.mid_frame(s.buffered.size()));
}

TEST_CASE("frame loop: a skip is not taken on a length it cannot believe",
          "[runtime][frame_loop]") {
  // An 8-byte big-endian length this time, payloads up to 100 bytes.
  auto scan64 = [](std::span<const std::uint8_t> rest, toy_header& header, std::size_t& size) {
    if (rest.size() < 8) {
      size = 0;
      return std::error_code();
    }
    size = 8;
    header.payload_size = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      header.payload_size = (header.payload_size << 8) | rest[i];
    }
    return header.payload_size > max_payload ? std::error_code(wiregen::error::frame_too_large)
                                             : std::error_code();
  };
  auto length = [](std::uint64_t value) {
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((value >> shift) & 0xFF);
    }
    return out;
  };
  auto decode = [&](auto trailer, const std::string& wire) {
    frame_loop loop;
    const auto result = loop.decode<toy_header, 8, decltype(trailer)::value>(
        bytes_of(wire), scan64,
        [](const toy_header&, std::span<const std::uint8_t>, std::size_t) {
          return std::error_code();
        },
        [](std::error_code) { return true; });  // the policy asks to skip
    return std::make_pair(result, loop.mid_frame(0));
  };
  using no_trailer = std::integral_constant<std::size_t, 0>;
  using crc_trailer = std::integral_constant<std::size_t, 4>;
  const std::string rest = "and more bytes";

  // Below 2 GiB and with no checksum, an oversized frame is skipped...
  auto [skipped, skipping] = decode(no_trailer{}, length(300) + rest);
  CHECK_FALSE(skipped.error);
  CHECK(skipped.skipped == 1);
  CHECK(skipping);  // its rest is still to come
  // ...but a length near 2^64 would discard input for ever,
  auto [huge, huge_skipping] = decode(no_trailer{}, length(~std::uint64_t{0} - 5) + rest);
  CHECK(huge.error == wiregen::error::frame_too_large);
  CHECK_FALSE(huge_skipping);
  // and under a checksum trailer the length is unverified until the frame
  // is whole: a flipped bit would resume decoding at an arbitrary offset.
  auto [checked, checked_skipping] = decode(crc_trailer{}, length(300) + rest);
  CHECK(checked.error == wiregen::error::frame_too_large);
  CHECK_FALSE(checked_skipping);
}

TEST_CASE("frame loop: only errors with known boundaries can be skipped", "[runtime][frame_loop]") {
  stream s({}, true);
  s.on_frame = [](const std::string& p) {
    return p == "bad" ? std::error_code(wiregen::error::payload_parse_failed) : std::error_code();
  };
  const auto skipped = s.feed(frame("bad") + frame("good"));
  CHECK_FALSE(skipped.error);
  CHECK(skipped.skipped == 1);
  CHECK(skipped.frames == 1);
  const auto fatal = s.feed(std::string("\xFF\xFF", 2) + frame("never"));
  CHECK(fatal.error == wiregen::error::bad_constant);  // reported, and not skipped
  CHECK(s.reported.back() == wiregen::error::bad_constant);
  CHECK(s.seen.back() == "good");
}

TEST_CASE("frame loop: a closed gate delivers no further frame", "[runtime][frame_loop]") {
  std::atomic<bool> stopping{false};
  stream s(frame_gate{&stopping, nullptr});
  s.on_frame = [&](const std::string& p) {
    if (p == "stop") {
      stopping = true;  // as a handler stopping its connection
    }
    return std::error_code();
  };
  const auto result = s.feed(frame("a") + frame("stop") + frame("c"));
  CHECK(result.frames == 2);
  CHECK(s.seen == std::vector<std::string>{"a", "stop"});
  CHECK(s.buffered == frame("c"));  // left where it is
}

TEST_CASE("frame loop: the rate bucket holds frames back", "[runtime][frame_loop]") {
  wiregen::detail::token_bucket bucket(1e-6, 2, std::chrono::steady_clock::now());
  stream s(frame_gate{nullptr, &bucket});
  const auto result = s.feed(frame("a") + frame("b") + frame("c"));
  CHECK(result.throttled);
  CHECK(result.frames == 2);
  CHECK(s.buffered == frame("c"));
}

TEST_CASE("frame loop: lines, and the longest line", "[runtime][frame_loop][lines]") {
  frame_loop loop;
  std::vector<std::string> lines;
  auto deliver = [&](std::string_view line) {
    lines.emplace_back(line);
    return std::error_code();
  };
  auto disconnect = [](std::error_code) { return false; };
  const std::string text = "ab\r\n" + std::string(8, 'x') + "\r\n" + "tail";
  const auto ok = loop.decode_lines(bytes_of(text), "\r\n", 8, deliver, disconnect);
  CHECK_FALSE(ok.error);
  CHECK(lines == std::vector<std::string>{"ab", std::string(8, 'x')});
  CHECK(ok.consumed == text.size() - 4);
  CHECK(ok.wanted == 5);
  const std::string too_long(10, 'y');  // 8 allowed, and the delimiter has not come
  CHECK(loop.decode_lines(bytes_of(too_long), "\r\n", 8, deliver, disconnect).error ==
        wiregen::error::line_too_long);
}

TEST_CASE("frame loop: lines arriving in pieces split as they do whole",
          "[runtime][frame_loop][lines]") {
  // The search resumes where the last read left it; a delimiter may begin
  // before that point, and may overlap itself ("aba").
  for (const std::string delimiter : {"\r\n", "\n\n", "aba"}) {
    const std::string text = "xab" + delimiter + "ab" + delimiter + delimiter + "a" +
                             std::string(20, 'b') + delimiter + "xababa" + delimiter + "tail";
    auto split = [&](std::size_t piece) {
      frame_loop loop;
      std::vector<std::string> lines;
      std::string buffered;
      for (std::size_t at = 0; at < text.size(); at += piece) {
        buffered += text.substr(at, piece);
        const auto result = loop.decode_lines(
            bytes_of(buffered), delimiter, 32,
            [&](std::string_view line) {
              lines.emplace_back(line);
              return std::error_code();
            },
            [](std::error_code) { return false; });
        REQUIRE_FALSE(result.error);
        buffered.erase(0, result.consumed);
      }
      CHECK(buffered == "tail");
      return lines;
    };
    const auto whole = split(text.size());
    if (delimiter != "aba") {
      CHECK(whole ==
            std::vector<std::string>{"xab", "ab", "", "a" + std::string(20, 'b'), "xababa"});
    }
    for (std::size_t piece = 1; piece <= 7; ++piece) {
      CAPTURE(delimiter, piece);
      CHECK(split(piece) == whole);
    }
  }
}

TEST_CASE("frame loop: one datagram holds exactly one frame", "[runtime][frame_loop][datagram]") {
  int delivered = 0;
  auto deliver = [&](const toy_header&, std::span<const std::uint8_t>, std::size_t) {
    ++delivered;
    return std::error_code();
  };
  auto one = [&](const std::string& d) {
    return frame_loop::decode_one<toy_header, 0>(bytes_of(d), scan, deliver);
  };
  CHECK_FALSE(one(frame("hello")));
  CHECK(one(frame("hello").substr(0, 4)) == wiregen::error::truncated_frame);
  CHECK(one(std::string(1, '\0')) == wiregen::error::truncated_frame);
  CHECK(one(frame("hello") + "!") == wiregen::error::trailing_bytes);
  CHECK(one(std::string("\x10\x00", 2)) == wiregen::error::frame_too_large);
  CHECK(delivered == 1);
}
