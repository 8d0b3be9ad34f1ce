#pragma once

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "wiregen/byte_buffer.hpp"
#include "wiregen/connection_stats.hpp"
#include "wiregen/detail/message_meter.hpp"
#include "wiregen/detail/send_queue.hpp"
#include "wiregen/detail/stream.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_loop.hpp"
#include "wiregen/options.hpp"
#include "wiregen/proxy_protocol.hpp"
#include "wiregen/stop_mode.hpp"
#include "wiregen/stream_socket.hpp"
#include "wiregen/tls.hpp"

namespace wiregen {

class connection;

namespace detail {
class connection_manager;
class log_emitter;
struct landing;
class memory_budget;
class liveness;
class peer_deadline;
class startup;
struct transfer_state;
}  // namespace detail

/// What a connection does before it is served: read a PROXY protocol
/// header (when `trusted_proxies` is set), pass `admit` (a server's
/// on_accept and per-address limits), then a TLS handshake (when `tls` is
/// set). Servers and clients fill it in.
struct connection_setup {
  std::optional<detail::tls_setup> tls;
  std::shared_ptr<const std::vector<proxy_protocol::network>> trusted_proxies;
  std::function<std::error_code(connection&)> admit;
  /// Held until the connection opens or closes: a server counts its TLS
  /// handshakes in progress by these.
  std::shared_ptr<void> handshake_slot;
};

/// Hears of connections that closed: told on the connection's thread once,
/// right after on_close (or on_discarded). Servers and clients use it to
/// forget the connection.
class connection_observer {
 public:
  virtual void connection_closed(connection& conn, std::error_code reason) = 0;

 protected:
  ~connection_observer() = default;
};

/// What the connections of one server thread, or of one client, share:
/// the I/O context they run on, their dispatcher, their options and who
/// hears of their close. One copy for many connections keeps each small.
struct connection_home {
  std::shared_ptr<asio::io_context> context;
  std::shared_ptr<stream_dispatcher> dispatcher;
  /// As made by connection::share_options; null means the defaults.
  std::shared_ptr<const connection_options> options;
  /// May be null; must outlive the connections' loop.
  connection_observer* observer = nullptr;
  /// What the connections of a whole server may hold for partial frames
  /// and output being written (server_options::memory_budget); null: no
  /// limit.
  std::shared_ptr<detail::memory_budget> budget;
  /// The send queue's bounds, from `options`; set by share_home.
  detail::send_bounds queue_bounds;
  /// Where the connections' records go; null logs nothing.
  std::shared_ptr<detail::log_emitter> log;
  /// Counts messages and calls per type for metrics, and shows them to the
  /// options' message_observer; one per I/O thread. Null counts nothing.
  std::shared_ptr<detail::message_meter> meter;
};

/// One TCP peer. Reads into a reusable buffer and hands every complete frame
/// to its dispatcher on the connection's own thread; sends append encoded
/// frames to a byte-bounded queue that leaves in as few writes as the socket
/// allows. Users normally hold a generated <role>_session, a handle to a
/// connection, rather than this class.
///
/// Thread rules: the send functions, stop(), the state queries and stats()
/// are safe from any thread; user_data() belongs to the connection's thread.
class connection final : public std::enable_shared_from_this<connection>,
                         private detail::send_queue::events {
 public:
  using clock = std::chrono::steady_clock;

  /// Takes over a connected socket and applies the socket options; nothing
  /// happens until start(). Connections made with the same settings share
  /// one home (see connection_home and share_home). Throws
  /// std::invalid_argument for a home without a context, a dispatcher or
  /// options.
  connection(std::shared_ptr<const connection_home> home, stream_socket socket,
             connection_setup setup = {});
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// `options` with the bounds a connection relies on applied (a minimal
  /// read chunk, the low watermark under the high one, a default burst),
  /// ready to be shared by every connection made with them.
  static std::shared_ptr<const connection_options> share_options(connection_options options);

  /// `home` with its options shared (the defaults when it has none), ready
  /// to be shared by every connection made with it.
  static std::shared_ptr<const connection_home> share_home(connection_home home);

  /// Starts the connection on its thread: the PROXY header, admission and
  /// TLS handshake if set up, then on_open and reading. `started` (if any)
  /// is called on that thread once on_open ran ({}) or the connection was
  /// refused before that (the reason). Call once.
  void start(std::function<void(std::error_code)> started = {});

  /// Appends one frame of `size` bytes to the send queue without waiting;
  /// `fill(out)` writes exactly `size` bytes at `out` while the queue is
  /// locked, which keeps the frames of concurrent senders whole and in order.
  /// Fails with error::connection_closed once a stop began, and with
  /// error::send_queue_full (counted as dropped) when the frame does not fit
  /// or senders are waiting for room; then nothing is queued.
  template <class Fill>
  std::error_code write_frame(std::size_t size, Fill&& fill);

  /// Queues `bytes`, which hold `frames` whole frames already encoded, as
  /// one unit, however large: only into an empty queue (else
  /// send_queue_full). Clients use it to hand their backlog to a new
  /// connection with the right frame count.
  std::error_code write_frames(std::span<const std::uint8_t> bytes, std::size_t frames);

  /// Like write_frame, but waits up to `timeout` for room, in line behind
  /// earlier waiting senders. Returns send_queue_full when the time is up,
  /// send_cancelled when `cancel` is triggered, connection_closed at once
  /// when the connection stops. On the connection's own thread it cannot
  /// wait (that thread drains the queue) and behaves as write_frame.
  template <class Fill>
  std::error_code write_frame_for(std::size_t size, Fill&& fill, std::chrono::milliseconds timeout,
                                  std::stop_token cancel = {});

  /// Queues an encoded frame, waiting for room in line like
  /// write_frame_for, and completes with the outcome through `token`
  /// (a callback `void(std::error_code)`, asio::use_awaitable,
  /// asio::use_future...). A `timeout` of zero waits without deadline. The
  /// token's cancellation slot, if any, cancels the wait (send_cancelled).
  template <class Token>
  auto async_write_frame(std::vector<std::uint8_t> frame, std::chrono::milliseconds timeout,
                         Token&& token);

  /// Stops the connection as `mode` says (see stop_mode); graceful modes
  /// become immediate after `deadline` (zero: graceful_stop_timeout). Safe
  /// from any thread and from handlers; idempotent, and later calls only
  /// ever make a stop more immediate. Waiting senders fail with
  /// connection_closed at once. graceful_wait returns once the connection is
  /// closed, except on the connection's own thread, where waiting would
  /// deadlock and it returns at once.
  void stop(stop_mode mode = stop_mode::graceful,
            std::chrono::milliseconds deadline = std::chrono::milliseconds(0));

  /// Blocks until the connection is closed and on_close has run, or
  /// `timeout` passes; returns whether it is closed. Must not be called on
  /// the connection's thread.
  bool wait_closed(std::chrono::milliseconds timeout);

  /// Stops reading from the socket (true) or starts again (false), as
  /// Netty's autoRead: the peer's bytes wait in the kernel and TCP's flow
  /// control slows it. For splicing streams with backpressure: pause the
  /// source while the destination's queue is full (on_writability_changed).
  /// Safe from any thread; applied on the connection's thread. A read already
  /// under way still completes and is dispatched.
  void pause_reading(bool paused);

  /// The largest frame this connection accepts from now on, below the
  /// framing's own (0: the framing's); see connection_options::max_frame_size.
  /// Safe from any thread; applied on the connection's thread, from a
  /// handler before the next frame is decoded.
  void set_max_frame_size(std::size_t bytes);

  /// True until a stop is requested or the peer goes away. Thread-safe.
  bool is_open() const noexcept { return state_.load() == state::open && !stop_requested_.load(); }
  /// True once the socket is closed; on_close runs right after, as soon as
  /// a write still out has settled (see wait_closed). Thread-safe.
  bool is_closed() const noexcept { return state_.load() == state::closed; }
  /// False once a stop began: dispatchers use it to stop decoding early.
  bool is_reading() const noexcept { return is_open(); }
  /// False from the moment a send did not fit until the queue drains to the
  /// low watermark. Thread-safe.
  bool is_writable() const noexcept { return queue_.is_writable(); }

  /// A number unique among the connections of one process.
  std::uint64_t id() const noexcept { return id_; }
  /// Where generated code counts this connection's messages and calls; null
  /// when nothing counts them.
  detail::message_meter* meter() const noexcept { return home_->meter.get(); }
  const std::shared_ptr<detail::message_meter>& shared_meter() const noexcept {
    return home_->meter;
  }
  /// The peer's address as "ip:port" (after a PROXY header, the client's);
  /// over a Unix-domain socket "unix:" and the socket file's name (while
  /// open; "unix" after); "unknown" when the socket could not tell.
  std::string remote_address() const;
  /// remote_address() tagged with the transport, as the seeds print a
  /// connection: "127.0.0.1:41234(tcp)", "[::1]:5000(tcp+tls)",
  /// "unix:/run/echo.sock(unix)".
  std::string tagged_remote_address() const;
  /// The peer's IP endpoint; unspecified (0.0.0.0:0) for a Unix-domain
  /// peer, unless a PROXY header named one.
  const asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_endpoint_; }
  /// This side's address: "ip:port", or "unix:/path" ("unix:@name" for an
  /// abstract name). Meaningful only while the connection is open, like
  /// native_handle(); "unknown" after.
  std::string local_address() const;
  /// This side's IP endpoint, while open; unspecified for a Unix socket.
  asio::ip::tcp::endpoint local_endpoint() const noexcept;
  /// Whether the socket is a Unix-domain one (whatever a PROXY header said).
  bool is_unix_socket() const noexcept {
    const auto kind = peer_.load(std::memory_order_relaxed);
    return kind == peer_kind::unix_socket || kind == peer_kind::ip_over_unix;
  }
  /// The process at the other end of a Unix-domain socket, as the kernel
  /// saw it when that process connected (SO_PEERCRED); while open only.
  struct peer_credentials {
    int pid = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
  };
  std::optional<peer_credentials> unix_peer() const noexcept;
  /// The socket's descriptor, for getsockopt() and the like; meaningful
  /// only while the connection is open (the number is reused after).
  int native_handle() const noexcept { return native_handle_; }
  /// The counters right now. Thread-safe.
  connection_stats stats() const;
  std::uint64_t bytes_received() const noexcept { return bytes_in_.load(); }
  std::uint64_t bytes_sent() const noexcept { return bytes_out_.load(); }

  /// A slot for the application's per-connection state, e.g. a logged-in
  /// user. Use it on the connection's thread (in handlers) only.
  /// Made on first use: most connections of most servers never have any.
  std::any& user_data();

  /// What the TLS handshake established; null for a plain connection (and
  /// before on_open). Immutable once set: safe from any thread after.
  const tls_info* tls() const noexcept { return stream_.tls(); }

  /// Whether on_open ran: the connection was served, not refused before.
  /// Connection thread only.
  bool was_opened() const noexcept { return opened_; }
  /// When on_open ran. Connection thread only.
  clock::time_point opened_at() const noexcept { return opened_at_; }

  /// The gate of this connection's frame loop: closed once a stop began,
  /// holding frames back under the message rate. For driving a dispatcher
  /// with bytes of one's own (tests, tools); connection thread only.
  frame_gate gate() noexcept;

  /// The I/O context this connection's handlers run on.
  asio::io_context& context() noexcept { return *home_->context; }
  const connection_options& options() const noexcept { return *home_->options; }

 private:
  friend class detail::liveness;
  friend class detail::peer_deadline;
  friend class detail::startup;
  friend class detail::connection_manager;
  friend struct detail::landing;
  friend class detail::memory_budget;
  friend void detail::log_frame_error(const connection& conn, const frame_error& error) noexcept;
  struct rate_state;
  struct drain_state;
  struct occasional_parts;

  enum class state : std::uint8_t { open, draining, closed };

  // What the send queue tells the connection (send_queue::events).
  void write_ready() override;
  void writability_changed() override;

  // Everything below runs on the connection's thread.
  static void started(connection& conn, std::error_code outcome);
  void open();
  detail::transfer_state& transfer();
  std::unique_ptr<detail::startup> take_startup() noexcept;
  void rest_if_idle();
  void read_more();
  void on_read(std::error_code ec, std::size_t n);
  void decode_input();
  void await_rest_of_frame();
  bool awaits_first_frame() const noexcept;
  void throttle();
  void resume_reading();
  bool budget_allows_reading();
  void account_memory(bool releasing = false);
  void resume_after_budget();
  void report_handler_failure() noexcept;
  void on_peer_eof();
  void write_pending();
  bool write_now();
  void write_some();
  void on_written(std::error_code ec, std::size_t n);
  void wrote(std::size_t n);
  void write_done();
  void write_failed(std::error_code ec);
  void begin_drain(std::error_code reason, std::chrono::milliseconds deadline);
  occasional_parts& occasional();
  drain_state& drain();
  void arm_drain_timer();
  void finish_drain_if_flushed();
  void finish(std::error_code reason);
  void report_close(std::error_code reason);
  void release_write_buffer() noexcept;
  bool throttled() const noexcept;
  /// Whether reading may go on now: open, not throttled, not paused.
  bool may_read() const noexcept;
  void apply_pause(bool paused);
  rate_state* rate() const noexcept;
  detail::liveness* liveness() const noexcept;
  const std::shared_ptr<stream_dispatcher>& dispatcher() const noexcept {
    return home_->dispatcher;
  }
  detail::send_queue::line_bound waiting_bound() const noexcept {
    return {home_->options->max_waiting_sends, home_->options->max_waiting_bytes};
  }
  // For liveness.
  bool is_serving() const noexcept { return state_.load() == state::open; }
  bool is_writing() const noexcept;
  bool sends_heartbeats() const noexcept { return !dispatcher()->heartbeat().empty(); }
  void send_heartbeat();

  // Ordered to pack: this is part of every connection (docs/runtime.md, 9a).
  std::shared_ptr<const connection_home> home_;
  detail::stream stream_;
  detail::send_queue queue_;
  std::uint64_t id_;
  asio::ip::tcp::endpoint remote_endpoint_;
  int native_handle_ = -1;
  std::atomic<state> state_{state::open};
  // Set by stop() before it posts the stop itself, so that a handler that
  // stops its connection sees no further frame of the batch being decoded.
  std::atomic<bool> stop_requested_{false};
  // What remote_endpoint_ holds (ip_over_unix: an IP peer a PROXY header
  // named on a Unix-domain socket); set before start(), and by a PROXY
  // header before on_open.
  enum class peer_kind : std::uint8_t { unknown, ip, unix_socket, ip_over_unix };
  std::atomic<peer_kind> peer_{peer_kind::unknown};
  // Connection thread only, so they may share a byte.
  bool opened_ : 1 = false;            // on_open ran: on_close will too
  bool write_deferred_ : 1 = false;    // a write round waits for open()
  bool reported_writable_ : 1 = true;  // what on_writability last told the handler
  bool peer_eof_ : 1 = false;
  bool shutdown_sent_ : 1 = false;
  bool write_in_flight_ : 1 = false;
  // A read works in (or has landed in) the transfer state's input.
  bool read_in_flight_ : 1 = false;
  bool write_wanted_ : 1 = false;    // replies queued while decoding: write after the batch
  bool paused_by_user_ : 1 = false;  // pause_reading(true)
  clock::time_point opened_at_;
  // The parts made only when needed, so that an idle plain connection stays
  // small: the timeouts, the rate limit, a drain, user data.
  std::unique_ptr<occasional_parts> occasional_;
  // What the connection holds only while busy: its startup until on_open,
  // the input, the block being written and the frame loop's state while
  // bytes move. From the thread's cache, and back in it when the
  // connection rests (see rest_if_idle).
  detail::transfer_state* transfer_ = nullptr;
  // The connection manager's list of open connections runs through these;
  // each link holds the connection it leads to.
  std::shared_ptr<connection> managed_next_;
  connection* managed_prev_ = nullptr;

  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};
  std::atomic<std::uint64_t> frames_in_{0};
  std::atomic<std::uint64_t> frames_out_{0};
  std::atomic<std::uint64_t> frames_skipped_{0};
};

template <class Fill>
std::error_code connection::write_frame(std::size_t size, Fill&& fill) {
  return queue_.push(size, fill);
}

template <class Fill>
std::error_code connection::write_frame_for(std::size_t size, Fill&& fill,
                                            std::chrono::milliseconds timeout,
                                            std::stop_token cancel) {
  using fill_type = std::remove_reference_t<Fill>;
  return queue_.push_for(
      size, [](void* context, std::uint8_t* out) { (*static_cast<fill_type*>(context))(out); },
      const_cast<void*>(static_cast<const void*>(&fill)), timeout, std::move(cancel),
      !home_->context->get_executor().running_in_this_thread(), waiting_bound());
}

template <class Token>
auto connection::async_write_frame(std::vector<std::uint8_t> frame,
                                   std::chrono::milliseconds timeout, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(
      [self = shared_from_this(), timeout](auto handler, std::vector<std::uint8_t> bytes) {
        using handler_type = decltype(handler);
        auto waiter = std::make_shared<detail::send_queue::waiter>();
        waiter->bytes = std::move(bytes);
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto executor = asio::get_associated_executor(handler, self->context().get_executor());
        // Handlers may be move-only; std::function wants a copyable target.
        auto shared = std::make_shared<handler_type>(std::move(handler));
        // Outstanding work keeps the handler's executor (an io_context
        // running a coroutine, say) from running out while the send waits.
        auto work = std::make_shared<decltype(asio::make_work_guard(executor))>(
            asio::make_work_guard(executor));
        waiter->complete = [executor, shared, work](std::error_code ec) {
          auto call = [shared, ec] {
            asio::get_associated_cancellation_slot(*shared).clear();
            std::move (*shared)(ec);
          };
          if (ec == error::connection_closed) {
            // The connection's loop may be gone with its server or client;
            // the handler's own executor (the system executor for a plain
            // callback) is not.
            asio::post(asio::get_associated_executor(*shared), std::move(call));
          } else {
            asio::post(executor, std::move(call));
          }
          work->reset();
        };
        if (slot.is_connected()) {
          slot.assign([weak_self = std::weak_ptr<connection>(self),
                       weak_waiter = std::weak_ptr<detail::send_queue::waiter>(waiter)](
                          asio::cancellation_type) {
            auto conn = weak_self.lock();
            auto waiting = weak_waiter.lock();
            if (conn && waiting) {
              conn->queue_.abandon(waiting, error::send_cancelled);
            }
          });
        }
        self->queue_.push_async(waiter, timeout, self->context(), self, self->waiting_bound());
      },
      token, std::move(frame));
}

}  // namespace wiregen
