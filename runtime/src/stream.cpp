#include "wiregen/detail/stream.hpp"

#include <sys/socket.h>
#include <sys/types.h>

#include <asio/ip/address.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "landing_read.hpp"
#include "tls_layer.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/detail/buffer_pool.hpp"

namespace wiregen::detail {

namespace {

// Each I/O thread reads ready sockets into one buffer of its own: a
// connection with no partial frame pending holds no read buffer at all, so
// an idle connection costs no more than its state, and reads come in large
// chunks however many connections there are.
byte_buffer& thread_read_buffer() {
  static thread_local byte_buffer buffer;
  return buffer;
}

// The input that holds the thread's buffer between read_now() and
// settle(): one per thread at a time. Usually the same handler settles it;
// a read that completes inside another connection's turn holds it until
// its own handler has run.
thread_local const byte_buffer* lent_to = nullptr;

// A TLS record holds at most 16 KiB: larger reads would only leave room unused.
constexpr std::size_t tls_record_size = 16384;

// A plain socket reads into its own buffer only to finish a partial frame.
constexpr std::size_t partial_frame_chunk = 1024;
constexpr std::size_t largest_growth = 64 * 1024;

// A read that never waits, whatever mode the socket is in: the landing read
// runs inside the reactor, where a blocking recv would stop the whole I/O
// thread.
std::size_t receive_now(stream_socket& socket, std::uint8_t* data, std::size_t size,
                        std::error_code& ec) {
  for (;;) {
    const ssize_t n = ::recv(socket.native_handle(), data, size, MSG_DONTWAIT);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    ec = errno == EAGAIN || errno == EWOULDBLOCK ? std::error_code(asio::error::would_block)
                                                 : std::error_code(errno, std::system_category());
    return 0;
  }
}

}  // namespace

void io_completion::operator()(std::error_code ec, std::size_t n) const {
  call(*self, ec, n);
}

tls_layer::tls_layer(tls_setup setup, stream_socket& socket)
    : context(std::move(setup.context)), stream(socket, *context), server(setup.server) {
  const auto& name = setup.server_name;
  std::error_code not_an_address;
  (void)asio::ip::make_address(name, not_an_address);
  if (!server && !name.empty() && not_an_address) {
    // SNI carries host names only, never addresses.
    SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
  }
  if (!server && setup.verify_name && !name.empty()) {
    stream.set_verify_callback(asio::ssl::host_name_verification(name));
  }
}

stream::stream(stream_socket socket) : socket_(std::move(socket)) {
  if (socket_.is_open()) {
    // Plain writes are tried at once (write_now): a full socket must
    // return would_block, never block the loop.
    std::error_code ignored;
    socket_.non_blocking(true, ignored);
  }
}

stream::~stream() = default;

void stream::use_tls(tls_setup setup) {
  tls_ = std::make_unique<tls_layer>(std::move(setup), socket_);
}

const tls_info* stream::tls() const noexcept {
  return tls_ ? tls_->info.get() : nullptr;
}

void stream::handshake(std::function<void(std::error_code)> done) {
  if (!tls_) {
    done({});
    return;
  }
  tls_->stream.async_handshake(
      tls_->server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
      [this, done = std::move(done)](std::error_code ec) {
        if (!ec) {
          auto info = std::make_unique<tls_info>();
          describe_session(tls_->stream.native_handle(), *info);
          tls_->info = std::move(info);
        }
        done(ec);
      });
}

namespace {

// A landing read's handler: 16 bytes, so that the pending read of an idle
// connection is no larger than a readiness wait's.
struct landing_completion {
  std::shared_ptr<connection> reader;
  void operator()(std::error_code ec, std::size_t n) const { landing::complete(*reader, ec, n); }
};

#if WIREGEN_LANDING_READ
// The pending read is most of what an idle connection costs beyond its own
// state (docs/runtime.md, 9a): Asio's operation with this completion fits
// the 96 bytes its readiness wait took.
static_assert(sizeof(asio::detail::reactive_socket_recv_op<landing, landing_completion,
                                                           stream_socket::executor_type>) <= 96);
#endif

}  // namespace

void stream::read_landing(std::shared_ptr<connection> reader) {
  const landing target{reader.get()};
#if WIREGEN_LANDING_READ
  socket_.async_read_some(target, landing_completion{std::move(reader)});
#else
  // Without the specialized read: wait for readability, then read.
  socket_.async_wait(asio::socket_base::wait_read,
                     [this, target, reader = std::move(reader)](std::error_code ec) mutable {
                       std::size_t n = 0;
                       if (!ec && !landing::perform(target, ec, n)) {
                         read_landing(std::move(reader));  // woken for nothing
                         return;
                       }
                       landing::complete(*reader, ec, n);
                     });
#endif
}

std::size_t stream::read_now(byte_buffer& input, std::size_t wanted, std::size_t chunk,
                             std::error_code& ec) {
  const std::size_t room_size = std::max(chunk, wanted);
  if (lent_to != nullptr) {
    // The thread's buffer holds another connection's bytes until its
    // handler runs (its read was tried at once, and that handler is
    // posted): these bytes go to a buffer of this connection's own.
    buffer_pool::take(input, room_size);
    input.prepare(room_size);
    return receive_now(socket_, input.prepare(0), input.writable(), ec);
  }
  byte_buffer& shared = thread_read_buffer();
  shared.clear();
  shared.prepare(room_size);
  const std::size_t n = receive_now(socket_, shared.prepare(0), shared.writable(), ec);
  if (ec) {
    return 0;
  }
  // The bytes become the connection's input while they are decoded; what
  // is left of them (a partial frame) moves to its own buffer in settle().
  input.swap(shared);
  lent_to = &input;
  return n;
}

void stream::read(byte_buffer& input, std::size_t wanted, std::size_t chunk, io_completion done) {
  // Room for more of the frame being received, growing with what has
  // arrived (doubling it, 64 KiB at most per read) rather than sized to the
  // length the peer announced: a peer that announces a large frame and
  // trickles it makes the connection hold about what it sent, not what it
  // promised, and one read adds at most a step of the server's memory
  // budget. `wanted` comes from a validated header, so it never exceeds the
  // maximum frame size whatever a peer writes in its length field.
  const std::size_t missing = wanted > input.size() ? wanted - input.size() : 0;
  const std::size_t growth =
      std::min(missing, std::clamp(input.size(), partial_frame_chunk, largest_growth));
  const std::size_t room_size =
      std::max(growth, tls_ ? std::min(chunk, tls_record_size) : partial_frame_chunk);
  buffer_pool::take(input, room_size);
  input.prepare(room_size);
  // Whatever room the buffer has, one read takes at most a step more than
  // asked: the budget counts what arrives.
  const auto room = asio::buffer(input.prepare(0),
                                 std::min(input.writable(), std::max(room_size, largest_growth)));
  if (tls_) {
    tls_->stream.async_read_some(room, std::move(done));
  } else {
    socket_.async_read_some(room, std::move(done));
  }
}

void stream::settle(byte_buffer& input) {
  if (lent_to != &input) {
    if (input.empty()) {
      buffer_pool::give_back(input);  // idle: hold no storage
    }
    return;
  }
  lent_to = nullptr;
  byte_buffer& shared = thread_read_buffer();  // holds the connection's own buffer now
  if (!input.empty()) {
    const auto rest = input.readable();
    buffer_pool::take(shared, rest.size());
    shared.clear();
    std::memcpy(shared.prepare(rest.size()), rest.data(), rest.size());
    shared.commit(rest.size());
  }
  input.swap(shared);  // the thread gets its buffer back
  if (input.empty()) {
    buffer_pool::give_back(input);
  }
  // A thread buffer grown for one large frame shrinks back to a chunk's
  // worth once that frame is done.
  if (thread_read_buffer().capacity() > 4 * buffer_pool::largest_kept) {
    byte_buffer().swap(thread_read_buffer());
  }
}

std::size_t stream::write_now(asio::const_buffer bytes, std::error_code& ec) {
  if (tls_) {
    ec = asio::error::would_block;
    return 0;
  }
  // The socket is non-blocking (see the constructor): a full send buffer
  // returns would_block at once.
  const std::size_t n = socket_.write_some(bytes, ec);
  if (ec == asio::error::try_again) {
    ec = asio::error::would_block;
  }
  return n;
}

void stream::write_some(asio::const_buffer bytes, io_completion done) {
  if (tls_) {
    tls_->stream.async_write_some(bytes, std::move(done));
  } else {
    socket_.async_write_some(bytes, std::move(done));
  }
}

void stream::shutdown_send() noexcept {
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void stream::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace wiregen::detail
