#pragma once

// A plain connection's read whose buffer is chosen when the bytes come,
// not when the read starts: an idle connection's pending read holds no
// buffer, yet Asio may still try it at once (a speculative read) and never
// re-arms epoll for it. A readiness wait would cost an epoll_ctl per read
// round (Asio re-arms every wait); this read costs a recv that finds
// nothing, as a hand-written edge-triggered loop's does.
//
// Asio has no public hook for this, so the receive operation's base is
// specialized for wiregen's own target type. The specialization follows
// Asio 1.22's reactive_socket_recv_op_base; on any other Asio, or another
// backend, the stream waits for readability and reads then (stream.cpp).

#include <asio/buffer.hpp>
#include <asio/detail/config.hpp>
#include <asio/version.hpp>

#include <cstddef>
#include <system_error>

#if defined(WIREGEN_LANDING_READ)
// Set by the build: 0 forces the portable readiness wait (tests of that path).
#elif defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT) && \
    ASIO_VERSION / 100 == 1022
#define WIREGEN_LANDING_READ 1
#else
#define WIREGEN_LANDING_READ 0
#endif

#if WIREGEN_LANDING_READ
#include <asio/socket_base.hpp>  // the op's header assumes it

#include <asio/detail/reactive_socket_recv_op.hpp>
#endif

namespace wiregen {
class connection;
}  // namespace wiregen

namespace wiregen::detail {

/// What a landing read carries: the connection, asked where its bytes go
/// once the socket has some (connection_io.cpp).
struct landing {
  connection* reader;

  /// Reads what the socket holds now; false (and nothing held) when it holds
  /// nothing. Otherwise `ec` and `n` are the read's outcome for complete().
  static bool perform(const landing& target, std::error_code& ec, std::size_t& n) noexcept;
  /// The read's handler, on the connection's thread.
  static void complete(connection& reader, std::error_code ec, std::size_t n);

  // Before it starts, Asio asks whether the buffers are all empty (a read
  // of nothing completes at once). They never are.
  const asio::mutable_buffer* begin() const noexcept { return &placeholder; }
  const asio::mutable_buffer* end() const noexcept { return &placeholder + 1; }

 private:
  static inline char placeholder_byte = 0;
  static inline const asio::mutable_buffer placeholder{&placeholder_byte, 1};
};

}  // namespace wiregen::detail

#if WIREGEN_LANDING_READ

namespace asio::detail {

template <>
class reactive_socket_recv_op_base<wiregen::detail::landing> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const asio::error_code& success_ec, socket_type /*socket*/,
                               socket_ops::state_type /*state*/,
                               const wiregen::detail::landing& target,
                               socket_base::message_flags /*flags*/, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        target_(target) {}

  static status do_perform(reactor_op* base) {
    auto* op = static_cast<reactive_socket_recv_op_base*>(base);
    if (!wiregen::detail::landing::perform(op->target_, op->ec_, op->bytes_transferred_)) {
      return not_done;
    }
    // As Asio's own: a stream read of nothing is the end of the stream.
    return op->bytes_transferred_ == 0 ? done_and_exhausted : done;
  }

 private:
  wiregen::detail::landing target_;
};

}  // namespace asio::detail

#endif
