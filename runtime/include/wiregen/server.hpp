#pragma once

#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>
#include <system_error>
#include <vector>

#include "wiregen/address.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/detail/connection_manager.hpp"
#include "wiregen/detail/token_bucket.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/io_pool.hpp"
#include "wiregen/options.hpp"
#include "wiregen/server_metrics.hpp"
#include "wiregen/server_state.hpp"
#include "wiregen/stop_mode.hpp"
#include "wiregen/stream_socket.hpp"

namespace wiregen {

namespace detail {
class admin_listener;
class listener;
}  // namespace detail

/// Listens on one address and serves every accepted connection with one
/// dispatcher on a pool of I/O threads. Generated code wraps it as <pkg>::server,
/// which supplies the dispatcher built from the user's handler.
class server {
 public:
  /// The server's lifecycle; see state() and on_server_state.
  using run_state = server_state;

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
  /// Returns the resolve or bind error, or error::stopped after stop(). A
  /// server is not restartable, but it may listen on several addresses:
  /// call any of the listen functions again (not concurrently) to add one.
  /// The error, if any, is also reported to accept_events::on_listen_error.
  std::error_code listen(std::string_view host, std::uint16_t port);

  /// Listens on `address`: TCP, or a Unix-domain socket whose file is made
  /// as server_options::unix_socket says (a socket file left by a process
  /// that is gone is replaced; one a live server answers on is
  /// address_in_use; the file is removed on stop). `cancel` aborts a
  /// listen still resolving or binding (asio::error::operation_aborted,
  /// nothing bound); requested later, it stops the server gracefully.
  std::error_code listen(const socket_address& address, std::stop_token cancel = {});

  /// Serves `descriptor`, a stream socket (TCP or Unix) already bound and
  /// listening, e.g. inherited from a parent; the server owns and closes it.
  std::error_code listen_on(int descriptor);

  /// Serves the listening sockets systemd (or any launcher following its
  /// socket activation protocol) passed: LISTEN_FDS descriptors from 3 on,
  /// if LISTEN_PID is this process; error::no_inherited_sockets when there
  /// are none. The variables are unset, so that child processes do not
  /// take them for their own. Not thread-safe against other getenv users.
  std::error_code listen_systemd();

  /// Every address the server listens on, ports and names resolved
  /// ("127.0.0.1:41234", "unix:/run/echo.sock"). Thread-safe.
  std::vector<socket_address> local_addresses() const;

  /// Reads the TLS certificate chain and key again (and the rest of
  /// `options`, if given): connections accepted from now on use them, open
  /// ones keep theirs. On an error the old settings stay. Thread-safe.
  std::error_code reload_tls();
  std::error_code reload_tls(const tls_server_options& options);

  /// Where the admin port listens (server_options::admin, port 0
  /// resolved), once a listen() opened it; nullopt otherwise.
  std::optional<socket_address> admin_address() const;

  /// The first bound TCP port, once a listen() on TCP succeeded.
  std::uint16_t port() const noexcept { return port_.load(); }
  /// Connections open right now (accepted and not yet closed). Thread-safe.
  std::size_t connection_count() const;
  /// idle until listen(), running while accepting, draining while a stop
  /// waits for connections to close, stopped after. Thread-safe.
  run_state state() const noexcept { return state_.load(); }
  bool is_running() const noexcept { return state() == run_state::running; }
  /// Whether the server wants new connections: running, and not in a
  /// stop's shutdown_delay. What the admin port's /readyz answers.
  bool ready() const noexcept { return is_running() && !shutting_down_.load(); }
  /// The server's figures since it was made, closed connections included
  /// (write_prometheus() writes them for a scrape). Thread-safe; it visits
  /// the open connections, so it costs what a scrape may, not a hot path.
  server_metrics metrics() const;

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
  ///
  /// With server_options::shutdown_delay, a graceful_wait stop from outside
  /// the server's threads first waits that long, accepting and serving as
  /// before while ready() is false; any other stop() meanwhile (immediate,
  /// graceful, a second graceful_wait) ends the wait.
  std::size_t stop(stop_mode mode = stop_mode::graceful_wait,
                   std::chrono::milliseconds deadline = std::chrono::seconds(10));

 private:
  using listener_list = std::vector<std::unique_ptr<detail::listener>>;
  // Validates the options into what accepting uses; once, by the first listen.
  std::error_code configure();
  // Runs `open` on the accept loop, which makes listeners; if it succeeds
  // they start accepting. Reports a failure to on_listen_error.
  std::error_code add_listeners(const std::function<std::error_code(listener_list&)>& open,
                                const std::stop_token& cancel);
  std::error_code resolve(const socket_address& address, const std::stop_token& cancel,
                          std::vector<asio::ip::tcp::endpoint>& out);
  std::error_code report_listen_error(const socket_address& address, std::error_code ec);
  void accept_next(detail::listener& from);
  void on_accepted(detail::listener& from, std::error_code ec, stream_socket socket,
                   std::shared_ptr<asio::io_context> context);
  void refuse(stream_socket& socket, const asio::ip::tcp::endpoint& remote, std::error_code reason);
  std::error_code admit(const connection& conn);
  bool take_accept_token();
  void close_listeners();
  std::size_t drain(std::chrono::milliseconds deadline);
  // A graceful_wait stop's shutdown_delay; any other stop ends one in progress.
  void wait_shutdown_delay(stop_mode mode, bool on_own_thread);
  // Tells the handler of every state up to `reached` not told yet, in
  // order; `was_running` is false for a server stopped before it listened.
  void report_state(server_state reached, std::size_t forced = 0, bool was_running = true);
  // The last connection of a stop closed: stopped, told from the accept
  // loop unless a waiting stop() tells it with its own figures.
  void on_drained();

  std::shared_ptr<stream_dispatcher> streams_;
  std::shared_ptr<accept_events> accepts_;
  server_options options_;
  std::shared_ptr<detail::log_emitter> log_;  // null without options_.logger
  io_pool pool_;
  // What the connections of each loop share, in the pool's order; made
  // after connections_, whose address they hold.
  // Accepting has a loop of its own, so that a handler hogging an I/O
  // thread never delays accepting, refusing or releasing the port.
  io_pool accept_loop_;
  // The admin port, on the accept loop; destroyed before the loop.
  std::unique_ptr<detail::admin_listener> admin_;
  // Accept loop only; destroyed before the loop they belong to.
  listener_list listeners_;
  std::mutex listen_mutex_;  // one listen at a time
  bool configured_ = false;  // under listen_mutex_
  // What cancels the listens that were given a token; reset first on destruction.
  std::vector<std::unique_ptr<std::stop_callback<std::function<void()>>>> cancellations_;
  mutable std::mutex names_mutex_;
  std::vector<socket_address> local_addresses_;  // under names_mutex_
  std::atomic<std::uint16_t> port_{0};
  std::atomic<run_state> state_{run_state::idle};
  std::mutex stop_phase_mutex_;
  // A stop() is waiting to drain and reports stopped itself.
  std::atomic<bool> stop_waits_{false};
  std::atomic<std::uint64_t> accepted_{0};
  // A stop() is in its shutdown_delay, or past it.
  std::atomic<bool> shutting_down_{false};
  std::mutex delay_mutex_;
  std::condition_variable delay_over_;
  bool delay_cut_short_ = false;  // under delay_mutex_
  // Recursive: a handler may stop() the server from on_server_state.
  std::recursive_mutex report_mutex_;
  server_state reported_ = server_state::idle;  // under report_mutex_

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
