// TLS over loopback with certificates made at test time: versions, mutual
// TLS and the peer's identity, hostname verification, the handshake
// timeout, certificate reload, ALPN and configuration errors.
#include <asio/ssl/error.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"
#include "support/test_certs.hpp"
#include "support/tls_peers.hpp"

using namespace std::chrono_literals;
using wiregen::test::certs;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;
using wiregen::test::server_tls;
using wiregen::test::tls_client;
using wiregen::test::tls_client_with;
using wiregen::test::tls_echoes;
using wiregen::test::tls_server;
using wiregen::test::tls_server_handler;

TEST_CASE("tls: handshake and echo over TLS 1.2 and TLS 1.3", "[runtime][tls]") {
  const auto version = GENERATE(wiregen::tls_version::tls1_2, wiregen::tls_version::tls1_3);
  tls_server_handler handler;
  bench::server server(handler, tls_server());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  auto options = tls_client();
  options.tls->min_version = options.tls->max_version = version;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("localhost", server.port()));
  const auto* info = client.session().connection()->tls();
  REQUIRE(info != nullptr);
  CHECK(info->version == (version == wiregen::tls_version::tls1_2 ? "TLSv1.2" : "TLSv1.3"));
  CHECK(info->peer_verified);
  CHECK(info->peer_subject == "CN=localhost");
  for (std::uint64_t seq = 0; seq < 50; ++seq) {
    REQUIRE(tls_echoes(client, counter, seq));
  }
  CHECK(counter.in_order);
  client.stop(wiregen::stop_mode::graceful_wait);
  CHECK(server.stop(wiregen::stop_mode::graceful_wait) == 0);
}

TEST_CASE("tls: a server that requires client certificates refuses a client without one",
          "[runtime][tls][mtls]") {
  auto tls = server_tls();
  tls.client_ca_file = certs().ca;
  tls.client_certificates_mode = wiregen::client_certificates::required;
  tls_server_handler handler;
  bench::server server(handler, tls_server(tls));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter anonymous_counter;
  bench::client anonymous(anonymous_counter, tls_client());
  // Under TLS 1.3 the client may finish its half before the server's
  // verdict arrives; either way it is never served.
  const auto ec = anonymous.connect("localhost", server.port());
  REQUIRE(handler.wait_refused(1));
  CHECK(handler.refused[0].category() == asio::error::get_ssl_category());
  CHECK(handler.sessions.empty());
  if (!ec) {
    REQUIRE(anonymous_counter.events.wait([&] { return !anonymous_counter.reasons.empty(); }));
  }

  reply_counter alice_counter;
  const auto alice_options = tls_client_with(certs().client_chain, certs().client_key);
  bench::client alice(alice_counter, alice_options);
  REQUIRE_FALSE(alice.connect("localhost", server.port()));
  REQUIRE(tls_echoes(alice, alice_counter, 0));
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 1; }));
  // The handler sees who the client is.
  const auto* identity = handler.sessions[0].connection()->tls();
  REQUIRE(identity != nullptr);
  CHECK(identity->peer_certificate);
  CHECK(identity->peer_verified);
  CHECK(identity->peer_subject == "O=wiregen tests,CN=alice");
  CHECK(identity->peer_uris == std::vector<std::string>{"spiffe://wiregen/alice"});
  CHECK(identity->peer_dns_names == std::vector<std::string>{"alice.clients"});
}

TEST_CASE("tls: a client that verifies rejects a server with the wrong hostname",
          "[runtime][tls]") {
  auto tls = server_tls();
  tls.certificate_chain_file = certs().wrong_host_chain;
  tls.private_key_file = certs().wrong_host_key;
  tls_server_handler handler;
  bench::server server(handler, tls_server(tls));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter counter;
  bench::client client(counter, tls_client());
  const auto ec = client.connect("localhost", server.port());
  CHECK(ec.category() == asio::error::get_ssl_category());
  CHECK(counter.connected == 0);

  // Skipping verification (tests only) connects to the same server.
  reply_counter trusting_counter;
  auto trusting = tls_client();
  trusting.tls->insecure_skip_verify = true;
  bench::client trusting_client(trusting_counter, trusting);
  REQUIRE_FALSE(trusting_client.connect("localhost", server.port()));
  CHECK(tls_echoes(trusting_client, trusting_counter, 0));
}

TEST_CASE("tls: a client that never completes its handshake is cut off by the timeout",
          "[runtime][tls]") {
  auto options = tls_server();
  options.connection.handshake_timeout = 200ms;
  tls_server_handler handler;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto start = std::chrono::steady_clock::now();
  wiregen::test::raw_peer stalled(server.port());  // connects, says nothing
  CHECK(stalled.read_until_closed());
  REQUIRE(handler.wait_refused(1));
  CHECK(handler.refused[0] == wiregen::error::handshake_timeout);
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(handler.sessions.empty());
  // It leaves the count right after on_refused returns.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.connection_count() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(server.connection_count() == 0);
}

TEST_CASE("tls: a reloaded certificate is used by new connections while old ones go on",
          "[runtime][tls][reload]") {
  tls_server_handler handler;
  bench::server server(handler, tls_server());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter old_counter;
  bench::client old_client(old_counter, tls_client());
  REQUIRE_FALSE(old_client.connect("localhost", server.port()));
  CHECK(old_client.session().connection()->tls()->peer_subject == "CN=localhost");

  auto reloaded = server_tls();
  reloaded.certificate_chain_file = certs().reloaded_chain;
  reloaded.private_key_file = certs().reloaded_key;
  REQUIRE_FALSE(server.reload_tls(reloaded));
  // A reload that fails keeps what works.
  auto broken = reloaded;
  broken.private_key_file = certs().dir + "/missing.key";
  CHECK(server.reload_tls(broken));

  reply_counter new_counter;
  bench::client new_client(new_counter, tls_client());
  REQUIRE_FALSE(new_client.connect("localhost", server.port()));
  CHECK(new_client.session().connection()->tls()->peer_subject == "CN=reloaded.localhost");
  CHECK(tls_echoes(new_client, new_counter, 0));
  CHECK(tls_echoes(old_client, old_counter, 0));  // the old connection keeps its certificate
}

TEST_CASE("tls: ALPN agrees on a protocol, or refuses a client offering none of the server's",
          "[runtime][tls]") {
  auto tls = server_tls();
  tls.alpn = {"wiregen-bench/1"};
  tls_server_handler handler;
  bench::server server(handler, tls_server(tls));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter counter;
  auto options = tls_client();
  options.tls->alpn = {"h2", "wiregen-bench/1"};
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("localhost", server.port()));
  CHECK(client.session().connection()->tls()->alpn == "wiregen-bench/1");

  reply_counter other_counter;
  auto other = tls_client();
  other.tls->alpn = {"h2"};
  bench::client other_client(other_counter, other);
  CHECK(other_client.connect("localhost", server.port()));
  REQUIRE(handler.wait_refused(1));
}

TEST_CASE("tls: configuration errors are reported before the port is taken",
          "[runtime][tls][config]") {
  recording_server handler;
  SECTION("no certificate") {
    bench::server server(handler, tls_server(wiregen::tls_server_options{}));
    CHECK(server.listen("127.0.0.1", 0) == wiregen::error::tls_not_configured);
  }
  SECTION("a key file that does not exist") {
    auto tls = server_tls();
    tls.private_key_file = certs().dir + "/missing.key";
    bench::server server(handler, tls_server(tls));
    CHECK(server.listen("127.0.0.1", 0));
  }
  SECTION("client certificates required, but no CA to check them against") {
    auto tls = server_tls();
    tls.client_certificates_mode = wiregen::client_certificates::required;
    bench::server server(handler, tls_server(tls));
    CHECK(server.listen("127.0.0.1", 0) == wiregen::error::tls_not_configured);
  }
  SECTION("a cipher list OpenSSL does not know") {
    auto tls = server_tls();
    tls.ciphers = "NOT-A-CIPHER";
    bench::server server(handler, tls_server(tls));
    CHECK(server.listen("127.0.0.1", 0));
  }
  SECTION("a client with half an identity") {
    reply_counter counter;
    auto options = tls_client();
    options.tls->certificate_chain_file = certs().client_chain;
    bench::client client(counter, options);
    CHECK(client.connect("localhost", 1) == wiregen::error::tls_not_configured);
  }
}

TEST_CASE("tls: a plain client cannot talk to a TLS server; a plain server serves it",
          "[runtime][tls]") {
  tls_server_handler handler;
  bench::server server(handler, tls_server());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client plain(counter);
  REQUIRE_FALSE(plain.connect("127.0.0.1", server.port()));  // TCP connects...
  REQUIRE_FALSE(plain.send(bench::EchoRequest()));
  REQUIRE(handler.wait_refused(1));  // ...but its bytes are no handshake
  CHECK(handler.sessions.empty());

  tls_server_handler plain_handler;
  bench::server plain_server(plain_handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(plain_server.listen("127.0.0.1", 0));
  reply_counter plain_counter;
  bench::client plain_client(plain_counter);
  REQUIRE_FALSE(plain_client.connect("127.0.0.1", plain_server.port()));
  CHECK(tls_echoes(plain_client, plain_counter, 0));
  CHECK(plain_client.session().connection()->tls() == nullptr);
}

TEST_CASE("tls: an auto-reconnecting client keeps redialing through refused handshakes",
          "[runtime][tls][client]") {
  // A server that turns connections away (by on_accept, before TLS) for a while.
  class moody final : public bench::server_handler {
   public:
    std::atomic<bool> admit{true};
    bool on_accept(const asio::ip::tcp::endpoint&) override { return admit.load(); }
    void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
      bench::EchoReply reply;
      reply.set_seq(request.seq());
      (void)session.send(reply);
    }
    void on_connected(bench::server_session& session) override {
      events.update([&] { sessions.push_back(session); });
    }
    void on_refused(const asio::ip::tcp::endpoint&, std::error_code) override {
      events.update([&] { ++refused; });
    }
    wiregen::test::waiter events;
    std::vector<bench::server_session> sessions;
    int refused = 0;
  } handler;
  bench::server server(handler, tls_server());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter counter;
  auto options = tls_client();
  options.auto_reconnect = true;
  options.retry.initial_backoff = 10ms;
  options.retry.max_backoff = 50ms;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("localhost", server.port()));
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 1; }));

  handler.admit = false;
  handler.events.read([&] { return handler.sessions[0]; }).stop(wiregen::stop_mode::immediate);
  // Each redial's handshake is cut off; the client goes on, with backoff.
  REQUIRE(handler.events.wait([&] { return handler.refused >= 3; }));
  CHECK(counter.events.wait([&] { return counter.dial_errors.size() >= 3; }));
  handler.admit = true;
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 2; }));
  REQUIRE(counter.events.wait([&] { return counter.connected == 2; }));
  REQUIRE(tls_echoes(client, counter, 0));
}

TEST_CASE(
    "tls: handshakes in progress are bounded by max_tls_handshakes; a freed slot takes the "
    "next one",
    "[runtime][tls][limits]") {
  CHECK(wiregen::server_options{}.max_tls_handshakes == 1024);
  auto options = tls_server();
  options.max_tls_handshakes = 2;
  tls_server_handler handler;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  // Two peers that connect and never start their handshake take both
  // slots; the kernel hands connections over in the order they came.
  auto first = std::make_unique<wiregen::test::raw_peer>(server.port());
  wiregen::test::raw_peer second(server.port());
  wiregen::test::raw_peer third(server.port());
  CHECK(third.read_until_closed());
  REQUIRE(handler.wait_refused(1));
  CHECK(handler.refused[0] == wiregen::error::too_many_handshakes);

  // One of them leaves: its slot is free once the server has seen it go.
  first.reset();
  REQUIRE(handler.wait_refused(2));
  reply_counter counter;
  bench::client client(counter, tls_client());
  REQUIRE_FALSE(client.connect("localhost", server.port()));
  CHECK(tls_echoes(client, counter, 0));
  // An open connection holds no slot: the next stalled peer gets the last.
  wiregen::test::raw_peer fourth(server.port());
  wiregen::test::raw_peer fifth(server.port());
  CHECK(fifth.read_until_closed());
  REQUIRE(handler.wait_refused(3));
  CHECK(handler.refused[2] == wiregen::error::too_many_handshakes);
}
