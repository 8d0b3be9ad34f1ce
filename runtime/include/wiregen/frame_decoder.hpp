#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <system_error>
#include <utility>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

/// The frame loop every generated dispatcher shares: decodes the complete
/// frames at the front of `input` and hands each to `dispatch(header, frame,
/// header_size)`, where `frame` is the whole frame: header, payload and a
/// trailer of TrailerSize bytes (a checksum). `scan_header(rest, header,
/// header_size)` reads the header at the front of `rest`: it sets
/// header_size to 0 while the header is incomplete, and fills payload_size
/// and header_size even when it reports frame_too_large. An incomplete
/// header asks for at least MinHeaderSize bytes. Stops at the first bad
/// frame, with the frame consumed as far as it is in `input` so that it can
/// be skipped, and early when the connection stops reading: a handler may
/// stop it, and the frames behind that point are not delivered.
template <class Header, std::size_t MinHeaderSize = 1, std::size_t TrailerSize = 0,
          class ScanHeader, class Dispatch>
decode_result decode_scanned_frames(connection& conn, std::span<const std::uint8_t> input,
                                    ScanHeader&& scan_header, Dispatch&& dispatch) {
  decode_result result;
  while (conn.is_reading()) {
    const auto rest = input.subspan(result.consumed);
    Header header;
    std::size_t header_size = 0;
    const std::error_code header_error = scan_header(rest, header, header_size);
    if (header_error && header_error != error::frame_too_large) {
      result.error = header_error;  // the frame boundaries are lost
      break;
    }
    if (!header_error && header_size == 0) {
      result.wanted = std::max(rest.size() + 1, MinHeaderSize);
      break;
    }
    // Saturating: an oversized length field may be near 2^64.
    const std::uint64_t frame_size =
        header.payload_size > std::numeric_limits<std::uint64_t>::max() - header_size - TrailerSize
            ? std::numeric_limits<std::uint64_t>::max()
            : header_size + header.payload_size + TrailerSize;
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
    if (const auto ec =
            dispatch(header, rest.first(static_cast<std::size_t>(frame_size)), header_size)) {
      result.error = ec;
      break;
    }
    ++result.frames;
  }
  return result;
}

/// A fixed header of HeaderSize bytes, read by `read_header(const uint8_t*,
/// Header&)`, as the scan_header the loops above take.
template <std::size_t HeaderSize, class Header, class ReadHeader>
auto fixed_header_scanner(ReadHeader& read_header) {
  return
      [&read_header](std::span<const std::uint8_t> rest, Header& header, std::size_t& header_size) {
        header_size = rest.size() < HeaderSize ? 0 : HeaderSize;
        return header_size == 0 ? std::error_code() : read_header(rest.data(), header);
      };
}

/// The same loop for a fixed header of HeaderSize bytes.
template <std::size_t HeaderSize, class Header, std::size_t TrailerSize = 0, class ReadHeader,
          class Dispatch>
decode_result decode_frames(connection& conn, std::span<const std::uint8_t> input,
                            ReadHeader&& read_header, Dispatch&& dispatch) {
  return decode_scanned_frames<Header, HeaderSize, TrailerSize>(
      conn, input, fixed_header_scanner<HeaderSize, Header>(read_header),
      std::forward<Dispatch>(dispatch));
}

/// One datagram, one frame: decodes the frame `datagram` must hold exactly
/// and hands it to `dispatch(header, frame, header_size)`. A datagram
/// shorter than its frame is error::truncated_frame, a longer one
/// error::trailing_bytes.
template <class Header, std::size_t TrailerSize = 0, class ScanHeader, class Dispatch>
std::error_code decode_datagram(std::span<const std::uint8_t> datagram, ScanHeader&& scan_header,
                                Dispatch&& dispatch) {
  Header header;
  std::size_t header_size = 0;
  if (const auto ec = scan_header(datagram, header, header_size)) {
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
  return dispatch(header, datagram, header_size);
}

/// decode_datagram for a fixed header of HeaderSize bytes.
template <std::size_t HeaderSize, class Header, std::size_t TrailerSize = 0, class ReadHeader,
          class Dispatch>
std::error_code decode_fixed_datagram(std::span<const std::uint8_t> datagram,
                                      ReadHeader&& read_header, Dispatch&& dispatch) {
  return decode_datagram<Header, TrailerSize>(datagram,
                                              fixed_header_scanner<HeaderSize, Header>(read_header),
                                              std::forward<Dispatch>(dispatch));
}

}  // namespace wiregen
