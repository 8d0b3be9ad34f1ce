// The bench protocol's echo server: one EchoReply per EchoRequest, same seq
// and payload, in order. Serves until SIGINT or SIGTERM, then stops gracefully.
// With --udp the same handler serves UDP instead: one frame per datagram,
// each reply to its request's sender.
//
//   echo_server --listen 127.0.0.1:7000 [--threads N] [--reuse-port] [--udp]
//               [--tls-cert chain.pem --tls-key key.pem]
//   echo_server --listen unix:/tmp/echo.sock [--socket-mode 0660]
//   echo_server --listen systemd        (sockets passed by systemd: LISTEN_FDS)
//   echo_server ... --log debug|info|warning|error [--log-format text|json]
//   echo_server ... --admin 127.0.0.1:9100   (GET /metrics, /healthz, /readyz)
//   echo_server ... --shutdown-delay 2000    (on SIGTERM: /readyz 503, serve 2 s, drain)
//
// --listen may be given several times, e.g. a TCP port and a Unix socket.
// --log writes the runtime's records at that level and above to stderr
// (docs/operations.md), as text lines or JSON Lines.
// --reuse-port lets several echo_server processes share the port
// (SO_REUSEPORT), one per core or more: bench/run.py serves 100,000
// connections that way.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wiregen/address.hpp>
#include <wiregen/log.hpp>
#include <wiregen/message_reuse.hpp>
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
    wiregen::release_if_large(reply_, request.payload().size());
  }

 private:
  // One handler serves every connection, possibly on several threads at once.
  static thread_local bench::EchoReply reply_;
};

thread_local bench::EchoReply echo_handler::reply_;

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s --listen HOST:PORT|unix:PATH|unix:@NAME|systemd ... [--threads N]\n"
               "          [--reuse-port] [--udp] [--tls-cert FILE --tls-key FILE]\n"
               "          [--socket-mode OCTAL] [--log LEVEL [--log-format text|json]]\n"
               "          [--admin HOST:PORT] [--shutdown-delay MS] [--no-metrics]\n"
               "          [--first-frame-timeout MS]\n",
               program);
  return 2;
}

int serve_udp(echo_handler& handler, const wiregen::socket_address& listen,
              wiregen::shutdown_signals& signals) {
  bench::datagram_server server(handler);
  if (const auto ec = server.bind(listen.host, listen.port)) {
    std::fprintf(stderr, "echo_server: cannot bind udp %s:%u: %s\n", listen.host.c_str(),
                 listen.port, ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "echo_server: udp listening on %s:%u\n", listen.host.c_str(), server.port());
  signals.wait();
  server.stop();
  std::fprintf(stderr, "echo_server: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Messages here may be large now and then. glibc raises its mmap threshold
  // each time it frees a large block, and then keeps later large blocks (a
  // 1 MiB payload's string) in its heap after they are freed; a fixed
  // threshold hands them back to the system (docs/runtime.md, section 9a).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  std::vector<wiregen::socket_address> listens;
  bool from_systemd = false;
  bool udp = false;
  std::string tls_cert;
  std::string tls_key;
  std::optional<wiregen::log_level> log_level;
  auto log_format = wiregen::log_format::text;
  wiregen::server_options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const bool has_value = i + 1 < argc;
    wiregen::socket_address address;
    if (flag == "--udp") {
      udp = true;
    } else if (flag == "--reuse-port") {
      options.reuse_port = true;
    } else if (flag == "--listen" && has_value && std::string_view(argv[i + 1]) == "systemd") {
      from_systemd = true;
      ++i;
    } else if (flag == "--listen" && has_value &&
               !wiregen::parse_socket_address(argv[++i], address)) {
      listens.push_back(std::move(address));
    } else if (flag == "--threads" && has_value) {
      options.io_threads = std::strtoul(argv[++i], nullptr, 10);
    } else if (flag == "--socket-mode" && has_value) {
      options.unix_socket.mode = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 8));
    } else if (flag == "--tls-cert" && has_value) {
      tls_cert = argv[++i];
    } else if (flag == "--tls-key" && has_value) {
      tls_key = argv[++i];
    } else if (flag == "--admin" && has_value &&
               !wiregen::parse_socket_address(argv[++i], address) && !address.is_unix()) {
      options.admin = std::move(address);
    } else if (flag == "--first-frame-timeout" && has_value) {
      // 0 lets a peer connect and wait before its first frame (30 s by default).
      options.connection.first_frame_timeout =
          std::chrono::milliseconds(std::strtoul(argv[++i], nullptr, 10));
    } else if (flag == "--no-metrics") {
      options.message_metrics = false;  // for measuring what they cost
    } else if (flag == "--shutdown-delay" && has_value) {
      // On SIGTERM: serve on with /readyz at 503 this long, then drain.
      options.shutdown_delay = std::chrono::milliseconds(std::strtoul(argv[++i], nullptr, 10));
    } else if (flag == "--log" && has_value) {
      log_level = wiregen::log_level_from_string(argv[++i]);
      if (!log_level) {
        return usage(argv[0]);
      }
    } else if (flag == "--log-format" && has_value) {
      const std::string_view format = argv[++i];
      if (format != "text" && format != "json") {
        return usage(argv[0]);
      }
      log_format = format == "json" ? wiregen::log_format::json : wiregen::log_format::text;
    } else {
      return usage(argv[0]);
    }
  }
  if ((listens.empty() && !from_systemd) || tls_cert.empty() != tls_key.empty()) {
    return usage(argv[0]);
  }
  if (log_level) {
    options.logger = log_format == wiregen::log_format::json ? wiregen::json_logger(*log_level)
                                                             : wiregen::text_logger(*log_level);
  }
  if (!tls_cert.empty()) {
    options.tls.emplace();
    options.tls->certificate_chain_file = tls_cert;
    options.tls->private_key_file = tls_key;
  }

  wiregen::shutdown_signals signals;
  echo_handler handler;
  if (udp) {
    if (listens.size() != 1 || listens.front().is_unix()) {
      return usage(argv[0]);
    }
    return serve_udp(handler, listens.front(), signals);
  }
  bench::server server(handler, options);
  if (from_systemd) {
    if (const auto ec = server.listen_systemd()) {
      std::fprintf(stderr, "echo_server: no sockets from systemd: %s\n", ec.message().c_str());
      return 1;
    }
  }
  for (const auto& address : listens) {
    if (const auto ec = server.listen(address)) {
      std::fprintf(stderr, "echo_server: cannot listen on %s: %s\n", address.to_string().c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  for (const auto& address : server.local_addresses()) {
    std::fprintf(stderr, "echo_server: listening on %s%s\n", address.to_string().c_str(),
                 tls_cert.empty() ? "" : " (TLS)");
  }
  if (const auto admin = server.admin_address()) {
    std::fprintf(stderr, "echo_server: admin on http://%s/\n", admin->to_string().c_str());
  }
  signals.wait();
  const auto forced = server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  std::fprintf(stderr, "echo_server: stopped (%zu connection(s) forced)\n", forced);
  return 0;
}
