#pragma once

#include <chrono>
#include <stop_token>
#include <string_view>
#include <system_error>
#include <utility>

#include "wiregen/client.hpp"
#include "wiregen/detail/frame_sender.hpp"
#include "wiregen/line_framing.hpp"

namespace wiregen {

/// A session of a text-line protocol: sends lines, the delimiter added.
/// Generated <role>_session classes of a LINE_DELIMITED spec are this. The
/// same three ways to send as wiregen::typed_session, all safe from any
/// thread; a line is copied into the queue before a send returns.
template <line_role Role>
class line_session : public detail::frame_sender {
 public:
  using role = Role;
  using frame_sender::frame_sender;

  /// Queues `line` without blocking; send_queue_full when there is no room.
  std::error_code send(std::string_view line) const {
    return try_send_frame(line_writer<Role>(line));
  }
  std::error_code try_send(std::string_view line) const { return send(line); }

  /// Waits up to `timeout` for room (cancellable by `cancel`).
  std::error_code send_for(std::string_view line, std::chrono::milliseconds timeout,
                           std::stop_token cancel = {}) const {
    return send_frame_for(line_writer<Role>(line), timeout, std::move(cancel));
  }

  /// Completes through an Asio token once queued; a zero `timeout` waits
  /// for room without deadline.
  template <class Token>
  auto async_send(std::string_view line, std::chrono::milliseconds timeout, Token&& token) const {
    return async_send_frame(line_writer<Role>(line), timeout, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(std::string_view line, Token&& token) const {
    return async_send(line, std::chrono::milliseconds(0), std::forward<Token>(token));
  }
};

/// A client of a text-line protocol. Generated <pkg>::client classes of a
/// LINE_DELIMITED spec are this.
template <class Session>
class line_client : public client {
 public:
  using role = typename Session::role;
  using client::client;

  /// The session of the current connection; empty before the first one.
  Session session() const { return Session(connection()); }

  /// Queues `line` without blocking; see client::write_frame for what
  /// happens while disconnected.
  std::error_code send(std::string_view line) { return send_frame(line_writer<role>(line)); }
};

}  // namespace wiregen
