#pragma once

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace wiregen::test {

/// A blocking TCP peer on loopback that writes and reads raw bytes: lets tests
/// put any bytes on the wire, including ones wiregen would never encode.
class raw_peer {
 public:
  explicit raw_peer(std::uint16_t port) : socket_(context_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void write(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  /// Writes `bytes`; the error, if the peer is gone, instead of a throw.
  std::error_code try_write(const std::string& bytes) {
    std::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return ec;
  }

  /// Reads exactly `n` bytes, or fewer if the peer closes; `ec` tells which.
  std::string read(std::size_t n, std::error_code& ec) {
    std::string bytes(n, '\0');
    const auto got = asio::read(socket_, asio::buffer(bytes), ec);
    bytes.resize(got);
    return bytes;
  }

  /// Reads until the peer closes the connection, then closes this end too;
  /// returns the error that ended the reading (eof for an orderly close).
  std::error_code read_until_closed() {
    std::error_code ec;
    char sink[4096];
    while (!ec) {
      socket_.read_some(asio::buffer(sink), ec);
    }
    std::error_code ignored;
    socket_.close(ignored);
    return ec;
  }

  void shutdown_send() { socket_.shutdown(asio::ip::tcp::socket::shutdown_send); }

 private:
  asio::io_context context_;
  asio::ip::tcp::socket socket_;
};

}  // namespace wiregen::test
