#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "wiregen/error.hpp"
#include "wiregen/frame_meta.hpp"

namespace wiregen {

/// How a call from a `service` rpc ended: with its reply, or without one
/// and why. A server's handler returns one (a reply, or failure() with the
/// status to send back); a client's call completes with one.
template <class Reply>
class call_result {
 public:
  call_result() = default;
  /// A reply: what a handler returns when the call succeeds.
  call_result(Reply reply) : reply_(std::move(reply)) {}  // NOLINT: implicit on purpose
  /// A call that ended here without a reply: deadline_exceeded,
  /// connection_closed, not_connected, send_queue_full...
  call_result(std::error_code error) : error_(error) {}  // NOLINT: implicit on purpose

  /// The error status a server sends back instead of a reply (in the
  /// spec's rpc.error message); the client sees error::remote_error with
  /// this code and message.
  static call_result failure(std::int64_t code, std::string message) {
    call_result result(error::remote_error);
    result.status_code_ = code;
    result.status_message_ = std::move(message);
    return result;
  }

  /// A server handler's answer for "I will reply myself": nothing is sent
  /// now; the handler (or any thread, later) sends the reply or the status
  /// with session.send(message, reply_meta(meta)), meta being the call's.
  static call_result later() {
    call_result result;
    result.later_ = true;
    return result;
  }

  bool ok() const noexcept { return !error_; }
  /// Whether this is later(): the handler replies itself.
  bool is_later() const noexcept { return later_; }
  explicit operator bool() const noexcept { return ok(); }
  /// Empty when ok(); error::remote_error when the server sent a status.
  std::error_code error() const noexcept { return error_; }
  /// The reply; default-constructed unless ok().
  const Reply& reply() const& noexcept { return reply_; }
  Reply& reply() & noexcept { return reply_; }
  Reply&& reply() && noexcept { return std::move(reply_); }
  /// With error::remote_error: the server's status.
  std::int64_t status_code() const noexcept { return status_code_; }
  const std::string& status_message() const noexcept { return status_message_; }

 private:
  Reply reply_;
  std::error_code error_;
  std::int64_t status_code_ = 0;
  std::string status_message_;
  bool later_ = false;
};

/// The header of a reply to the call whose header was `request`: its
/// request id, nothing else (flags describe the frame they are on, as
/// gRPC's compressed flag does).
inline frame_meta reply_meta(const frame_meta& request) noexcept {
  frame_meta meta;
  meta.request_id = request.request_id;
  return meta;
}

/// Sends a server handler's result back to the caller under the request id
/// of `request`, the call's header: the reply, or a `Status` message (the
/// spec's rpc.error, with `code` and `message` set) for a failure. A result
/// holding a local error is sent as a status with that error's value and
/// text; later() sends nothing. Without a Status type (void) a failure is
/// error::call_failed_without_status. A reply the queue cannot take is an
/// error too (send_queue_full, message_too_large): each closes the
/// connection, since the caller would otherwise wait for an answer that
/// never comes or, matched by order, take the next call's.
template <class Status, class Session, class Reply>
std::error_code answer_call(const Session& session, call_result<Reply>&& result,
                            const frame_meta& request) {
  if (result.is_later()) {
    return {};
  }
  const frame_meta meta = reply_meta(request);
  if (result.ok()) {
    return session.send(result.reply(), meta);
  }
  if constexpr (std::is_void_v<Status>) {
    return error::call_failed_without_status;
  } else {
    const bool remote = result.error() == error::remote_error;
    Status status;
    status.set_code(static_cast<decltype(status.code())>(remote ? result.status_code()
                                                                : result.error().value()));
    status.set_message(remote ? result.status_message() : result.error().message());
    return session.send(status, meta);
  }
}

}  // namespace wiregen
