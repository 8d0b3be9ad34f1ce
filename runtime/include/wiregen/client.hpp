#pragma once

#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "wiregen/address.hpp"
#include "wiregen/byte_buffer.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/io_pool.hpp"
#include "wiregen/options.hpp"
#include "wiregen/server_metrics.hpp"
#include "wiregen/stop_mode.hpp"
#include "wiregen/stream_socket.hpp"

namespace wiregen {

/// Dials one server and runs the connection on its own I/O thread; with
/// auto_reconnect it dials again whenever the connection is lost, until
/// stop(). Generated code wraps it as <pkg>::client, which supplies the
/// dispatcher built from the user's handler and typed sends.
class client {
 public:
  /// `streams` serves the connection; `dials` hears of failed dials.
  client(std::shared_ptr<stream_dispatcher> streams, std::shared_ptr<dial_events> dials,
         client_options options = {});
  /// One object for both, as a generated dispatcher is.
  template <class Dispatcher>
  requires(std::derived_from<Dispatcher, stream_dispatcher>&& std::derived_from<
           Dispatcher, dial_events>) explicit client(std::shared_ptr<Dispatcher> dispatcher,
                                                     client_options options = {})
      : client(dispatcher, dispatcher, std::move(options)) {}
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  /// Stops the connection immediately, if any, and joins the I/O thread.
  ~client();

  /// Resolves `host` and connects, each attempt bounded by connect_timeout,
  /// up to retry.attempts attempts with backoff between them. Returns once
  /// the handler's on_connected has run, or with the last attempt's error
  /// (connect_timeout, a resolver or connect error) or error::stopped.
  /// Blocks the caller; must not be called from a handler.
  std::error_code connect(std::string_view host, std::uint16_t port);

  /// Connects to `address` (TCP, or a Unix-domain socket: over one, TLS
  /// verifies tls_client_options::server_name, as there is no host name) as
  /// above. `cancel` ends the attempts at once: connect() returns
  /// asio::error::operation_aborted, and no connection is made.
  std::error_code connect(const socket_address& address, std::stop_token cancel = {});

  /// The current connection, or null before the first one. Thread-safe.
  std::shared_ptr<wiregen::connection> connection() const;
  /// Whether there is a connection and it is open. Thread-safe.
  bool is_connected() const;

  /// Queues one frame (see connection::write_frame) on the current
  /// connection. Without an open connection, client_options::
  /// while_disconnected decides: fail (error::not_connected, or
  /// connection_closed while a connection is closing) or keep it in a
  /// backlog of at most max_backlog_bytes (send_queue_full beyond) that the
  /// next connection sends first, in order. Thread-safe.
  template <class Fill>
  std::error_code write_frame(std::size_t size, Fill&& fill);

  /// write_frame for an encoder that checks its frame first (a typed
  /// message's frame_writer, a line_writer): its refusal, or the write's
  /// outcome.
  template <class Writer>
  std::error_code send_frame(const Writer& frame) {
    if (const auto ec = frame.check()) {
      return ec;
    }
    return write_frame(frame.size(), frame);
  }

  /// Bytes waiting in the disconnected backlog. Thread-safe.
  std::size_t backlog_bytes() const;

  /// The client's figures since it was made, over all its connections:
  /// frames and bytes per message type, calls per rpc by outcome with a
  /// latency histogram (write_prometheus() writes them). Empty with
  /// client_options::message_metrics off. Thread-safe.
  client_metrics metrics() const;

  /// Stops redialing and stops the connection as `mode` says; the backlog
  /// is dropped. Safe before connect(), twice, and from handlers (where
  /// graceful_wait cannot wait). The client cannot connect again after.
  void stop(stop_mode mode = stop_mode::graceful_wait,
            std::chrono::milliseconds deadline = std::chrono::milliseconds(0));

 protected:
  /// Shows a frame send_frame accepted (queued, or kept in the backlog: then
  /// with connection id 0) to the client's meter.
  void count_sent(std::uint32_t message_id, std::size_t size, const frame_meta& meta) const;

 private:
  using dial_done = std::function<void(std::error_code, stream_socket)>;
  struct dial_chain;

  void dial(unsigned attempt, unsigned attempts, std::shared_ptr<dial_chain> chain, dial_done done);
  void dial_once(dial_chain& chain, dial_done done);
  std::chrono::milliseconds backoff(unsigned attempt);
  /// A new dial chain (connect() or a reconnect), listed for stop(); loop thread only.
  std::shared_ptr<dial_chain> start_chain();
  /// Ends a chain's wait and attempt at once; loop thread only.
  static void cancel_chain(dial_chain& chain, std::error_code reason);
  /// How long a connection must stay open for its loss to reset the backoff.
  static constexpr std::chrono::seconds stable_after{1};
  bool attach(stream_socket socket, std::function<void(std::error_code)> started);
  /// A connection was lost: redial, if the options say so.
  void on_lost(wiregen::connection& lost, std::error_code reason);

  /// Hears of the client's connections closing. A member of its own (of a
  /// final class) rather than a base of the client: a connection's thread may
  /// call it while a class derived from the client is being destroyed.
  class close_observer final : public connection_observer {
   public:
    explicit close_observer(client& owner) noexcept : owner_(owner) {}
    void connection_closed(wiregen::connection& conn, std::error_code reason) override {
      owner_.on_lost(conn, reason);
    }

   private:
    client& owner_;
  };

  std::shared_ptr<stream_dispatcher> streams_;
  std::shared_ptr<dial_events> dials_;
  close_observer observer_{*this};
  client_options options_;
  std::shared_ptr<detail::log_emitter> log_;  // null without options_.logger
  // Counts per message type and rpc; null with neither message_metrics nor
  // an observer. Made before any connection, read by metrics().
  std::shared_ptr<detail::message_meter> meter_;
  io_pool pool_;
  // Each dial chain (connect() or a reconnect), listed so that stop() can
  // cut its backoff and its attempt short.
  std::vector<std::weak_ptr<dial_chain>> chains_;  // loop thread only
  unsigned redial_streak_ = 0;           // losses in a row that did not last; loop thread only
  std::uint64_t dialed_by_connect_ = 0;  // the connection connect() made; loop thread only
  std::minstd_rand random_;              // loop thread only
  socket_address target_;                // set before the first dial
  std::shared_ptr<asio::ssl::context> tls_context_;  // built by connect(); loop thread only
  std::shared_ptr<const connection_home> home_;      // made by the first attach(); loop thread only
  // Set under mutex_, so attach() and stop() agree on it; read anywhere.
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  // guards the members below
  std::shared_ptr<wiregen::connection> connection_;
  byte_buffer backlog_;
  std::size_t backlog_frames_ = 0;
};

template <class Fill>
std::error_code client::write_frame(std::size_t size, Fill&& fill) {
  std::lock_guard lock(mutex_);
  std::error_code ec =
      connection_ ? connection_->write_frame(size, fill) : std::error_code(error::not_connected);
  const bool lost = ec == error::not_connected || ec == error::connection_closed;
  if (!lost || options_.while_disconnected == disconnected_sends::fail) {
    return ec;
  }
  if (stopping_.load()) {
    return error::connection_closed;
  }
  if (backlog_.size() + size > options_.max_backlog_bytes) {
    return error::send_queue_full;
  }
  fill(backlog_.prepare(size));
  backlog_.commit(size);
  ++backlog_frames_;
  return {};
}

}  // namespace wiregen
