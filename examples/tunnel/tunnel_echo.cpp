// The Go tutorial's echo (io.Copy(conn, conn)) on a RAW protocol: whatever a
// client sends comes back as it arrived, with no framing at all
// (schema/examples/tunnel). Try it with nc, or over a Unix-domain socket:
//
//   tunnel_echo --listen 127.0.0.1:7002 [--listen unix:/tmp/echo.sock]
//   nc 127.0.0.1 7002
//
// A client that sends without reading fills its connection's send queue;
// reading from it then pauses until the queue drains, so TCP's flow control
// slows the client instead of the server buffering without bound.
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include <wiregen/address.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "tunnel.wiregen.h"

namespace {

class echo_handler final : public tunnel::server_handler {
 public:
  void on_connected(tunnel::server_session& session) override {
    std::fprintf(stderr, "tunnel_echo: %s connected\n", session.tagged_remote_address().c_str());
  }

  void on_data(tunnel::server_session& session, std::span<const std::uint8_t> data) override {
    if (session.send(data) == wiregen::error::send_queue_full) {
      // The client is not reading: hold its bytes back until ours drain,
      // and queue this chunk as soon as there is room.
      session.pause_reading(true);
      session.async_send(data, [session](std::error_code) { session.pause_reading(false); });
    }
  }

  void on_closed(tunnel::server_session& session, std::error_code reason,
                 const wiregen::connection_stats& stats) override {
    std::fprintf(stderr, "tunnel_echo: %s closed after %llu byte(s) echoed: %s\n",
                 session.tagged_remote_address().c_str(),
                 static_cast<unsigned long long>(stats.bytes_sent),
                 reason ? reason.message().c_str() : "closed here");
  }
};

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s --listen ADDRESS [--listen ADDRESS...]\n", program);
  std::fprintf(stderr, "  ADDRESS: HOST:PORT, [V6]:PORT, unix:PATH or unix:@NAME\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<wiregen::socket_address> addresses;
  for (int i = 1; i + 1 < argc; i += 2) {
    wiregen::socket_address address;
    if (std::strcmp(argv[i], "--listen") != 0 ||
        wiregen::parse_socket_address(argv[i + 1], address)) {
      return usage(argv[0]);
    }
    addresses.push_back(address);
  }
  if (addresses.empty() || argc % 2 == 0) {
    return usage(argv[0]);
  }

  wiregen::shutdown_signals signals;
  echo_handler handler;
  tunnel::server server(handler);
  for (const auto& address : addresses) {
    if (const auto ec = server.listen(address)) {
      std::fprintf(stderr, "tunnel_echo: cannot listen on %s: %s\n", address.to_string().c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  for (const auto& address : server.local_addresses()) {
    std::fprintf(stderr, "tunnel_echo: listening on %s\n", address.to_string().c_str());
  }
  signals.wait();
  server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  return 0;
}
