// The PROXY protocol: the parser on exact bytes, the server over loopback
// with hand-written headers, and behind a real HAProxy (send-proxy and
// send-proxy-v2), plain and with TLS passed through.
#include "wiregen/proxy_protocol.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/haproxy.hpp"
#include "support/raw_peer.hpp"
#include "support/test_certs.hpp"

using namespace std::chrono_literals;
namespace pp = wiregen::proxy_protocol;
using wiregen::test::reply_counter;

namespace {

std::string v2_tcp4(const std::uint8_t (&src)[4], const std::uint8_t (&dst)[4], std::uint16_t sport,
                    std::uint16_t dport, std::uint8_t command = 0x21) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(command);
  h += '\x11';  // TCP over IPv4
  h += std::string("\x00\x0c", 2);
  for (auto b : src)
    h += static_cast<char>(b);
  for (auto b : dst)
    h += static_cast<char>(b);
  h += static_cast<char>(sport >> 8);
  h += static_cast<char>(sport & 0xFF);
  h += static_cast<char>(dport >> 8);
  h += static_cast<char>(dport & 0xFF);
  return h;
}

/// Takes the header one exact step at a time, as the connection does.
std::error_code take(const std::string& wire, pp::header& out, std::size_t& taken) {
  std::vector<std::uint8_t> have;
  std::error_code ec;
  for (std::size_t need = pp::bytes_needed(have, ec); !ec && need > 0;
       need = pp::bytes_needed(have, ec)) {
    if (have.size() + need > wire.size()) {
      return std::make_error_code(std::errc::message_size);  // ran out of input
    }
    have.insert(have.end(), wire.begin() + static_cast<long>(have.size()),
                wire.begin() + static_cast<long>(have.size() + need));
  }
  taken = have.size();
  return ec ? ec : pp::parse(have, out);
}

class address_recorder final : public bench::server_handler {
 public:
  void on_connected(bench::server_session& session) override {
    events.update([&] { addresses.push_back(session.remote_address()); });
  }
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  }
  void on_refused(const asio::ip::tcp::endpoint&, std::error_code reason) override {
    events.update([&] { refused.push_back(reason); });
  }
  wiregen::test::waiter events;
  std::vector<std::string> addresses;
  std::vector<std::error_code> refused;
};

wiregen::server_options behind_proxy(std::vector<std::string> trusted = {"127.0.0.1"}) {
  auto options = wiregen::test::with_threads(1);
  options.proxy_protocol.enabled = true;
  options.proxy_protocol.trusted_proxies = std::move(trusted);
  return options;
}

std::string echo_frame(std::uint64_t seq) {
  bench::EchoRequest request;
  request.set_seq(seq);
  std::string frame;
  REQUIRE_FALSE(bench::codec::append_frame(frame, 1, request));
  return frame;
}

}  // namespace

TEST_CASE("proxy protocol: v1 and v2 headers parse, taking exactly their own bytes",
          "[proxy][parser]") {
  pp::header h;
  std::size_t taken = 0;
  const std::string v1 = "PROXY TCP4 203.0.113.9 192.0.2.1 4242 7000\r\n";
  REQUIRE_FALSE(take(v1 + "FRAMEBYTES", h, taken));
  CHECK(taken == v1.size());
  CHECK_FALSE(h.local);
  CHECK(h.source == asio::ip::tcp::endpoint(asio::ip::make_address("203.0.113.9"), 4242));
  CHECK(h.destination.port() == 7000);

  REQUIRE_FALSE(take("PROXY TCP6 2001:db8::7 2001:db8::1 65535 443\r\n", h, taken));
  CHECK(h.source.address() == asio::ip::make_address("2001:db8::7"));
  CHECK(h.source.port() == 65535);

  REQUIRE_FALSE(take("PROXY UNKNOWN\r\n", h, taken));
  CHECK(h.local);

  const std::uint8_t src[4] = {198, 51, 100, 22};
  const std::uint8_t dst[4] = {127, 0, 0, 1};
  const std::string v2 = v2_tcp4(src, dst, 35646, 80);
  REQUIRE_FALSE(take(v2 + "\x16\x03\x01", h, taken));  // a TLS record follows
  CHECK(taken == 28);
  CHECK(h.source == asio::ip::tcp::endpoint(asio::ip::make_address("198.51.100.22"), 35646));

  REQUIRE_FALSE(take(v2_tcp4(src, dst, 1, 2, 0x20), h, taken));  // LOCAL
  CHECK(h.local);
}

TEST_CASE("proxy protocol: malformed headers are rejected", "[proxy][parser]") {
  pp::header h;
  std::size_t taken = 0;
  const std::uint8_t src[4] = {1, 2, 3, 4};
  for (const std::string& bad :
       {std::string("GET / HTTP/1.1\r\n"), std::string("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
        std::string("PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n"),
        std::string("PROXY TCP4 ::1 ::1 1 2\r\n"),
        std::string("PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n"),
        std::string("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"),
        "PROXY TCP4 " + std::string(120, '1') + "\r\n", v2_tcp4(src, src, 1, 2, 0x13),
        v2_tcp4(src, src, 1, 2, 0x31)}) {
    INFO(bad);
    CHECK(take(bad, h, taken) == wiregen::error::bad_proxy_header);
  }
}

TEST_CASE("proxy protocol: trusted networks match addresses and prefixes", "[proxy][parser]") {
  std::vector<pp::network> networks;
  std::string bad;
  REQUIRE_FALSE(pp::parse_networks({"10.0.0.0/8", "192.0.2.7", "fd00::/8"}, networks, bad));
  auto trusted = [&](const char* text) {
    const auto address = asio::ip::make_address(text);
    return std::any_of(networks.begin(), networks.end(),
                       [&](const auto& n) { return n.contains(address); });
  };
  CHECK(trusted("10.200.3.4"));
  CHECK(trusted("192.0.2.7"));
  CHECK_FALSE(trusted("192.0.2.8"));
  CHECK(trusted("fd12::1"));
  CHECK(trusted("::ffff:10.1.1.1"));  // v4-mapped
  CHECK_FALSE(trusted("11.0.0.1"));
  // A v4-mapped network is the IPv4 network it maps.
  REQUIRE_FALSE(pp::parse_networks({"::ffff:10.0.0.0/104"}, networks, bad));
  CHECK(trusted("10.9.9.9"));
  CHECK_FALSE(trusted("11.0.0.1"));
  CHECK(pp::parse_networks({"::ffff:10.0.0.0/64"}, networks, bad) == wiregen::error::bad_address);
  CHECK(pp::parse_networks({"10.0.0.0/33"}, networks, bad) == wiregen::error::bad_address);
  CHECK(bad == "10.0.0.0/33");
}

TEST_CASE("proxy protocol: the session reports the address the header names", "[runtime][proxy]") {
  address_recorder handler;
  bench::server server(handler, behind_proxy());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer balancer(server.port());
  balancer.write("PROXY TCP4 203.0.113.9 127.0.0.1 4242 7000\r\n" + echo_frame(5));
  std::error_code ec;
  (void)balancer.read(bench::framing::header_size + 2, ec);  // the echo reply
  CHECK_FALSE(ec);
  REQUIRE(handler.events.wait([&] { return handler.addresses.size() == 1; }));
  CHECK(handler.addresses[0] == "203.0.113.9:4242");
}

TEST_CASE("proxy protocol: the per-address limit counts an IPv6 client's whole /64",
          "[runtime][proxy][limits]") {
  // One host is given a /64 and may take any address in it: counted one
  // address at a time, it would rotate past the limit.
  address_recorder handler;
  auto options = behind_proxy();
  options.max_connections_per_address = 1;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  auto served = [&](const std::string& client, std::uint64_t seq) {
    auto peer = std::make_unique<wiregen::test::raw_peer>(server.port());
    peer->write("PROXY TCP6 " + client + " 2001:db8::1 4242 443\r\n" + echo_frame(seq));
    std::error_code ec;
    (void)peer->read(bench::framing::header_size + 2, ec);  // the echo, or the close
    return std::make_pair(std::move(peer), !ec);
  };
  auto first = served("2001:db8:0:7::1", 1);
  CHECK(first.second);
  auto same_64 = served("2001:db8:0:7:ffff::2", 2);  // another address of the same /64
  CHECK_FALSE(same_64.second);
  REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
  CHECK(handler.refused[0] == wiregen::error::too_many_from_address);
  auto next_64 = served("2001:db8:0:8::1", 3);  // the neighbouring /64 is someone else
  CHECK(next_64.second);
}

TEST_CASE("proxy protocol: a header from an untrusted address, or a bad one, closes the connection",
          "[runtime][proxy]") {
  SECTION("untrusted") {
    address_recorder handler;
    bench::server server(handler, behind_proxy({"10.0.0.0/8"}));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    wiregen::test::raw_peer forger(server.port());
    forger.write("PROXY TCP4 203.0.113.9 127.0.0.1 4242 7000\r\n");
    CHECK(forger.read_until_closed());
    REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
    CHECK(handler.refused[0] == wiregen::error::untrusted_proxy);
  }
  SECTION("malformed") {
    address_recorder handler;
    bench::server server(handler, behind_proxy());
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    wiregen::test::raw_peer confused(server.port());
    confused.write(echo_frame(1));  // no header at all
    CHECK(confused.read_until_closed());
    REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
    CHECK(handler.refused[0] == wiregen::error::bad_proxy_header);
    CHECK(handler.addresses.empty());
  }
  SECTION("a header that stops halfway is cut off by the handshake deadline") {
    address_recorder handler;
    auto options = behind_proxy();
    options.connection.handshake_timeout = 200ms;
    bench::server server(handler, options);
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    const auto began = std::chrono::steady_clock::now();
    wiregen::test::raw_peer stalled(server.port());
    stalled.write("PROXY TCP4 203.0.113.9 ");
    CHECK(stalled.read_until_closed());
    REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
    CHECK(handler.refused[0] == wiregen::error::handshake_timeout);
    CHECK(std::chrono::steady_clock::now() - began >= 200ms);
    CHECK(handler.addresses.empty());
  }
  SECTION("enabled without anyone to trust") {
    address_recorder handler;
    bench::server server(handler, behind_proxy({}));
    CHECK(server.listen("127.0.0.1", 0) == wiregen::error::untrusted_proxy);
  }
}

TEST_CASE("proxy protocol: behind a real HAProxy, v1 and v2 report the client's address",
          "[runtime][proxy][haproxy]") {
  address_recorder handler;
  bench::server server(handler, behind_proxy());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::haproxy balancer(server.port());

  for (const auto port : {balancer.v1_port, balancer.v2_port}) {
    reply_counter counter;
    wiregen::client_options options;
    // HAProxy may still be starting: the client's own retry waits for it.
    options.retry.attempts = 100;
    options.retry.initial_backoff = 20ms;
    options.retry.max_backoff = 100ms;
    bench::client client(counter, options);
    REQUIRE_FALSE(client.connect("127.0.0.1", port));
    REQUIRE_FALSE(client.send(bench::EchoRequest()));
    REQUIRE(counter.wait_received(1));
    // The server saw this client's own address and port, not HAProxy's.
    const auto mine = client.session().connection()->local_endpoint();
    const std::string expected = "127.0.0.1:" + std::to_string(mine.port());
    REQUIRE(handler.events.wait([&] {
      return std::find(handler.addresses.begin(), handler.addresses.end(), expected) !=
             handler.addresses.end();
    }));
    client.stop(wiregen::stop_mode::graceful_wait);
  }
  CHECK(handler.refused.empty());
}

TEST_CASE("proxy protocol: HAProxy in front of a TLS server, TLS passed through",
          "[runtime][proxy][haproxy][tls]") {
  address_recorder handler;
  auto options = behind_proxy();
  options.tls.emplace();
  options.tls->certificate_chain_file = wiregen::test::certs().server_chain;
  options.tls->private_key_file = wiregen::test::certs().server_key;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::haproxy balancer(server.port());

  reply_counter counter;
  wiregen::client_options client_options;
  client_options.retry.attempts = 100;
  client_options.retry.initial_backoff = 20ms;
  client_options.tls.emplace();
  client_options.tls->ca_file = wiregen::test::certs().ca;
  bench::client client(counter, client_options);
  REQUIRE_FALSE(client.connect("localhost", balancer.v2_port));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(counter.wait_received(1));
  const auto mine = client.session().connection()->local_endpoint();
  REQUIRE(handler.events.wait([&] { return !handler.addresses.empty(); }));
  CHECK(handler.addresses[0] == "127.0.0.1:" + std::to_string(mine.port()));
}
