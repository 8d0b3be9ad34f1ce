// A chat server: users log in, join rooms and say things; every line said in
// a room is pushed to everyone in it. Prints what happens, one line per event.
//
//   chat_server --listen 127.0.0.1:7100 [--tls-cert chain.pem --tls-key key.pem]
//   chat_server --listen unix:/tmp/chat.sock
//
// With TLS, SIGHUP reloads the certificate and key: new connections use the
// new ones, open connections keep theirs.
#include <cstdio>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "chat_room.hpp"

int main(int argc, char** argv) {
  wiregen::socket_address listen;
  bool have_listen = false;
  std::string tls_cert;
  std::string tls_key;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && !wiregen::parse_socket_address(argv[i + 1], listen)) {
      have_listen = true;
    } else if (flag == "--tls-cert") {
      tls_cert = argv[i + 1];
    } else if (flag == "--tls-key") {
      tls_key = argv[i + 1];
    } else {
      have_listen = false;
      break;
    }
  }
  if (!have_listen || argc % 2 == 0 || tls_cert.empty() != tls_key.empty()) {
    std::fprintf(stderr,
                 "usage: %s --listen HOST:PORT|unix:PATH [--tls-cert FILE --tls-key FILE]\n",
                 argv[0]);
    return 2;
  }
  wiregen::shutdown_signals signals;
  chat_room handler([](const std::string& event) {
    std::printf("chat_server: %s\n", event.c_str());
    std::fflush(stdout);
  });
  wiregen::server_options options;
  // A member more than 256 KiB behind is dropped (see chat_room.hpp), and a
  // connection silent for ten minutes is closed.
  options.connection.max_queued_bytes = 256 * 1024;
  options.connection.low_watermark = 64 * 1024;
  options.connection.read_idle_timeout = std::chrono::minutes(10);
  if (!tls_cert.empty()) {
    options.tls.emplace();
    options.tls->certificate_chain_file = tls_cert;
    options.tls->private_key_file = tls_key;
  }
  chat::server server(handler, options);
  if (const auto ec = server.listen(listen)) {
    std::fprintf(stderr, "chat_server: cannot listen on %s: %s\n", listen.to_string().c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::printf("chat_server: listening on %s%s\n",
              server.local_addresses().front().to_string().c_str(),
              tls_cert.empty() ? "" : " (TLS)");
  std::fflush(stdout);
  if (!tls_cert.empty()) {
    signals.on_reload([&] {
      const auto ec = server.reload_tls();
      std::printf(
          "chat_server: SIGHUP: %s\n",
          ec ? ("certificate reload failed: " + ec.message()).c_str() : "certificate reloaded");
      std::fflush(stdout);
    });
  }
  signals.wait();
  // Graceful: stop accepting, let every member's queue drain, then close;
  // whoever is not done within 5 s is cut off and counted.
  const auto forced = server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  std::printf("chat_server: stopped (%zu connection(s) forced)\n", forced);
  return 0;
}
