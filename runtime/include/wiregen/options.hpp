#pragma once

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "wiregen/address.hpp"
#include "wiregen/proxy_protocol.hpp"
#include "wiregen/stream_socket.hpp"
#include "wiregen/tls.hpp"

namespace wiregen {

class logger;
class message_observer;

/// TCP keepalive probes (SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and
/// TCP_KEEPCNT): detect a peer that vanished without closing.
struct keepalive_options {
  bool enabled = false;
  /// Idle time before the first probe.
  std::chrono::seconds idle{60};
  /// Time between unanswered probes.
  std::chrono::seconds interval{10};
  /// Unanswered probes before the kernel drops the connection.
  int count = 5;
};

/// What happens to a connection whose peer sends faster than message_rate.
enum class rate_limit_action {
  /// Stop reading until the rate allows the next message: TCP flow control
  /// then slows the peer down.
  delay,
  /// Close with error::message_rate_exceeded (after flushing replies).
  close,
};

/// Per-connection settings shared by servers and clients. A zero duration
/// turns its timeout off.
struct connection_options {
  /// The send queue's bound in bytes, its high watermark: a send that would
  /// pass it is refused with error::send_queue_full (try_send) or waits
  /// (send_for, async_send), and the connection turns unwritable.
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  /// Frames waiting in the send queue for the socket (not counting those
  /// being written), as the seeds bound their queues by message count: past
  /// it sends fail or wait exactly as past max_queued_bytes. 0, the default,
  /// means no bound but the bytes: one 64 KiB read can hold thousands of
  /// small pipelined requests whose replies are all queued before the next
  /// write, which the seeds' 1024 (sized for 4 KiB reads) would refuse.
  std::size_t max_queued_frames = 0;
  /// The largest frame a connection accepts, header and trailer included,
  /// when that is less than the framing spec's max_frame_size: a header
  /// announcing more is error::frame_too_large, as past the spec's own
  /// limit (for LINE_DELIMITED: the longest line, as line.max_length, and
  /// error::line_too_long). 0 means the spec's. A session may change it
  /// at run time (session::set_max_frame_size), e.g. raise it once a peer
  /// has authenticated; it can never go above the spec's.
  std::size_t max_frame_size = 0;
  /// Once unwritable, the connection turns writable again when its queue
  /// drains to this many bytes or fewer.
  std::size_t low_watermark = 1024 * 1024;
  /// Senders waiting for room (send_for, async_send) each hold their frame
  /// until it gets in: at most max_waiting_sends of them wait, holding at
  /// most max_waiting_bytes of frames between them (one always may, however
  /// large its frame); past either, a send that would wait fails at once
  /// with error::send_queue_full. So a peer that stops reading while a
  /// handler keeps replying with async_send pins at most max_queued_bytes +
  /// max_waiting_bytes (and one frame).
  std::size_t max_waiting_sends = 1024;
  std::size_t max_waiting_bytes = 4 * 1024 * 1024;
  /// How much each read of a plain connection asks the socket for. Reads go
  /// into one buffer per I/O thread, so this costs memory per thread, not
  /// per connection: a connection keeps only a partial frame (TLS reads at
  /// most 16 KiB into its own buffer).
  std::size_t read_chunk_size = 65536;
  /// Disable Nagle's algorithm: frames leave as soon as they are queued.
  bool tcp_nodelay = true;
  keepalive_options keepalive;
  /// SO_SNDBUF and SO_RCVBUF; 0 leaves the kernel's default.
  int send_buffer_size = 0;
  int receive_buffer_size = 0;
  /// Default deadline of a graceful stop: after it, the stop becomes immediate.
  std::chrono::milliseconds graceful_stop_timeout{5000};
  /// Close with error::read_idle_timeout after this long without a byte in.
  std::chrono::milliseconds read_idle_timeout{0};
  /// Close with error::idle_timeout after this long without a byte in or
  /// out: any read or write resets it (a heartbeat too), so a connection
  /// that only receives pushes, or only sends, stays open.
  std::chrono::milliseconds idle_timeout{0};
  /// Close with error::write_stall_timeout when queued data has not moved
  /// for this long: the peer stopped reading.
  std::chrono::milliseconds write_stall_timeout{0};
  /// Close with error::first_frame_timeout when no complete frame arrived
  /// this long after the connection was established. Off for a client; a
  /// server's connections start with 30 s (server_options::connection).
  /// While it runs, a connection holds its transfer state (about 200
  /// bytes), so that one that never sends is timed out by the same wheel
  /// entry as a slow frame.
  std::chrono::milliseconds first_frame_timeout{0};
  /// Close with error::frame_timeout when a frame (or line) whose first
  /// bytes arrived is not complete this long after: a peer that announces
  /// a large frame and trickles it, or sends all of it but a byte, holds
  /// its bytes this long at most. Only a connection in the middle of a
  /// frame is watched, so it costs an idle one nothing. Time spent held
  /// back by message_rate does not count.
  std::chrono::milliseconds partial_frame_timeout{60000};
  /// Close with error::frame_timeout when a frame does not complete within
  /// this long of the previous one (of the connection's start, for the
  /// first): a read deadline per frame, as a line server sets one per line,
  /// which also closes a connection idle for this long. Unlike
  /// read_idle_timeout, a peer trickling bytes does not reset it.
  std::chrono::milliseconds frame_timeout{0};
  /// Send the spec's heartbeat message after this long without sending
  /// anything. Needs a `heartbeat` in the framing spec.
  std::chrono::milliseconds heartbeat_interval{0};
  /// How long everything before the connection opens (the PROXY protocol
  /// header, admission, the TLS handshake) may take together before the
  /// connection is closed with error::handshake_timeout. A plain TCP
  /// connection has no handshake: first_frame_timeout bounds its start.
  std::chrono::milliseconds handshake_timeout{10000};
  /// Received messages per second allowed, on average (a token bucket);
  /// 0 means no limit.
  double message_rate = 0;
  /// Messages that may arrive at once above the rate; 0 means one second's worth.
  std::size_t message_burst = 0;
  rate_limit_action on_rate_exceeded = rate_limit_action::delay;

  /// What a server's connections start with: these defaults, and a
  /// first_frame_timeout of 30 s.
  static connection_options accepted();
};

inline connection_options connection_options::accepted() {
  connection_options options;
  options.first_frame_timeout = std::chrono::seconds(30);
  return options;
}

/// How a server makes the socket file it listens on ("unix:/path"). An
/// abstract name ("unix:@name") has no file; anyone in the network
/// namespace may connect to it.
struct unix_socket_options {
  /// Permission bits set on the file before the server listens; a client
  /// needs write permission to connect. 0 leaves what the umask gave.
  unsigned mode = 0;
  /// Owner and group set on the file (chown), e.g. so that one group's
  /// processes may connect; unset keeps the process's own.
  std::optional<std::uint32_t> owner;
  std::optional<std::uint32_t> group;
};

/// Settings of a wiregen::server.
struct server_options {
  /// I/O threads, each running its own event loop; 0 means one per CPU the
  /// process may run on (its affinity mask: `taskset -c 0` means one).
  std::size_t io_threads = 0;
  /// Set SO_REUSEPORT on the listening socket, so that several servers
  /// (processes, or one single-threaded server per core in one process)
  /// listen on the same port and the kernel spreads new connections among
  /// them. Every one of them must set it. See docs/runtime.md, "Scaling
  /// out".
  bool reuse_port = false;
  /// The socket file of a Unix-domain listen(): its mode, owner and group.
  unix_socket_options unix_socket;
  /// Connections served at once; one more is closed as soon as it is
  /// accepted, with error::too_many_connections. 0 (the default) derives it
  /// from the process's descriptor limit when listen() starts: the soft
  /// RLIMIT_NOFILE less a reserve of 64 plus 4 per I/O thread, so that a
  /// flood of connections leaves descriptors for everything else (and for
  /// accepting the excess to close it). SIZE_MAX means no limit.
  std::size_t max_connections = 0;
  /// Sees every accepted socket before it is served, e.g. to set socket
  /// options wiregen has no name for; an error closes that socket and is
  /// reported to the handler's on_refused(). Runs on the accept thread.
  std::function<std::error_code(stream_socket&)> socket_hook;
  /// Serve TLS with these settings; listen() fails if they do not load.
  std::optional<tls_server_options> tls;
  /// Expect a PROXY protocol header on every connection (behind HAProxy).
  proxy_protocol_options proxy_protocol;
  /// Connections one source address may hold at once (after the PROXY
  /// header, the client's address); more are refused with
  /// error::too_many_from_address. An IPv6 address counts with its whole
  /// /64, which one host may rotate through. 0 means no limit.
  std::size_t max_connections_per_address = 0;
  /// The bytes all connections together may hold for partial frames and
  /// output not written yet (send queues). Over it, a connection holding
  /// 64 KiB or more that wants to read more waits (its peer is pushed back
  /// by TCP, and sends no more requests to queue replies for) until bytes
  /// are freed, one of them at a time going on so that frames still
  /// complete; past a quarter more, such a connection is closed with
  /// error::overloaded. Connections exchanging small frames are never held
  /// back. 0 means no budget.
  std::size_t memory_budget = 64 * 1024 * 1024;
  /// TLS handshakes in progress at once; a connection accepted beyond it is
  /// closed at once with error::too_many_handshakes. Each holds OpenSSL's
  /// state (tens of KiB) for up to handshake_timeout, so this bounds what
  /// peers that connect and stall can pin. 0 means no limit.
  std::size_t max_tls_handshakes = 1024;
  /// New connections per second accepted, on average (a token bucket);
  /// faster ones are closed at once with error::accept_rate_exceeded. 0
  /// means no limit.
  double accept_rate = 0;
  /// Connections accepted at once above the rate; 0 means one second's worth.
  std::size_t accept_burst = 0;
  /// Applied to every accepted connection. Unlike a client's, these start
  /// with a first-frame deadline: a public port must not let a peer that
  /// connects and sends nothing hold a connection forever.
  connection_options connection = connection_options::accepted();
  /// An admin port (HTTP/1.1, never the data port): GET /metrics in
  /// Prometheus's text format, /healthz (200 until stopped), /readyz (200
  /// while running, 503 once draining). Opened by the first listen(); off
  /// unless set. See docs/operations.md.
  std::optional<socket_address> admin;
  /// Where the server's records go (wiregen/log.hpp: text_logger,
  /// json_logger, or one's own); null, the default, logs nothing and costs
  /// nothing.
  std::shared_ptr<wiregen::logger> logger;
  /// Count frames and bytes per message type and calls per rpc, by
  /// outcome and handler time (server::metrics().messages and .calls). Off,
  /// and with no observer, the message path touches no counter at all: the
  /// last per-message cost a server can shed (docs/performance.md measures
  /// it).
  bool message_metrics = true;
  /// Sees every frame in and out and every call answered, for tracing
  /// (wiregen/message_observer.hpp); null, the default, sees nothing.
  std::shared_ptr<message_observer> observer;
  /// How long a graceful stop() that waits keeps accepting and serving
  /// with /readyz answering 503, before it closes its listeners and drains:
  /// time for a load balancer's health check to take the instance out, so
  /// that no new connection is refused during a rolling restart
  /// (docs/operations.md). A stop from a handler, or one that does not wait,
  /// skips it, and any other stop() cuts it short. 0 (the default): none.
  std::chrono::milliseconds shutdown_delay{0};
};

/// Redialing with exponential backoff and jitter.
struct retry_options {
  /// Dial attempts connect() makes before it gives up; at least 1.
  unsigned attempts = 1;
  /// Wait before the second attempt; it doubles (multiplier) per attempt up
  /// to max_backoff, and each wait is spread by +-jitter of itself.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  double multiplier = 2.0;
  double jitter = 0.2;
};

/// What a client's send does while it has no connection.
enum class disconnected_sends {
  /// Fail with error::not_connected.
  fail,
  /// Queue up to max_backlog_bytes and send on the next connection, in order;
  /// beyond that, fail with error::send_queue_full.
  queue,
};

/// Settings of a wiregen::client.
struct client_options {
  /// How long resolving and connecting may take together, per attempt.
  std::chrono::milliseconds connect_timeout{5000};
  retry_options retry;
  /// Redial (with retry's backoff, without limit) whenever the connection
  /// is lost, until stop() is called. A connection lost within a second of
  /// opening (whatever it received) counts as a failed dial, so a server
  /// that accepts and closes is redialed ever more slowly, up to
  /// max_backoff; one that lasted a second is redialed at once.
  bool auto_reconnect = false;
  disconnected_sends while_disconnected = disconnected_sends::fail;
  std::size_t max_backlog_bytes = 1024 * 1024;
  /// Speak TLS to the server with these settings.
  std::optional<tls_client_options> tls;
  /// Applied to the dialed connection.
  connection_options connection;
  /// Where the client's records go: dials, redials, its connection; null
  /// logs nothing.
  std::shared_ptr<wiregen::logger> logger;
  /// Count frames and bytes per message type and calls per rpc, by
  /// outcome and latency (client::metrics()).
  bool message_metrics = true;
  /// Sees every frame in and out and every call made, with its latency
  /// (wiregen/message_observer.hpp); null, the default, sees nothing.
  std::shared_ptr<message_observer> observer;
};

/// Settings of a wiregen::datagram_server or datagram_client.
struct datagram_options {
  /// The largest datagram received or sent: 65507 is the most an IPv4 UDP
  /// datagram carries. A larger one received is dropped and reported as
  /// error::datagram_truncated; one to send fails with message_too_large.
  std::size_t max_datagram_size = 65507;
  /// SO_RCVBUF / SO_SNDBUF when nonzero: UDP drops what the receive buffer
  /// cannot hold.
  int receive_buffer_size = 0;
  int send_buffer_size = 0;
  /// Datagrams per second taken from one source address (an IPv6 source
  /// with its /64), on average; more are dropped and reported as
  /// error::message_rate_exceeded. UDP sources can be forged, so this also
  /// bounds how fast replies can be reflected at one victim. 0: no limit.
  double rate_per_source = 1000;
  /// Datagrams one source may send at once above the rate; 0 means one
  /// second's worth.
  std::size_t burst_per_source = 0;
  /// Sources tracked at once (about 100 bytes each); when full, idle ones are
  /// forgotten first.
  std::size_t max_tracked_sources = 65536;
};

}  // namespace wiregen
