// The bench protocol's echo server: one EchoReply per EchoRequest, same seq
// and payload, in order. Serves until SIGINT or SIGTERM, then stops gracefully.
//
//   echo_server --listen 127.0.0.1:7000 [--threads N]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "echo.wiregen.h"

namespace {

class echo_handler final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    // EchoReply has the same fields as EchoRequest; reuse its buffers.
    reply_.set_seq(request.seq());
    reply_.set_payload(request.payload());
    session.send(reply_);
  }

 private:
  // One handler serves every connection, possibly on several threads at once.
  static thread_local bench::EchoReply reply_;
};

thread_local bench::EchoReply echo_handler::reply_;

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s --listen HOST:PORT [--threads N]\n", program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::host_port listen;
  bool have_listen = false;
  wiregen::server_options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && !wiregen::parse_host_port(argv[i + 1], listen)) {
      have_listen = true;
    } else if (flag == "--threads") {
      options.io_threads = std::strtoul(argv[i + 1], nullptr, 10);
    } else {
      return usage(argv[0]);
    }
  }
  if (!have_listen || argc % 2 == 0) {
    return usage(argv[0]);
  }

  wiregen::shutdown_signals signals;
  echo_handler handler;
  bench::server server(handler, options);
  if (const auto ec = server.listen(listen.host, listen.port)) {
    std::fprintf(stderr, "echo_server: cannot listen on %s:%u: %s\n", listen.host.c_str(),
                 listen.port, ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "echo_server: listening on %s:%u\n", listen.host.c_str(), server.port());
  signals.wait();
  const auto forced = server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  std::fprintf(stderr, "echo_server: stopped (%zu connection(s) forced)\n", forced);
  return 0;
}
