#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include <asio/error.hpp>

#include "wiregen/error.hpp"
#include "wiregen/frame_loop.hpp"

namespace wiregen {

/// Decodes one protocol's byte stream without a connection or a socket:
/// push() the bytes as they come, then next() takes one whole frame at a
/// time and hands it, parsed, to the handler's on_message (with an empty
/// session: replies have nowhere to go). For simple synchronous clients,
/// scripts, tests and other transports. `Dispatcher` is a generated
/// <pkg>::server_dispatcher (frames a server receives) or client_dispatcher.
///
///   wiregen::frame_reader<bench::client_dispatcher> reader(my_client_handler);
///   reader.push(bytes);
///   bool delivered = true;
///   while (delivered && !reader.next(delivered)) {}   // each frame to on_message
///   reader.read_one(fd, 5s);                           // or: one frame from a socket
///
/// Holds at most one frame of the spec's max_frame_size plus what was
/// pushed beyond it; a header announcing more is error::frame_too_large.
template <class Dispatcher>
class frame_reader {
 public:
  using protocol = typename Dispatcher::protocol_type;
  using session = typename Dispatcher::session_type;
  using handler = typename Dispatcher::handler_type;

  /// `handler` must outlive the reader.
  explicit frame_reader(handler& h) : dispatcher_(h) {}

  /// Appends received bytes.
  void push(std::span<const std::uint8_t> bytes) {
    compact();
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }

  /// Bytes pushed and not yet taken by a frame.
  std::size_t buffered() const noexcept { return buffer_.size() - begin_; }

  /// Takes the next frame if it is whole: error_code {} and `delivered`
  /// true once the handler had it; {} and false when more bytes are needed.
  /// A bad frame is dropped and its error returned (payload_parse_failed,
  /// unknown_message_id, unexpected_message, checksum_mismatch,
  /// handler_failed...); decoding goes on after it. Where the frame's end
  /// cannot be known (a malformed header; an oversized length that cannot
  /// be believed) the stream is lost: that error comes back from every
  /// later call.
  std::error_code next(bool& delivered) {
    delivered = false;
    if (lost_) {
      return lost_;
    }
    skip_buffered();
    if (skip_ > 0) {
      return {};
    }
    const std::span<const std::uint8_t> rest(buffer_.data() + begin_, buffered());
    typename protocol::header header;
    std::size_t header_size = 0;
    const auto header_error = protocol::scan_header(rest, header, header_size);
    if (header_error && header_error != error::frame_too_large) {
      lost_ = header_error;
      return lost_;
    }
    if (!header_error && header_size == 0) {
      return {};
    }
    const std::uint64_t frame_size =
        detail::frame_extent(header_size, header.payload_size, protocol::trailer_size);
    if (header_error) {
      if (protocol::trailer_size != 0 || frame_size > frame_loop::largest_skipped_frame) {
        lost_ = header_error;  // a checksum would tell only once it is all here
      } else {
        skip_ = frame_size;
        skip_buffered();
      }
      return header_error;
    }
    if (rest.size() < frame_size) {
      return {};
    }
    const auto frame = rest.first(static_cast<std::size_t>(frame_size));
    begin_ += frame.size();
    session empty;
    if (const auto ec = dispatcher_.dispatch(empty, header, frame, header_size)) {
      return ec;
    }
    delivered = true;
    return {};
  }

  /// Reads from `descriptor`, a connected stream socket, until one frame
  /// was delivered (or a bad one dropped: its error), waiting at most
  /// `timeout` in all: std::errc::timed_out then, asio::error::eof when the
  /// peer closed first. Bytes past that frame stay for the next call.
  /// Blocks the caller; the socket may be blocking or not.
  std::error_code read_one(int descriptor, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool delivered = false;
      if (const auto ec = next(delivered); ec || delivered) {
        return ec;
      }
      // Rounded up: poll() must not wake before the deadline.
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::make_error_code(std::errc::timed_out);
      }
      pollfd ready{descriptor, POLLIN, 0};
      const int polled =
          ::poll(&ready, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
      if (polled < 0 && errno != EINTR) {
        return {errno, std::system_category()};
      }
      if (polled <= 0) {
        continue;
      }
      std::uint8_t chunk[16384];
      const auto got = ::recv(descriptor, chunk, sizeof chunk, MSG_DONTWAIT);
      if (got == 0) {
        return asio::error::eof;
      }
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          continue;
        }
        return {errno, std::system_category()};
      }
      push({chunk, static_cast<std::size_t>(got)});
    }
  }

 private:
  void skip_buffered() {
    const auto dropped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, buffered()));
    begin_ += dropped;
    skip_ -= dropped;
  }

  // What frames took stays in front until it is worth moving the rest down.
  void compact() {
    if (begin_ > 0 && begin_ >= buffer_.size() / 2) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(begin_));
      begin_ = 0;
    }
  }

  Dispatcher dispatcher_;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;
  std::uint64_t skip_ = 0;  // bytes of an oversized frame still to drop
  std::error_code lost_;
};

}  // namespace wiregen
