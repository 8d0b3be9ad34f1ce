// The client over loopback: dial errors, retry with backoff, automatic
// reconnect, and what sends do while there is no connection.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

using clock_type = std::chrono::steady_clock;

/// A port nothing listens on: one a server just gave back.
std::uint16_t closed_port() {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto port = server.port();
  server.stop(wiregen::stop_mode::immediate);
  return port;
}

wiregen::client_options retrying(unsigned attempts, std::chrono::milliseconds backoff) {
  wiregen::client_options options;
  options.retry.attempts = attempts;
  options.retry.initial_backoff = backoff;
  options.retry.max_backoff = 10 * backoff;
  options.retry.jitter = 0.1;
  return options;
}

bench::EchoRequest request_of(std::uint64_t seq) {
  bench::EchoRequest request;
  request.set_seq(seq);
  return request;
}

}  // namespace

TEST_CASE("client: dialing a closed port fails with the dial error and no connection events",
          "[runtime][client]") {
  reply_counter counter;
  bench::client client(counter);
  CHECK(client.connect("127.0.0.1", closed_port()) == asio::error::connection_refused);
  CHECK(counter.connected == 0);
  CHECK(counter.reasons.empty());
  CHECK(counter.dial_errors.size() == 1);
  CHECK_FALSE(client.is_connected());
}

TEST_CASE("client: a dial to a good port gives on_connected, then messages", "[runtime][client]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  CHECK(counter.connected == 1);  // before connect() returned
  REQUIRE_FALSE(client.send(request_of(0)));
  CHECK(counter.wait_received(1));
}

TEST_CASE("client: retries back off exponentially, then report the last error",
          "[runtime][client]") {
  reply_counter counter;
  bench::client client(counter, retrying(4, 20ms));
  const auto start = clock_type::now();
  CHECK(client.connect("127.0.0.1", closed_port()) == asio::error::connection_refused);
  const auto took = clock_type::now() - start;
  CHECK(counter.dial_errors.size() == 4);
  // Waits of 20, 40 and 80 ms, each within 10% jitter.
  CHECK(took >= (20ms + 40ms + 80ms) * 9 / 10);
}

TEST_CASE("client: a retrying dial succeeds once the server comes up", "[runtime][client]") {
  const auto port = closed_port();
  reply_counter counter;
  bench::client client(counter, retrying(100, 10ms));
  auto dialing = std::async(std::launch::async, [&] { return client.connect("127.0.0.1", port); });
  REQUIRE(counter.events.wait([&] { return !counter.dial_errors.empty(); }));
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", port));
  CHECK_FALSE(dialing.get());
  REQUIRE_FALSE(client.send(request_of(0)));
  CHECK(counter.wait_received(1));
}

TEST_CASE("client: automatic reconnect redials after the connection is lost", "[runtime][client]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  auto options = retrying(1, 10ms);
  options.auto_reconnect = true;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));

  handler.session(0).stop(wiregen::stop_mode::immediate);  // the server drops it
  REQUIRE(counter.events.wait([&] { return counter.connected == 2; }));
  CHECK(counter.reasons.size() == 1);
  REQUIRE(handler.wait_sessions(2));
  // The new connection carries traffic; the old session stays closed.
  REQUIRE_FALSE(client.send(request_of(0)));
  CHECK(counter.wait_received(1));
  CHECK(client.is_connected());

  client.stop(wiregen::stop_mode::graceful_wait);
  REQUIRE(handler.wait_closed(2));
  CHECK(counter.events.read([&] { return counter.connected; }) == 2);  // no redial after stop()
}

TEST_CASE("client: a server that sends a banner and closes is redialed ever more slowly",
          "[runtime][client]") {
  // Each connection receives a frame before it is closed; that once reset
  // the backoff and made the client redial at once, for ever.
  recording_server handler;
  wiregen::test::waiter accepts;
  std::vector<clock_type::time_point> accepted_at;
  bench::server server(handler, wiregen::test::with_threads(1));
  handler.on_open = [&](bench::server_session& session) {
    accepts.update([&] { accepted_at.push_back(clock_type::now()); });
    bench::EchoReply banner;
    banner.set_seq(0);
    (void)session.send(banner);
    session.stop(wiregen::stop_mode::graceful);  // after the banner is flushed
  };
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  auto options = retrying(1, 20ms);
  options.retry.jitter = 0;
  options.retry.max_backoff = 1s;
  options.auto_reconnect = true;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  // Waits of 20, 40, 80 and 160 ms come between the first five accepts.
  REQUIRE(accepts.wait([&] { return accepted_at.size() >= 5; }));
  client.stop(wiregen::stop_mode::immediate);
  const auto times = accepts.read([&] { return accepted_at; });
  CHECK(times[2] - times[1] >= 40ms);
  CHECK(times[3] - times[2] >= 80ms);
  CHECK(times[4] - times[3] >= 160ms);
  CHECK(counter.wait_received(1));  // the banners did arrive
}

TEST_CASE("client: while disconnected, sends fail by default with not_connected",
          "[runtime][client]") {
  reply_counter counter;
  bench::client client(counter);
  CHECK(client.send(request_of(0)) == wiregen::error::not_connected);
  CHECK(client.session().send(request_of(0)) == wiregen::error::not_connected);
  CHECK(client.backlog_bytes() == 0);
}

TEST_CASE("client: with the queue policy, sends wait in a bounded backlog and go first, in order",
          "[runtime][client]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  wiregen::client_options options;
  options.while_disconnected = wiregen::disconnected_sends::queue;
  options.max_backlog_bytes = 64;
  bench::client client(counter, options);
  std::uint64_t queued = 0;
  while (!client.send(request_of(queued))) {
    ++queued;
    REQUIRE(queued < 64);
  }
  CHECK(queued > 0);
  CHECK(client.send(request_of(queued)) == wiregen::error::send_queue_full);
  CHECK(client.backlog_bytes() <= 64);

  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  CHECK(client.backlog_bytes() == 0);
  REQUIRE_FALSE(client.send(request_of(queued)));  // after the backlog
  REQUIRE(counter.wait_received(queued + 1));
  CHECK(counter.in_order);
  client.stop(wiregen::stop_mode::graceful_wait);
  CHECK(client.session().stats().frames_sent == queued + 1);  // the backlog counts frame by frame
}

TEST_CASE("client: a queued backlog survives a lost connection until the redial",
          "[runtime][client]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  auto options = retrying(1, 200ms);
  options.auto_reconnect = true;
  options.while_disconnected = wiregen::disconnected_sends::queue;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));
  handler.session(0).stop(wiregen::stop_mode::immediate);
  REQUIRE(counter.events.wait([&] { return counter.reasons.size() == 1; }));
  // The redial waits out its first backoff; meanwhile sends queue up.
  for (std::uint64_t seq = 0; seq < 5; ++seq) {
    REQUIRE_FALSE(client.send(request_of(seq)));
  }
  REQUIRE(counter.wait_received(5));
  CHECK(counter.in_order);
  CHECK(counter.events.read([&] { return counter.connected; }) == 2);
}

TEST_CASE("client: a second connect replaces the first, with no reconnect storm",
          "[runtime][client]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  auto options = retrying(1, 10ms);
  options.auto_reconnect = true;
  bench::client client(counter, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_closed(1));  // the first, replaced on purpose
  // A replaced connection is not redialed: a round trip later there are
  // still exactly two.
  REQUIRE_FALSE(client.send(request_of(0)));
  REQUIRE(counter.wait_received(1));
  CHECK(handler.events.read([&] { return handler.sessions.size(); }) == 2);
  CHECK(counter.events.read([&] { return counter.connected; }) == 2);
}
