// The Go tutorial's line server (../shared/seeds): every line a client
// sends comes back upper-cased. Lines end with "\n" and hold at most 1024
// bytes (schema/examples/upper); a longer line closes that connection, and
// so does a line that takes longer than --line-timeout to arrive. Try it
// with nc:
//
//   upper_server --listen 127.0.0.1:7001 [--line-timeout 30000]
//   nc 127.0.0.1 7001
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "upper.wiregen.h"

namespace {

class upper_handler final : public upper::server_handler {
 public:
  void on_connected(upper::server_session& session) override {
    std::fprintf(stderr, "upper_server: %s connected\n", session.remote_address().c_str());
  }
  void on_line(upper::server_session& session, std::string_view line) override {
    std::string reply(line);
    for (char& c : reply) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    (void)session.send(reply);
  }
  void on_closed(upper::server_session& session, std::error_code reason,
                 const wiregen::connection_stats& stats) override {
    std::fprintf(stderr, "upper_server: %s closed after %llu line(s): %s\n",
                 session.remote_address().c_str(),
                 static_cast<unsigned long long>(stats.frames_received),
                 reason ? reason.message().c_str() : "closed here");
  }
};

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s --listen HOST:PORT [--line-timeout MS]\n", program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::host_port listen;
  bool have_listen = false;
  wiregen::server_options options;
  options.connection.frame_timeout = std::chrono::seconds(30);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && !wiregen::parse_host_port(argv[i + 1], listen)) {
      have_listen = true;
    } else if (flag == "--line-timeout") {
      options.connection.frame_timeout =
          std::chrono::milliseconds(std::strtoul(argv[i + 1], nullptr, 10));
    } else {
      return usage(argv[0]);
    }
  }
  if (!have_listen || argc % 2 == 0) {
    return usage(argv[0]);
  }

  wiregen::shutdown_signals signals;
  upper_handler handler;
  upper::server server(handler, options);
  if (const auto ec = server.listen(listen.host, listen.port)) {
    std::fprintf(stderr, "upper_server: cannot listen on %s:%u: %s\n", listen.host.c_str(),
                 listen.port, ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "upper_server: listening on %s:%u\n", listen.host.c_str(), server.port());
  signals.wait();
  server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  return 0;
}
