#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

namespace wiregen {

/// A bad frame, or a handler that threw, with what is known about it: what
/// on_frame_error receives to decide between skipping and disconnecting.
struct frame_error {
  /// Every error code is a frame_error with nothing more known.
  frame_error(std::error_code ec) noexcept : code(ec) {}  // NOLINT: implicit on purpose

  std::error_code code;
  /// The message id the frame's header names, once the header was read;
  /// absent for layouts whose header has no MESSAGE_ID field, and for
  /// frame_too_large (a header is read no further than a length it refuses).
  std::optional<std::uint64_t> message_id;
  /// The frame's REQUEST_ID, as message_id.
  std::optional<std::uint64_t> request_id;
  /// The frame's size as its header declared it (header, payload and
  /// trailer; for a line, its length), once the header was read. For
  /// frame_too_large, what the peer asked the server to hold.
  std::optional<std::uint64_t> declared_size;
  /// With error::handler_failed: what the handler threw.
  std::exception_ptr exception;

  /// The exception's what(), "unknown exception" for one that is not a
  /// std::exception, and empty without an exception.
  std::string what() const;
};

/// For the catch blocks of generated dispatchers: keeps the exception being
/// handled for the frame_error reported next on this thread, and returns
/// error::handler_failed. Call it only inside a catch block.
std::error_code handler_threw() noexcept;

class connection;

namespace detail {
/// The exception handler_threw() kept on this thread, if any; clears it.
std::exception_ptr take_handler_exception() noexcept;
/// Logs `error` on `conn`'s logger, if it has one (as frame_error, or as
/// handler_failed with what the handler threw and the message type).
void log_frame_error(const connection& conn, const frame_error& error) noexcept;
}  // namespace detail

}  // namespace wiregen
