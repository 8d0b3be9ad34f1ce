#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <system_error>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

/// The frame loop every generated dispatcher shares: decodes the complete
/// frames at the front of `input` with `read_header(const uint8_t*, Header&)`
/// (which fills Header::payload_size even when it reports frame_too_large)
/// and hands each to `dispatch(header, payload)`. Stops at the first bad
/// frame, with the frame consumed as far as it is in `input` so that it can
/// be skipped, and early when the connection stops reading: a handler may
/// stop it, and the frames behind that point are not delivered.
template <std::size_t HeaderSize, class Header, class ReadHeader, class Dispatch>
decode_result decode_frames(connection& conn, std::span<const std::uint8_t> input,
                            ReadHeader&& read_header, Dispatch&& dispatch) {
  decode_result result;
  while (conn.is_reading()) {
    const auto rest = input.subspan(result.consumed);
    if (rest.size() < HeaderSize) {
      result.wanted = HeaderSize;
      break;
    }
    Header header;
    const std::error_code header_error = read_header(rest.data(), header);
    if (header_error && header_error != error::frame_too_large) {
      result.error = header_error;  // the frame boundaries are lost
      break;
    }
    // Saturating: an oversized length field may be near 2^64.
    const std::uint64_t frame_size =
        header.payload_size > std::numeric_limits<std::uint64_t>::max() - HeaderSize
            ? std::numeric_limits<std::uint64_t>::max()
            : HeaderSize + header.payload_size;
    if (header_error) {
      const std::size_t here =
          static_cast<std::size_t>(std::min<std::uint64_t>(frame_size, rest.size()));
      result.consumed += here;
      result.skip = frame_size - here;
      result.wanted = 0;
      result.error = header_error;
      break;
    }
    if (rest.size() < frame_size) {
      result.wanted = static_cast<std::size_t>(frame_size);
      break;
    }
    if (!conn.take_message_token()) {
      result.throttled = true;  // the frame stays for later
      break;
    }
    result.consumed += static_cast<std::size_t>(frame_size);
    result.wanted = 0;
    if (const auto ec = dispatch(header, rest.data() + HeaderSize)) {
      result.error = ec;
      break;
    }
    ++result.frames;
  }
  return result;
}

/// The same loop for headers whose size varies (a varint length prefix):
/// `scan_header(rest, header, header_size)` sets header_size to 0 while the
/// header is incomplete, and fills payload_size and header_size even when it
/// reports frame_too_large.
template <class Header, class ScanHeader, class Dispatch>
decode_result decode_scanned_frames(connection& conn, std::span<const std::uint8_t> input,
                                    ScanHeader&& scan_header, Dispatch&& dispatch) {
  decode_result result;
  while (conn.is_reading()) {
    const auto rest = input.subspan(result.consumed);
    Header header;
    std::size_t header_size = 0;
    const std::error_code header_error = scan_header(rest, header, header_size);
    if (header_error && header_error != error::frame_too_large) {
      result.error = header_error;
      break;
    }
    if (!header_error && header_size == 0) {
      result.wanted = rest.size() + 1;  // the header itself is incomplete
      break;
    }
    const std::uint64_t frame_size =
        header.payload_size > std::numeric_limits<std::uint64_t>::max() - header_size
            ? std::numeric_limits<std::uint64_t>::max()
            : header_size + header.payload_size;
    if (header_error) {
      const std::size_t here =
          static_cast<std::size_t>(std::min<std::uint64_t>(frame_size, rest.size()));
      result.consumed += here;
      result.skip = frame_size - here;
      result.wanted = 0;
      result.error = header_error;
      break;
    }
    if (rest.size() < frame_size) {
      result.wanted = static_cast<std::size_t>(frame_size);
      break;
    }
    if (!conn.take_message_token()) {
      result.throttled = true;
      break;
    }
    result.consumed += static_cast<std::size_t>(frame_size);
    result.wanted = 0;
    if (const auto ec = dispatch(header, rest.data() + header_size)) {
      result.error = ec;
      break;
    }
    ++result.frames;
  }
  return result;
}

}  // namespace wiregen
