#pragma once

#include <sys/types.h>

#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <string>
#include <system_error>

#include "wiregen/address.hpp"
#include "wiregen/options.hpp"

namespace wiregen::detail {

using stream_acceptor =
    asio::basic_socket_acceptor<asio::generic::stream_protocol, asio::io_context::executor_type>;

/// One listening socket of a server: TCP or Unix-domain, bound by the
/// server or handed to it already listening. Lives on the accept loop.
class listener {
 public:
  explicit listener(asio::io_context& accept_loop);
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener();

  /// Binds `address` (resolved already, for TCP: `tcp` is one of its
  /// results) and listens. A Unix socket file left by a process that is
  /// gone is replaced; one a live server answers on is address_in_use.
  std::error_code open_tcp(const asio::generic::stream_protocol::endpoint& tcp, bool reuse_port);
  std::error_code open_unix(const socket_address& address, const unix_socket_options& file);
  /// Takes over `descriptor`, which must be a listening stream socket.
  std::error_code adopt(int descriptor);

  /// Stops listening; the socket file this listener made, if still its
  /// own, is removed.
  void close();

  /// What it listens on: the bound address, port 0 resolved.
  const socket_address& name() const noexcept { return name_; }

  stream_acceptor acceptor;
  // Accept errors that persist (out of descriptors) back off on this timer.
  asio::steady_timer retry;
  std::chrono::milliseconds backoff{0};

 private:
  socket_address name_;
  // The socket file bound here, known by its inode so that close() never
  // removes a file a later server put in its place.
  std::string made_file_;
  dev_t made_device_ = 0;
  ino_t made_inode_ = 0;
};

}  // namespace wiregen::detail
