#include "startup.hpp"

#include <asio/read.hpp>

#include <algorithm>

#include "wiregen/error.hpp"

namespace wiregen::detail {

void startup::run(const std::shared_ptr<connection>& conn, done_handler done) {
  done_ = done;
  if (trusted_proxies_ == nullptr) {
    admit(conn);
    return;
  }
  const auto& trusted = *trusted_proxies_;
  // A Unix-domain peer is trusted only when the list says "unix": who may
  // connect is up to the socket file's permissions then.
  const bool over_unix = conn->is_unix_socket();
  const auto peer = conn->remote_endpoint().address();
  const bool from_proxy = std::any_of(trusted.begin(), trusted.end(), [&](const auto& network) {
    return over_unix ? network.unix_peers : network.contains(peer);
  });
  if (!from_proxy) {
    finish(*conn, error::untrusted_proxy);
    return;
  }
  read_proxy_header(conn);
}

void startup::read_proxy_header(const std::shared_ptr<connection>& conn) {
  std::error_code ec;
  const std::size_t needed = proxy_protocol::bytes_needed(proxy_bytes_, ec);
  if (ec) {
    finish(*conn, ec);
    return;
  }
  if (needed == 0) {
    proxy_protocol::header header;
    if ((ec = proxy_protocol::parse(proxy_bytes_, header))) {
      finish(*conn, ec);
      return;
    }
    if (!header.local) {
      // From here on the connection is the client's, not the balancer's.
      conn->remote_endpoint_ = header.source;
      conn->peer_.store(conn->is_unix_socket() ? connection::peer_kind::ip_over_unix
                                               : connection::peer_kind::ip);
    }
    std::vector<std::uint8_t>().swap(proxy_bytes_);
    admit(conn);
    return;
  }
  // Exactly what the header still needs, never a byte more: what follows
  // belongs to TLS or to the first frame.
  const std::size_t have = proxy_bytes_.size();
  proxy_bytes_.resize(have + needed);
  asio::async_read(conn->stream_.socket(), asio::buffer(proxy_bytes_.data() + have, needed),
                   [this, conn](std::error_code read_ec, std::size_t) {
                     if (conn->is_closed()) {
                       return;
                     }
                     if (read_ec) {
                       finish(*conn,
                              read_ec == asio::error::eof ? error::bad_proxy_header : read_ec);
                       return;
                     }
                     read_proxy_header(conn);
                   });
}

void startup::admit(const std::shared_ptr<connection>& conn) {
  if (admit_) {
    std::error_code refused;
    try {
      refused = admit_(*conn);
    } catch (...) {
      refused = error::handler_failed;
    }
    if (refused) {
      finish(*conn, refused);
      return;
    }
  }
  conn->stream_.handshake([this, conn](std::error_code ec) {
    if (!conn->is_closed()) {
      finish(*conn, ec);
    }
  });
}

void startup::finish(connection& conn, std::error_code outcome) {
  done_(conn, outcome);
}

}  // namespace wiregen::detail
