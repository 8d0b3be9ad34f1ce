#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "wiregen/detail/token_bucket.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_error.hpp"

namespace wiregen {

/// What may hold a frame loop back: a stop flag (set: no further frame is
/// delivered, as a handler stopped the connection), a message-rate bucket
/// (empty: the frame waits) and a frame size limit below the framing's own
/// (a larger frame is frame_too_large). Each may be absent.
struct frame_gate {
  const std::atomic<bool>* stopping = nullptr;
  detail::token_bucket* rate = nullptr;
  std::size_t max_frame_size = 0;  // 0: the framing's own limit

  bool is_open() const noexcept {
    return stopping == nullptr || !stopping->load(std::memory_order_relaxed);
  }
  bool admit() const noexcept {
    return rate == nullptr || rate->try_take(std::chrono::steady_clock::now());
  }
};

/// The decode state of one byte stream, and the loop that cuts it into
/// frames: every reader of frames (a connection, a datagram socket, the
/// load tool, a test or fuzzer with plain bytes) runs this. It keeps what
/// a stream needs between reads: the size the next frame needs and what is
/// still to be discarded of a skipped oversized frame, so a peer's length
/// field never makes anyone buffer more than the maximum frame size.
///
/// The framing comes in as `scan(rest, header, header_size)`, which reads
/// the header at the front of `rest`: it sets header_size to 0 while the
/// header is incomplete, and fills payload_size and header_size even when
/// it reports frame_too_large. A frame is its header, payload_size bytes
/// and a trailer of TrailerSize bytes (a checksum).
class frame_loop {
 public:
  /// The largest oversized frame skipping will discard: protobuf parses
  /// nothing of 2 GiB or more.
  static constexpr std::uint64_t largest_skipped_frame = (std::uint64_t{1} << 31) - 1;

  explicit frame_loop(frame_gate gate = {}) noexcept : gate_(gate) {}

  /// Decodes the complete frames at the front of `input` and hands each to
  /// `deliver(header, frame, header_size)` (`frame` whole: header, payload,
  /// trailer), which returns what was wrong with it. A bad frame goes to
  /// `skip(frame_error&)` (its code, and the message id, request id and
  /// declared size the header gave, the exception handler_threw() kept), or
  /// to `skip(std::error_code)`: when it returns true and the frame's boundaries are known
  /// (is_skippable; an oversized frame's only without a checksum trailer
  /// and below 2 GiB), the frame is dropped (its rest as it arrives) and
  /// decoding goes on; otherwise decoding stops with the error. Stops early
  /// when the gate closes or holds a frame back (throttled).
  template <class Header, std::size_t MinHeaderSize, std::size_t TrailerSize, class Scan,
            class Deliver, class Skip>
  decode_result decode(std::span<const std::uint8_t> input, Scan&& scan, Deliver&& deliver,
                       Skip&& skip);

  /// The same for text lines ending in `delimiter`: hands each complete line,
  /// without its delimiter, to `deliver(std::string_view)`. The delimiter is
  /// looked for only as far as the longest line reaches, so a peer that
  /// never sends one costs at most max_line_length bytes before
  /// error::line_too_long; a line of exactly max_line_length bytes passes.
  /// Each byte of a line arriving in pieces is searched once.
  template <class Deliver, class Skip>
  decode_result decode_lines(std::span<const std::uint8_t> input, std::string_view delimiter,
                             std::size_t max_line_length, Deliver&& deliver, Skip&& skip);

  /// One datagram, one frame: decodes the frame `datagram` must hold exactly
  /// and hands it to `deliver`. Shorter than its frame is
  /// error::truncated_frame, longer error::trailing_bytes.
  template <class Header, std::size_t TrailerSize, class Scan, class Deliver>
  static std::error_code decode_one(std::span<const std::uint8_t> datagram, Scan&& scan,
                                    Deliver&& deliver);

  /// The size the next frame needs in all, once its header is known; else
  /// at least one byte more than is buffered. Never above the maximum frame.
  std::size_t wanted() const noexcept { return wanted_; }
  /// Whether the stream stopped inside a frame: `buffered` bytes are left,
  /// or a skipped frame has not ended yet.
  bool mid_frame(std::size_t buffered) const noexcept { return buffered > 0 || skip_ > 0; }
  frame_gate& gate() noexcept { return gate_; }

 private:
  /// Drops what is still to come of a skipped frame; returns the bytes dropped.
  std::size_t discard(std::span<const std::uint8_t> input) noexcept {
    const auto dropped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, input.size()));
    skip_ -= dropped;
    return dropped;
  }

  /// Reports a bad frame to `skip` (which hears of every one, and may
  /// leave out what it knows its layout does not say) and says whether
  /// decoding goes on past it.
  template <class Skip>
  bool skipped(frame_error report, Skip& skip, decode_result& result, bool boundary_known = true) {
    const std::error_code ec = report.code;
    bool wants_skip = false;
    if constexpr (std::is_invocable_v<Skip&, frame_error&>) {
      wants_skip = skip(report);
    } else {
      wants_skip = skip(ec);  // a skip that only wants the code
    }
    if (!wants_skip || !boundary_known || !is_skippable(ec) || !gate_.is_open()) {
      result.error = ec;
      return false;
    }
    ++result.skipped;
    return true;
  }

  frame_gate gate_;
  std::size_t wanted_ = 0;
  std::uint64_t skip_ = 0;  // bytes of a skipped oversized frame still to come
};

namespace detail {

// Saturating: an oversized length field may be near 2^64.
inline std::uint64_t frame_extent(std::size_t header_size, std::uint64_t payload_size,
                                  std::size_t trailer_size) noexcept {
  constexpr auto most = std::numeric_limits<std::uint64_t>::max();
  return payload_size > most - header_size - trailer_size
             ? most
             : header_size + payload_size + trailer_size;
}

// A bad frame whose header was read: what the header says about it.
template <class Header>
frame_error described(std::error_code ec, const Header& header, std::uint64_t frame_size) {
  frame_error report(ec);
  report.declared_size = frame_size;
  if constexpr (requires { header.message_id; }) {
    report.message_id = header.message_id;
  }
  if constexpr (requires { header.meta.request_id; }) {
    report.request_id = header.meta.request_id;
  }
  if (ec == error::handler_failed) {
    report.exception = take_handler_exception();
  }
  return report;
}

}  // namespace detail

template <class Header, std::size_t MinHeaderSize, std::size_t TrailerSize, class Scan,
          class Deliver, class Skip>
decode_result frame_loop::decode(std::span<const std::uint8_t> input, Scan&& scan,
                                 Deliver&& deliver, Skip&& skip) {
  decode_result result;
  result.consumed = discard(input);
  wanted_ = 0;
  while (skip_ == 0 && gate_.is_open()) {
    const auto rest = input.subspan(result.consumed);
    Header header;
    std::size_t header_size = 0;
    const std::error_code header_error = scan(rest, header, header_size);
    if (header_error && header_error != error::frame_too_large) {
      (void)skipped(header_error, skip, result);  // the frame boundaries are lost
      break;
    }
    if (!header_error && header_size == 0) {
      wanted_ = std::max(rest.size() + 1, MinHeaderSize);
      break;
    }
    const std::uint64_t frame_size =
        detail::frame_extent(header_size, header.payload_size, TrailerSize);
    const bool over_limit = gate_.max_frame_size != 0 && frame_size > gate_.max_frame_size;
    if (header_error || over_limit) {
      // Oversized: dropped as far as it is here, the rest as it arrives, but
      // only where its length can be believed. A checksum covers the length
      // only once the whole frame is here, so with a trailer a corrupt length
      // would resume decoding at an arbitrary offset; and no message is
      // 2 GiB or more, so a length that large is garbage, not a frame.
      const bool believable = TrailerSize == 0 && frame_size <= largest_skipped_frame;
      const std::size_t here =
          static_cast<std::size_t>(std::min<std::uint64_t>(frame_size, rest.size()));
      result.consumed += here;
      // A header is read no further than a length it refuses: only the
      // declared size is known.
      frame_error oversized(error::frame_too_large);
      oversized.declared_size = frame_size;
      if (!skipped(std::move(oversized), skip, result, believable)) {
        break;
      }
      skip_ = frame_size - here;
      continue;
    }
    if (rest.size() < frame_size) {
      wanted_ = static_cast<std::size_t>(frame_size);
      break;
    }
    if (!gate_.admit()) {
      result.throttled = true;  // the frame stays for later
      break;
    }
    result.consumed += static_cast<std::size_t>(frame_size);
    if (const auto ec =
            deliver(header, rest.first(static_cast<std::size_t>(frame_size)), header_size)) {
      if (!skipped(detail::described(ec, header, frame_size), skip, result)) {
        break;
      }
      continue;
    }
    ++result.frames;
  }
  result.wanted = wanted_;
  return result;
}

template <class Deliver, class Skip>
decode_result frame_loop::decode_lines(std::span<const std::uint8_t> input,
                                       std::string_view delimiter, std::size_t max_line_length,
                                       Deliver&& deliver, Skip&& skip) {
  if (gate_.max_frame_size != 0) {
    max_line_length = std::min(max_line_length, gate_.max_frame_size);
  }
  const std::size_t window = max_line_length + delimiter.size();
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  decode_result result;
  // The last call searched the pending line up to wanted_ - 1 bytes and
  // found no delimiter: the search goes on from there (less what a
  // delimiter straddling that point may have begun with), so a line that
  // trickles in costs each byte once, not the whole line on every read.
  const std::size_t searched = wanted_ > delimiter.size() ? wanted_ - delimiter.size() : 0;
  wanted_ = 0;
  while (gate_.is_open()) {
    const std::string_view rest = text.substr(result.consumed);
    const std::size_t from = result.consumed == 0 ? std::min(searched, rest.size()) : 0;
    const std::size_t end = rest.substr(0, window).find(delimiter, from);
    if (end == std::string_view::npos) {
      if (rest.size() >= window) {
        (void)skipped(frame_error(error::line_too_long), skip, result);
      } else {
        wanted_ = rest.size() + 1;
      }
      break;
    }
    if (!gate_.admit()) {
      result.throttled = true;  // the line stays for later
      break;
    }
    result.consumed += end + delimiter.size();
    if (const auto ec = deliver(rest.substr(0, end))) {
      frame_error report(ec);
      report.declared_size = end;
      if (ec == error::handler_failed) {
        report.exception = detail::take_handler_exception();
      }
      if (!skipped(std::move(report), skip, result)) {
        break;
      }
      continue;
    }
    ++result.frames;
  }
  result.wanted = wanted_;
  return result;
}

template <class Header, std::size_t TrailerSize, class Scan, class Deliver>
std::error_code frame_loop::decode_one(std::span<const std::uint8_t> datagram, Scan&& scan,
                                       Deliver&& deliver) {
  Header header;
  std::size_t header_size = 0;
  if (const auto ec = scan(datagram, header, header_size)) {
    return ec;
  }
  if (header_size == 0) {
    return error::truncated_frame;  // not even a whole header
  }
  const std::uint64_t rest = datagram.size() - header_size;
  if (header.payload_size > rest || rest - header.payload_size < TrailerSize) {
    return error::truncated_frame;
  }
  if (rest - header.payload_size > TrailerSize) {
    return error::trailing_bytes;
  }
  return deliver(header, datagram, header_size);
}

/// A fixed header of HeaderSize bytes, read by `read_header(const uint8_t*,
/// Header&)`, as the scan the loops take.
template <std::size_t HeaderSize, class Header, class ReadHeader>
auto fixed_header_scanner(ReadHeader& read_header) {
  return
      [&read_header](std::span<const std::uint8_t> rest, Header& header, std::size_t& header_size) {
        header_size = rest.size() < HeaderSize ? 0 : HeaderSize;
        return header_size == 0 ? std::error_code() : read_header(rest.data(), header);
      };
}

}  // namespace wiregen
