#pragma once

#include <asio/ip/tcp.hpp>

#include <system_error>

#include "wiregen/connection.hpp"
#include "wiregen/connection_stats.hpp"
#include "wiregen/datagram_peer.hpp"
#include "wiregen/dispatcher.hpp"

namespace wiregen {

/// The lifecycle events every generated handler has, besides its
/// on_message() overloads. Every method runs on the connection's I/O thread,
/// one at a time per connection.
template <class Session>
class basic_handler {
 public:
  virtual ~basic_handler() = default;

  /// The connection is established; runs before its first message.
  virtual void on_connected(Session& /*session*/) {}

  /// The connection closed; runs exactly once, after its last message and,
  /// in the graceful stop modes, after its queue was flushed. `reason` is
  /// empty when this side stopped it, asio::error::eof when the peer closed
  /// it cleanly, else what broke it (a wiregen::error or an I/O error).
  virtual void on_closed(Session& /*session*/, std::error_code /*reason*/,
                         const connection_stats& /*stats*/) {}

  /// A received frame was bad (unknown or unexpected id, unparsable
  /// payload, oversized, bad constant...) or a handler threw
  /// (error::handler_failed). Returning skip drops just that frame where
  /// is_skippable(ec); everything else closes the connection.
  virtual error_action on_error(Session& /*session*/, std::error_code /*ec*/) {
    return error_action::disconnect;
  }

  /// The same event with what is known about the frame: its message id,
  /// request id and declared size once its header was read, and with
  /// handler_failed the exception the handler threw (error.what()).
  /// Override this instead of on_error to see them; by default it asks
  /// on_error(session, error.code).
  virtual error_action on_frame_error(Session& session, const frame_error& error) {
    return on_error(session, error.code);
  }

  /// The send queue filled up (false: a send did not fit) or drained to its
  /// low watermark again (true). A server may stop a slow consumer here.
  virtual void on_writability_changed(Session& /*session*/, bool /*writable*/) {}
};

/// A server's handler adds the events of accepting.
template <class Session>
class basic_server_handler : public basic_handler<Session> {
 public:
  /// A connection from `remote` was accepted; returning false closes it at
  /// once (reported to on_refused as error::connection_rejected).
  virtual bool on_accept(const asio::ip::tcp::endpoint& /*remote*/) { return true; }

  /// A connection was closed before it was served: rejected, over
  /// max_connections, or refused by the socket hook.
  virtual void on_refused(const asio::ip::tcp::endpoint& /*remote*/, std::error_code /*reason*/) {}

  /// Accepting failed (e.g. EMFILE: out of file descriptors); the server
  /// backs off, from 5 ms doubling up to 1 s, and tries again.
  virtual void on_accept_error(std::error_code /*ec*/) {}

  /// Listening on `address` failed (port in use, a live server on the
  /// socket file, a name that does not resolve); listen() returns it too.
  virtual void on_listen_error(const socket_address& /*address*/, std::error_code /*ec*/) {}

  /// The server reached `state`: running (its first listen succeeded),
  /// draining (a stop began; listeners are closed), stopped (every
  /// connection closed). Each state is reported once and in that order (a
  /// server stopped before it listened reports only stopped), one at a time,
  /// on the thread that made the change: listen()'s or stop()'s caller, or
  /// the accept thread when the last connection of a graceful stop closes.
  virtual void on_server_state(server_state /*state*/, const server_counts& /*counts*/) {}
};

/// A client's handler adds the event of a failed dial.
template <class Session>
class basic_client_handler : public basic_handler<Session> {
 public:
  /// A dial attempt failed; the client retries if its options say so.
  virtual void on_connect_failed(std::error_code /*ec*/) {}
};

/// Forwards the events of connections and datagrams to a handler with typed
/// sessions, and those of accepting (a server's handler) or dialing (a
/// client's). What decodes frames comes on top: wiregen::frame_dispatcher
/// and line_dispatcher.
template <class Session, class Handler>
class basic_dispatcher : public stream_dispatcher,
                         public datagram_dispatcher,
                         public accept_events,
                         public dial_events {
 public:
  /// `handler` must outlive the dispatcher.
  explicit basic_dispatcher(Handler& handler) noexcept : handler_(handler) {}

  void on_open(connection& conn) override {
    Session session(conn.shared_from_this());
    handler_.on_connected(session);
  }

  error_action on_error(connection& conn, const frame_error& error) override {
    detail::log_frame_error(conn, error);
    Session session(conn.shared_from_this());
    return handler_.on_frame_error(session, error);
  }

  void on_writability(connection& conn, bool writable) override {
    Session session(conn.shared_from_this());
    handler_.on_writability_changed(session, writable);
  }

  void on_close(connection& conn, std::error_code reason) override {
    Session session(conn.shared_from_this());
    handler_.on_closed(session, reason, conn.stats());
  }

  void on_datagram_error(const std::shared_ptr<datagram_peer>& peer, std::error_code ec) override {
    Session session(peer);
    frame_error report(ec);
    if (ec == error::handler_failed) {
      report.exception = detail::take_handler_exception();
    }
    (void)handler_.on_frame_error(session,
                                  report);  // nothing to disconnect: the datagram is dropped
  }

  void on_receive_error(std::error_code ec) override { on_transport_error(ec); }

  bool on_accept(const asio::ip::tcp::endpoint& remote) override {
    if constexpr (requires { handler_.on_accept(remote); }) {
      return handler_.on_accept(remote);
    } else {
      return true;
    }
  }

  void on_refused(const asio::ip::tcp::endpoint& remote, std::error_code reason) override {
    if constexpr (requires { handler_.on_refused(remote, reason); }) {
      handler_.on_refused(remote, reason);
    }
  }

  void on_accept_error(std::error_code ec) override { on_transport_error(ec); }
  void on_listen_error(const socket_address& address, std::error_code ec) override {
    if constexpr (requires { handler_.on_listen_error(address, ec); }) {
      handler_.on_listen_error(address, ec);
    }
  }
  void on_server_state(server_state state, const server_counts& counts) override {
    if constexpr (requires { handler_.on_server_state(state, counts); }) {
      handler_.on_server_state(state, counts);
    }
  }
  void on_connect_failed(std::error_code ec) override { on_transport_error(ec); }

 protected:
  /// The handler's own event for a failing transport, whichever side it is.
  void on_transport_error(std::error_code ec) {
    if constexpr (requires { handler_.on_accept_error(ec); }) {
      handler_.on_accept_error(ec);
    } else if constexpr (requires { handler_.on_connect_failed(ec); }) {
      handler_.on_connect_failed(ec);
    }
  }

  Handler& handler_;
};

}  // namespace wiregen
