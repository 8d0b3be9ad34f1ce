// What a TLS server lets a client negotiate, over loopback: its version
// bounds, key exchange groups and cipher lists, optional client
// certificates, and a refused renegotiation.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <asio/ssl/error.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>

#include "support/bench_peers.hpp"
#include "support/tls_peers.hpp"

using wiregen::tls_version;
using wiregen::test::certs;
using wiregen::test::reply_counter;
using wiregen::test::server_tls;
using wiregen::test::tls_client;
using wiregen::test::tls_client_with;
using wiregen::test::tls_echoes;
using wiregen::test::tls_server;
using wiregen::test::tls_server_handler;

namespace {

/// Dials `server` with `options`: the handshake must fail on both sides, the
/// client's connect with an error and the server refusing the connection
/// with an OpenSSL reason.
bool handshake_fails(bench::server& server, tls_server_handler& handler,
                     wiregen::client_options options) {
  const auto refused_before = handler.events.read([&] { return handler.refused.size(); });
  reply_counter counter;
  bench::client client(counter, std::move(options));
  const auto dialed = client.connect("localhost", server.port());
  INFO("connect: " << dialed.message());
  if (!dialed || !handler.wait_refused(refused_before + 1)) {
    return false;
  }
  const auto reason = handler.events.read([&] { return handler.refused[refused_before]; });
  INFO("refused: " << reason.message());
  return reason.category() == asio::error::get_ssl_category();
}

/// Dials `server` with `options` and echoes once; what was negotiated.
std::unique_ptr<wiregen::tls_info> handshake_succeeds(bench::server& server,
                                                      wiregen::client_options options) {
  reply_counter counter;
  bench::client client(counter, std::move(options));
  const auto dialed = client.connect("localhost", server.port());
  INFO("connect: " << dialed.message());
  if (dialed || !tls_echoes(client, counter, 0)) {
    return nullptr;
  }
  return std::make_unique<wiregen::tls_info>(*client.session().connection()->tls());
}

wiregen::client_options client_with(void (*adjust)(wiregen::tls_client_options&)) {
  auto options = tls_client();
  adjust(*options.tls);
  return options;
}

}  // namespace

TEST_CASE("tls policy: the server's version bounds refuse a client outside them",
          "[runtime][tls]") {
  SECTION("a server up to TLS 1.2 refuses a TLS-1.3-only client") {
    auto tls = server_tls();
    tls.max_version = tls_version::tls1_2;
    tls_server_handler handler;
    bench::server server(handler, tls_server(tls));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK(handshake_fails(server, handler,
                          client_with([](auto& c) { c.min_version = tls_version::tls1_3; })));
    const auto info = handshake_succeeds(server, tls_client());
    REQUIRE(info);
    CHECK(info->version == "TLSv1.2");
  }
  SECTION("a server from TLS 1.3 refuses a TLS-1.2-only client") {
    auto tls = server_tls();
    tls.min_version = tls_version::tls1_3;
    tls_server_handler handler;
    bench::server server(handler, tls_server(tls));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK(handshake_fails(server, handler,
                          client_with([](auto& c) { c.max_version = tls_version::tls1_2; })));
    const auto info = handshake_succeeds(server, tls_client());
    REQUIRE(info);
    CHECK(info->version == "TLSv1.3");
  }
}

TEST_CASE("tls policy: the server's groups and cipher lists decide what is negotiated",
          "[runtime][tls]") {
  SECTION("curves: X25519 only") {
    auto tls = server_tls();
    tls.curves = "X25519";
    tls_server_handler handler;
    bench::server server(handler, tls_server(tls));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK(handshake_fails(server, handler, client_with([](auto& c) { c.curves = "P-256"; })));
    CHECK(handshake_fails(server, handler, client_with([](auto& c) {
                            c.curves = "P-384";
                            c.max_version = tls_version::tls1_2;
                          })));
    CHECK(handshake_succeeds(server, client_with([](auto& c) { c.curves = "P-256:X25519"; })) !=
          nullptr);
  }
  SECTION("TLS 1.2 ciphers") {
    auto tls = server_tls();
    tls.max_version = tls_version::tls1_2;
    tls.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
    tls_server_handler handler;
    bench::server server(handler, tls_server(tls));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    const auto info = handshake_succeeds(server, tls_client());
    REQUIRE(info);
    CHECK(info->cipher == "ECDHE-ECDSA-CHACHA20-POLY1305");
    CHECK(handshake_fails(server, handler, client_with([](auto& c) {
                            c.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
                          })));
  }
  SECTION("TLS 1.3 cipher suites") {
    auto tls = server_tls();
    tls.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    tls_server_handler handler;
    bench::server server(handler, tls_server(tls));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    const auto info = handshake_succeeds(server, tls_client());
    REQUIRE(info);
    CHECK(info->cipher == "TLS_CHACHA20_POLY1305_SHA256");
    CHECK(handshake_fails(server, handler, client_with([](auto& c) {
                            c.min_version = tls_version::tls1_3;
                            c.ciphersuites = "TLS_AES_128_GCM_SHA256";
                          })));
  }
}

TEST_CASE("tls policy: optional client certificates serve clients without one and check the rest",
          "[runtime][tls][mtls]") {
  auto tls = server_tls();
  tls.client_ca_file = certs().ca;
  tls.client_certificates_mode = wiregen::client_certificates::optional;
  tls_server_handler handler;
  bench::server server(handler, tls_server(tls));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter anonymous_counter;
  bench::client anonymous(anonymous_counter, tls_client());
  REQUIRE_FALSE(anonymous.connect("localhost", server.port()));
  REQUIRE(tls_echoes(anonymous, anonymous_counter, 0));
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 1; }));
  const auto* nobody = handler.sessions[0].connection()->tls();
  REQUIRE(nobody != nullptr);
  CHECK_FALSE(nobody->peer_certificate);
  CHECK_FALSE(nobody->peer_verified);

  reply_counter alice_counter;
  const auto alice_options = tls_client_with(certs().client_chain, certs().client_key);
  bench::client alice(alice_counter, alice_options);
  REQUIRE_FALSE(alice.connect("localhost", server.port()));
  REQUIRE(tls_echoes(alice, alice_counter, 0));
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 2; }));
  const auto* identity = handler.sessions[1].connection()->tls();
  REQUIRE(identity != nullptr);
  CHECK(identity->peer_certificate);
  CHECK(identity->peer_verified);
  CHECK(identity->peer_subject == "O=wiregen tests,CN=alice");

  // A certificate no trusted CA signed is refused, not let in as anonymous.
  reply_counter mallory_counter;
  const auto mallory_options =
      tls_client_with(certs().untrusted_client_chain, certs().untrusted_client_key);
  bench::client mallory(mallory_counter, mallory_options);
  // Under TLS 1.3 the client may finish its half before the server's
  // verdict arrives; either way it is never served.
  const auto dialed = mallory.connect("localhost", server.port());
  REQUIRE(handler.wait_refused(1));
  CHECK(handler.refused[0].category() == asio::error::get_ssl_category());
  if (!dialed) {
    REQUIRE(mallory_counter.events.wait([&] { return !mallory_counter.reasons.empty(); }));
  }
  CHECK(handler.events.read([&] { return handler.sessions.size(); }) == 2);
}

TEST_CASE("tls policy: a TLS 1.2 client asking to renegotiate is refused; the server goes on",
          "[runtime][tls]") {
  tls_server_handler handler;
  bench::server server(handler, tls_server());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  // wiregen's client never renegotiates: OpenSSL by hand does.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                            SSL_CTX_free);
  REQUIRE(context);
  SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval five_seconds{5, 0};  // bounds every read below, should the server go silent
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  REQUIRE(SSL_connect(ssl.get()) == 1);
  CHECK(std::string(SSL_get_version(ssl.get())) == "TLSv1.2");

  // Served: EchoRequest{seq: 5} comes back as EchoReply{seq: 5}.
  const std::string request("\x00\x00\x00\x04\x00\x01\x08\x05", 8);
  REQUIRE(SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) == 8);
  char reply[8] = {};
  REQUIRE(SSL_read(ssl.get(), reply, sizeof reply) == 8);
  CHECK(std::string(reply, 8) == std::string("\x00\x00\x00\x04\x00\x02\x08\x05", 8));

  // The server answers a renegotiation's ClientHello with the
  // no_renegotiation alert: the new handshake never completes.
  REQUIRE(SSL_renegotiate(ssl.get()) == 1);
  const int renegotiated = SSL_do_handshake(ssl.get());
  INFO("SSL_do_handshake: " << renegotiated << ", "
                            << ERR_reason_error_string(ERR_peek_last_error()));
  CHECK(renegotiated != 1);
  CHECK(SSL_get_error(ssl.get(), renegotiated) == SSL_ERROR_SSL);
  ERR_clear_error();
  ssl.reset();
  ::close(fd);

  // Whatever became of that connection, the server serves the next client.
  reply_counter counter;
  bench::client client(counter, tls_client());
  REQUIRE_FALSE(client.connect("localhost", server.port()));
  CHECK(tls_echoes(client, counter, 0));
  CHECK(server.is_running());
}
