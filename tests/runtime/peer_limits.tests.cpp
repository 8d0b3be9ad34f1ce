// Per-peer protection over loopback: connections per source address, the
// accept rate, and the received-message rate (delay or close).
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"

using namespace std::chrono_literals;
using wiregen::test::reply_counter;

namespace {

class refusal_recorder final : public bench::server_handler {
 public:
  void on_connected(bench::server_session&) override {
    events.update([&] { ++connected; });
  }
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  }
  void on_refused(const asio::ip::tcp::endpoint&, std::error_code reason) override {
    events.update([&] { refused.push_back(reason); });
  }
  void on_closed(bench::server_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    events.update([&] { closed.push_back(reason); });
  }
  wiregen::test::waiter events;
  int connected = 0;
  std::vector<std::error_code> refused;
  std::vector<std::error_code> closed;
};

std::string requests(std::uint64_t n) {
  std::string bytes;
  for (std::uint64_t seq = 0; seq < n; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(bench::codec::append_frame(bytes, 1, request));
  }
  return bytes;
}

}  // namespace

TEST_CASE("limits: one source address holds at most max_connections_per_address",
          "[runtime][limits]") {
  refusal_recorder handler;
  auto options = wiregen::test::with_threads(1);
  options.max_connections_per_address = 2;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter a_counter, b_counter;
  bench::client a(a_counter), b(b_counter);
  REQUIRE_FALSE(a.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(b.connect("127.0.0.1", server.port()));
  REQUIRE(handler.events.wait([&] { return handler.connected == 2; }));

  wiregen::test::raw_peer third(server.port());
  CHECK(third.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
  CHECK(handler.refused[0] == wiregen::error::too_many_from_address);

  a.stop(wiregen::stop_mode::graceful_wait);
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  reply_counter c_counter;
  bench::client c(c_counter);
  REQUIRE_FALSE(c.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(c.send(bench::EchoRequest()));
  CHECK(c_counter.wait_received(1));
}

TEST_CASE("limits: connections faster than the accept rate are closed at once",
          "[runtime][limits]") {
  refusal_recorder handler;
  auto options = wiregen::test::with_threads(1);
  options.accept_rate = 1;   // one a second...
  options.accept_burst = 2;  // ...after a burst of two
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  std::vector<std::unique_ptr<wiregen::test::raw_peer>> peers;
  for (int i = 0; i < 4; ++i) {
    peers.push_back(std::make_unique<wiregen::test::raw_peer>(server.port()));
  }
  REQUIRE(handler.events.wait([&] { return handler.refused.size() + handler.connected >= 4; }));
  CHECK(handler.connected == 2);
  CHECK(handler.refused ==
        std::vector<std::error_code>(2, make_error_code(wiregen::error::accept_rate_exceeded)));
}

TEST_CASE("limits: a peer over the message rate is slowed down, and nothing is lost",
          "[runtime][limits]") {
  refusal_recorder handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.message_rate = 100;  // per second
  options.connection.message_burst = 10;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < 60; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(client.send(request));
  }
  REQUIRE(counter.wait_received(60));
  // 10 at once, then 50 at 100 a second.
  CHECK(std::chrono::steady_clock::now() - start >= 450ms);
  CHECK(counter.in_order);
  CHECK(handler.events.read([&] { return handler.closed.empty(); }));
}

TEST_CASE("limits: with the close action, a peer over the message rate is disconnected",
          "[runtime][limits]") {
  refusal_recorder handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.message_rate = 5;
  options.connection.message_burst = 3;
  options.connection.on_rate_exceeded = wiregen::rate_limit_action::close;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer flood(server.port());
  flood.write(requests(20));
  std::error_code ec;
  // The three allowed get their replies before the close: seq 0 (an empty
  // payload), 1 and 2 (two bytes each).
  const auto replies = flood.read(3 * bench::framing::header_size + 4, ec);
  CHECK_FALSE(ec);
  CHECK(flood.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  CHECK(handler.closed[0] == wiregen::error::message_rate_exceeded);
}

TEST_CASE("limits: a per-connection max_frame_size refuses larger frames until a session raises it",
          "[runtime][limits]") {
  wiregen::test::recording_server handler;
  handler.policy = wiregen::error_action::skip;
  handler.on_request = [](bench::server_session& session, const bench::EchoRequest& request) {
    if (request.payload() == "trusted") {
      session.set_max_frame_size(0);  // the framing's own limit from the next frame on
    } else if (request.payload() == "lower") {
      session.set_max_frame_size(64);
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  };
  auto options = wiregen::test::with_threads(1);
  options.connection.max_frame_size = 1024;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  bench::EchoRequest large;
  large.set_seq(0);
  large.set_payload(std::string(2000, 'x'));
  bench::EchoRequest trusted;
  trusted.set_seq(1);
  trusted.set_payload("trusted");
  // Over the connection's limit: refused from its header and, as the
  // policy says, skipped; the small frame behind it is served.
  REQUIRE_FALSE(client.send(large));
  REQUIRE_FALSE(client.send(trusted));
  REQUIRE(counter.wait_received(1));
  handler.events.read([&] {
    CHECK(handler.errors == std::vector<std::error_code>{wiregen::error::frame_too_large});
  });
  counter.events.read([&] { CHECK(counter.payload_bytes == trusted.payload().size()); });
  // Raised: the same frame now passes, up to the spec's 4 MiB.
  large.set_seq(2);
  REQUIRE_FALSE(client.send(large));
  REQUIRE(counter.wait_received(2));
  counter.events.read([&] { CHECK(counter.payload_bytes == trusted.payload().size() + 2000); });
  CHECK(handler.session().stats().frames_skipped == 1);
  // And lowered again, for what comes next.
  bench::EchoRequest lower;
  lower.set_seq(3);
  lower.set_payload("lower");
  large.set_seq(4);
  REQUIRE_FALSE(client.send(lower));
  REQUIRE_FALSE(client.send(large));
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 2; }));
  // Counted once the batch that held it is decoded, just after on_error.
  CHECK(wiregen::test::poll_until([&] { return handler.session().stats().frames_skipped == 2; }));
  CHECK(counter.wait_received(3));  // the reply to "lower"; none to the frame after it
}
