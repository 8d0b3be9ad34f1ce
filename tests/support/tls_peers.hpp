#pragma once

// TLS peers for the bench protocol over loopback: a server handler that
// records refusals (failed handshakes), options with the test certificates,
// and one echo.
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/options.hpp"
#include "support/test_certs.hpp"
#include "support/waiter.hpp"

namespace wiregen::test {

/// A recording server that also records refusals (failed handshakes).
class tls_server_handler final : public bench::server_handler {
 public:
  void on_connected(bench::server_session& session) override {
    events.update([&] { sessions.push_back(session); });
  }
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  }
  void on_refused(const asio::ip::tcp::endpoint&, std::error_code reason) override {
    events.update([&] { refused.push_back(reason); });
  }
  bool wait_refused(std::size_t n) {
    return events.wait([&] { return refused.size() >= n; });
  }

  waiter events;
  std::vector<bench::server_session> sessions;
  std::vector<std::error_code> refused;
};

inline wiregen::tls_server_options server_tls() {
  wiregen::tls_server_options tls;
  tls.certificate_chain_file = certs().server_chain;
  tls.private_key_file = certs().server_key;
  return tls;
}

inline wiregen::server_options tls_server(wiregen::tls_server_options tls = server_tls()) {
  auto options = wiregen::test::with_threads(1);
  options.tls = std::move(tls);
  return options;
}

inline wiregen::client_options tls_client() {
  wiregen::client_options options;
  options.tls.emplace();
  options.tls->ca_file = certs().ca;
  return options;
}

/// A TLS client presenting a certificate (mutual TLS).
inline wiregen::client_options tls_client_with(const std::string& chain, const std::string& key) {
  auto options = tls_client();
  options.tls->certificate_chain_file = chain;
  options.tls->private_key_file = key;
  return options;
}

/// Sends request `seq` and waits for its echo.
inline bool tls_echoes(bench::client& client, reply_counter& counter, std::uint64_t seq) {
  bench::EchoRequest request;
  request.set_seq(seq);
  request.set_payload("over tls");
  return !client.send(request) && counter.wait_received(seq + 1);
}

}  // namespace wiregen::test
