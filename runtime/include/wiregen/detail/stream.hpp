#pragma once

#include <asio/buffer.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "wiregen/byte_buffer.hpp"
#include "wiregen/stream_socket.hpp"
#include "wiregen/tls.hpp"

namespace wiregen {
class connection;
}  // namespace wiregen

namespace wiregen::detail {

/// How a connection runs TLS: the context it was accepted or dialed under
/// (kept alive for the connection's life, whatever reloads happen), which
/// side of the handshake it is, and for a client the name to send as SNI
/// and verify the server's certificate against.
struct tls_setup {
  std::shared_ptr<asio::ssl::context> context;
  bool server = true;
  std::string server_name;
  bool verify_name = true;
};

/// Where a read or write of the stream completes: a function of the
/// connection, which the completion keeps alive. Fixed in type, so that the
/// stream needs no templates and Asio recycles the operation's memory.
struct io_completion {
  std::shared_ptr<connection> self;
  void (*call)(connection& conn, std::error_code ec, std::size_t n);
  void operator()(std::error_code ec, std::size_t n) const;
};

class tls_layer;

/// A connection's byte stream: the socket, and TLS over it when set up.
/// Everything that differs between the two lives here, so the connection
/// reads, writes, handshakes and closes without knowing which it has.
/// Used on the connection's thread only.
class stream {
 public:
  explicit stream(stream_socket socket);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();

  /// Layers TLS over the socket; the handshake comes later.
  void use_tls(tls_setup setup);
  /// Runs the TLS handshake, if TLS is set up; else completes at once.
  void handshake(std::function<void(std::error_code)> done);
  /// What the handshake established; null for a plain stream.
  const tls_info* tls() const noexcept;

  /// How the next read goes. A plain socket with nothing buffered reads
  /// with read_landing(): its bytes land in its thread's shared buffer,
  /// chosen when they come, so an idle connection holds no buffer.
  /// Otherwise read() reads into `input` itself (TLS keeps its own
  /// buffering, and a partial frame waits in the connection's own buffer).
  bool reads_when_ready(std::size_t buffered) const noexcept { return !tls_ && buffered == 0; }
  /// Reads what comes next; when bytes are there the read asks `reader`
  /// (detail::landing, runtime/src/landing_read.hpp) for its input and
  /// reads with read_now(), then completes on the connection's thread.
  void read_landing(std::shared_ptr<connection> reader);
  /// Reads what the socket holds now into the thread's buffer, which
  /// `input` (empty) then holds until settle(), with at least `chunk` bytes
  /// of room and `wanted` in all. While another connection's input holds
  /// that buffer (its read completed, its handler has not run yet), into
  /// `input`'s own storage instead. would_block when nothing is there.
  std::size_t read_now(byte_buffer& input, std::size_t wanted, std::size_t chunk,
                       std::error_code& ec);
  /// Reads what arrives next into `input` and completes with how many bytes
  /// came, with room for `wanted` bytes in all (the rest of a frame) and at
  /// least one chunk.
  void read(byte_buffer& input, std::size_t wanted, std::size_t chunk, io_completion done);
  /// Gives back the thread's buffer `input` holds after a read, keeping
  /// what is left in it (a partial frame) in a buffer of the connection's
  /// own. An empty input then holds no storage.
  void settle(byte_buffer& input);
  /// Writes what the socket takes at once, without waiting: would_block
  /// when it takes nothing, and always under TLS, whose records go out
  /// through write_some.
  std::size_t write_now(asio::const_buffer bytes, std::error_code& ec);
  void write_some(asio::const_buffer bytes, io_completion done);
  /// Half-closes: no more bytes from this side.
  void shutdown_send() noexcept;
  void close() noexcept;

  bool has_tls() const noexcept { return tls_ != nullptr; }
  stream_socket& socket() noexcept { return socket_; }
  bool is_open() const noexcept { return socket_.is_open(); }

 private:
  stream_socket socket_;
  std::unique_ptr<tls_layer> tls_;  // over socket_, destroyed before it
};

}  // namespace wiregen::detail
