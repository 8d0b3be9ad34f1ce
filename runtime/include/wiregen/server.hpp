#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "wiregen/connection.hpp"
#include "wiregen/detail/connection_manager.hpp"
#include "wiregen/detail/token_bucket.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/io_pool.hpp"
#include "wiregen/options.hpp"
#include "wiregen/stop_mode.hpp"
#include "wiregen/tcp_socket.hpp"

namespace wiregen {

/// Listens on one address and serves every accepted connection with one
/// dispatcher on a pool of I/O threads. Generated code wraps it as <pkg>::server,
/// which supplies the dispatcher built from the user's handler.
class server {
 public:
  /// The server's lifecycle; see state().
  enum class run_state { idle, running, draining, stopped };

  /// `streams` serves every connection; `accepts` hears of accepting.
  server(std::shared_ptr<stream_dispatcher> streams, std::shared_ptr<accept_events> accepts,
         server_options options = {});
  /// One object for both, as a generated dispatcher is.
  template <class Dispatcher>
  requires(std::derived_from<Dispatcher, stream_dispatcher>&& std::derived_from<
           Dispatcher, accept_events>) explicit server(std::shared_ptr<Dispatcher> dispatcher,
                                                       server_options options = {})
      : server(dispatcher, dispatcher, std::move(options)) {}
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Stops immediately if still running and joins the I/O threads.
  ~server();

  /// Binds `host:port` (port 0 picks a free one, see port()), starts
  /// accepting and returns; connections are served on the I/O threads.
  /// Returns the resolve or bind error, or error::stopped after stop(). Call
  /// once: a server is not restartable.
  std::error_code listen(std::string_view host, std::uint16_t port);

  /// Reads the TLS certificate chain and key again (and the rest of
  /// `options`, if given): connections accepted from now on use them, open
  /// ones keep theirs. On an error the old settings stay. Thread-safe.
  std::error_code reload_tls();
  std::error_code reload_tls(const tls_server_options& options);

  /// The bound port, once listen() succeeded.
  std::uint16_t port() const noexcept { return port_.load(); }
  /// Connections open right now (accepted and not yet closed). Thread-safe.
  std::size_t connection_count() const;
  /// idle until listen(), running while accepting, draining while a stop
  /// waits for connections to close, stopped after. Thread-safe.
  run_state state() const noexcept { return state_.load(); }
  bool is_running() const noexcept { return state() == run_state::running; }

  /// Stops accepting and closes the listening socket (the port is free when
  /// this returns), then stops every connection as `mode` says, each with
  /// `deadline` to flush:
  ///  - immediate: closes them all now, dropping what they had queued;
  ///  - graceful: returns at once; each connection flushes and closes, and
  ///    is forced at the deadline;
  ///  - graceful_wait: waits up to `deadline` for all of them to close, then
  ///    forces the rest.
  /// Returns how many connections had to be forced. Idempotent; safe from
  /// any thread. From a handler (an I/O thread) it cannot wait and acts as
  /// graceful; the destructor joins the threads later.
  std::size_t stop(stop_mode mode = stop_mode::graceful_wait,
                   std::chrono::milliseconds deadline = std::chrono::seconds(10));

 private:
  void accept_next();
  void on_accepted(std::error_code ec, tcp_socket socket,
                   std::shared_ptr<asio::io_context> context);
  void refuse(tcp_socket& socket, const asio::ip::tcp::endpoint& remote, std::error_code reason);
  std::error_code admit(const connection& conn);
  bool take_accept_token();
  void close_acceptor();
  std::size_t drain(std::chrono::milliseconds deadline);

  std::shared_ptr<stream_dispatcher> streams_;
  std::shared_ptr<accept_events> accepts_;
  server_options options_;
  io_pool pool_;
  // What the connections of each loop share, in the pool's order; made
  // after connections_, whose address they hold.
  // Accepting has a loop of its own, so that a handler hogging an I/O
  // thread never delays accepting, refusing or releasing the port.
  io_pool accept_loop_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::chrono::milliseconds accept_backoff_{0};
  std::atomic<std::uint16_t> port_{0};
  std::atomic<run_state> state_{run_state::idle};
  std::mutex stop_phase_mutex_;

  detail::connection_manager connections_;
  std::vector<std::shared_ptr<const connection_home>> homes_;

  mutable std::mutex tls_mutex_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // for connections accepted from now on
  std::shared_ptr<const std::vector<proxy_protocol::network>> trusted_proxies_;
  std::optional<detail::token_bucket> accept_bucket_;  // the accept rate (accept thread)
  std::size_t max_connections_ = SIZE_MAX;  // options_.max_connections, or derived; set by listen()
  // TLS handshakes in progress: each connection's startup holds a slot
  // (take_handshake_slot) until it opens or closes.
  std::shared_ptr<std::atomic<std::size_t>> tls_handshakes_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<void> take_handshake_slot();
};

}  // namespace wiregen
