// Timeouts and the heartbeat over loopback, on the pulse protocol (whose
// spec names Ping as its heartbeat). Each timeout closes with its own reason.
#include "pulse.wiregen.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

class pulse_server final : public pulse::server_handler {
 public:
  void on_connected(pulse::server_session&) override {
    events.update([&] { connected_at = clock_type::now(); });
  }
  void on_message(pulse::server_session&, const pulse::Ping&) override {
    events.update([&] { ++pings; });
  }
  void on_message(pulse::server_session& session, const pulse::Reading& reading) override {
    pulse::Ack ack;
    ack.set_seq(reading.seq());
    (void)session.send(ack);
    events.update([&] { readings.push_back(reading.seq()); });
  }
  void on_closed(pulse::server_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    events.update([&] {
      reasons.push_back(reason);
      closed_at = clock_type::now();
    });
  }

  wiregen::test::waiter events;
  int pings = 0;
  std::vector<std::uint64_t> readings;
  std::vector<std::error_code> reasons;
  clock_type::time_point connected_at;
  clock_type::time_point closed_at;
};

class pulse_client final : public pulse::client_handler {
 public:
  void on_message(pulse::client_session&, const pulse::Ping&) override {
    events.update([&] { ++pings; });
  }
  void on_message(pulse::client_session&, const pulse::Ack&) override {
    events.update([&] { ++acks; });
  }
  void on_closed(pulse::client_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    events.update([&] { reasons.push_back(reason); });
  }

  wiregen::test::waiter events;
  int pings = 0;
  int acks = 0;
  std::vector<std::error_code> reasons;
};

wiregen::server_options server_with(std::chrono::milliseconds wiregen::connection_options::*timeout,
                                    std::chrono::milliseconds value) {
  auto options = wiregen::test::with_threads(1);
  options.connection.*timeout = value;
  return options;
}

}  // namespace

TEST_CASE("timeouts: a silent peer is closed by the read idle timeout", "[runtime][timeouts]") {
  pulse_server handler;
  pulse::server server(handler,
                       server_with(&wiregen::connection_options::read_idle_timeout, 300ms));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  pulse_client client_handler;
  pulse::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.events.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == wiregen::error::read_idle_timeout);
  const auto idle = handler.closed_at - handler.connected_at;
  CHECK(idle >= 300ms);
  CHECK(idle < 2s);
  // The client sees the close.
  REQUIRE(client_handler.events.wait([&] { return client_handler.reasons.size() == 1; }));
}

TEST_CASE("timeouts: traffic resets the read idle timeout", "[runtime][timeouts]") {
  pulse_server handler;
  pulse::server server(handler,
                       server_with(&wiregen::connection_options::read_idle_timeout, 300ms));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  pulse_client client_handler;
  pulse::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  // Ten readings 100 ms apart span three idle timeouts; each one resets it.
  const auto start = clock_type::now();
  for (int seq = 0; seq < 10; ++seq) {
    pulse::Reading reading;
    reading.set_seq(static_cast<std::uint64_t>(seq));
    REQUIRE_FALSE(client.send(reading));
    REQUIRE(client_handler.events.wait([&] { return client_handler.acks == seq + 1; }));
    std::this_thread::sleep_until(start + (seq + 1) * 100ms);  // the traffic pattern under test
  }
  CHECK(handler.events.read([&] { return handler.reasons.empty(); }));
  REQUIRE(handler.events.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == wiregen::error::read_idle_timeout);
}

TEST_CASE("timeouts: the idle timeout is reset by writes alone and by reads alone",
          "[runtime][timeouts]") {
  wiregen::test::recording_server handler;
  handler.on_request = [](bench::server_session&, const bench::EchoRequest&) {};  // no reply
  bench::server server(handler, server_with(&wiregen::connection_options::idle_timeout, 300ms));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  SECTION("a client that only receives pushes") {
    wiregen::test::reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(1));
    const auto session = handler.session();
    // Six pushes 100 ms apart span two idle timeouts; nothing is read, each write resets it.
    const auto start = clock_type::now();
    for (std::uint64_t seq = 0; seq < 6; ++seq) {
      REQUIRE_FALSE(session.send(wiregen::test::reply_of(seq, 16)));
      REQUIRE(counter.wait_received(seq + 1));
      std::this_thread::sleep_until(start + (seq + 1) * 100ms);  // the traffic pattern under test
    }
    CHECK(handler.events.read([&] { return handler.reasons.empty(); }));
    const auto quiet_from = clock_type::now();
    REQUIRE(handler.wait_closed(1));
    CHECK(handler.reasons[0] == wiregen::error::idle_timeout);
    const auto quiet = clock_type::now() - quiet_from;
    CHECK(quiet >= 150ms);
    CHECK(quiet < 2s);
  }

  SECTION("a client that only sends") {
    wiregen::test::reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    const auto start = clock_type::now();
    for (std::uint64_t seq = 0; seq < 6; ++seq) {
      bench::EchoRequest request;
      request.set_seq(seq);
      REQUIRE_FALSE(client.send(request));
      std::this_thread::sleep_until(start + (seq + 1) * 100ms);  // the traffic pattern under test
    }
    CHECK(handler.events.read([&] { return handler.reasons.empty(); }));
    REQUIRE(handler.wait_closed(1));
    CHECK(handler.reasons[0] == wiregen::error::idle_timeout);
    CHECK(counter.count() == 0);
  }
}

TEST_CASE("timeouts: heartbeats keep an idle connection alive under a read idle timeout",
          "[runtime][timeouts][heartbeat]") {
  pulse_server handler;
  pulse::server server(handler,
                       server_with(&wiregen::connection_options::read_idle_timeout, 300ms));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  pulse_client client_handler;
  wiregen::client_options options;
  options.connection.heartbeat_interval = 50ms;
  pulse::client client(client_handler, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  // 20 heartbeats take at least a second: three idle timeouts' worth.
  const auto start = clock_type::now();
  REQUIRE(handler.events.wait([&] { return handler.pings >= 20; }));
  CHECK(clock_type::now() - start >= 20 * 50ms - 50ms);
  CHECK(handler.events.read([&] { return handler.reasons.empty(); }));
}

TEST_CASE("timeouts: no complete frame within first_frame_timeout closes the connection",
          "[runtime][timeouts]") {
  pulse_server handler;
  pulse::server server(handler,
                       server_with(&wiregen::connection_options::first_frame_timeout, 200ms));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  // Half a header is not a frame.
  wiregen::test::raw_peer slow(server.port());
  slow.write(std::string("\xa5\x02", 2));
  CHECK(slow.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == wiregen::error::first_frame_timeout);
  CHECK(handler.closed_at - handler.connected_at >= 200ms);

  // A peer that sends a frame in time stays: its heartbeats outlast the timeout.
  pulse_client client_handler;
  wiregen::client_options options;
  options.connection.heartbeat_interval = 100ms;
  pulse::client client(client_handler, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  pulse::Reading reading;
  REQUIRE_FALSE(client.send(reading));
  const bool pinged =
      handler.events.wait([&] { return handler.pings >= 5; }, std::chrono::seconds(3));
  INFO("pings " << handler.pings << ", server closes " << handler.reasons.size()
                << ", client frames sent " << client.session().stats().frames_sent);
  REQUIRE(pinged);
  CHECK(handler.events.read([&] { return handler.reasons.size() == 1; }));
}

TEST_CASE("timeouts: queued data that stops draining trips the write stall timeout",
          "[runtime][timeouts]") {
  wiregen::test::recording_server handler;
  auto options = wiregen::test::small_queue_server(1024 * 1024);
  options.connection.write_stall_timeout = 200ms;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::reply_counter counter;
  wiregen::test::gate hold;  // outlives the client, whose thread may be at it
  counter.hold = &hold;
  bench::client client(counter, wiregen::test::small_buffer_client());
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));
  auto session = handler.session();
  for (std::uint64_t seq = 0; seq < 1000; ++seq) {
    if (session.send(wiregen::test::reply_of(seq, 1024))) {
      break;
    }
  }
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] == wiregen::error::write_stall_timeout);
  hold.open();
}

TEST_CASE("timeouts: the heartbeat is sent by the sides the spec lets send it",
          "[runtime][heartbeat]") {
  pulse_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.heartbeat_interval = 30ms;
  pulse::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  pulse_client client_handler;
  pulse::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(client_handler.events.wait([&] { return client_handler.pings >= 3; }));
  // A spec without a heartbeat has none to send: the dispatcher says so.
  wiregen::test::recording_server bench_handler;
  bench::server_dispatcher bench_dispatcher(bench_handler);
  CHECK(bench_dispatcher.heartbeat().empty());
  pulse::server_dispatcher pulse_dispatcher(handler);
  CHECK(pulse_dispatcher.heartbeat().size() == pulse::framing::header_size);
}

namespace {

// A bench-protocol frame header: u32 length (type and payload), u16 type 1.
std::string echo_request_header(std::uint32_t payload_size) {
  const std::uint32_t length = payload_size + 2;
  return {static_cast<char>(length >> 24),
          static_cast<char>(length >> 16),
          static_cast<char>(length >> 8),
          static_cast<char>(length),
          '\0',
          '\x01'};
}

}  // namespace

TEST_CASE("timeouts: the deadlines a server starts with, and a client's", "[runtime][timeouts]") {
  const wiregen::server_options server;
  CHECK(server.connection.first_frame_timeout == 30s);
  CHECK(server.connection.partial_frame_timeout == 60s);
  CHECK(server.connection.handshake_timeout == 10s);
  // A client's server may speak only when asked: no first-frame deadline.
  const wiregen::client_options client;
  CHECK(client.connection.first_frame_timeout == 0ms);
  CHECK(client.connection.partial_frame_timeout == 60s);
}

TEST_CASE(
    "timeouts: a frame must complete within partial_frame_timeout of its first byte, "
    "however its bytes trickle; idle time between frames does not count",
    "[runtime][timeouts]") {
  wiregen::test::recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.partial_frame_timeout = 300ms;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());
  std::error_code ec;
  peer.write(echo_request_header(0));
  CHECK(peer.read(6, ec).size() == 6);
  // Idle for twice the deadline (the pattern under test), then served again.
  std::this_thread::sleep_for(600ms);
  peer.write(echo_request_header(0));
  CHECK(peer.read(6, ec).size() == 6);
  REQUIRE_FALSE(ec);

  // A 1000-byte frame whose bytes come one every 20 ms: each resets no clock.
  const auto began = clock_type::now();
  REQUIRE_FALSE(peer.try_write(echo_request_header(1000)));
  int trickled = 0;
  while (!peer.try_write("x") && ++trickled < 200 &&
         handler.events.read([&] { return handler.reasons.empty(); })) {
    std::this_thread::sleep_for(20ms);  // the trickle under test
  }
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] == wiregen::error::frame_timeout);
  const auto held = clock_type::now() - began;
  CHECK(held >= 300ms);
  CHECK(held < 3s);
  CHECK(trickled < 150);
}

TEST_CASE("timeouts: frames held back by the message rate are not a slow frame",
          "[runtime][timeouts]") {
  wiregen::test::recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.partial_frame_timeout = 200ms;
  options.connection.message_rate = 20;
  options.connection.message_burst = 1;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  // 20 requests in one go take about a second to be let through, five
  // deadlines' worth, the last ones waiting whole in the server's input.
  for (std::uint64_t seq = 0; seq < 20; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(client.send(request));
  }
  REQUIRE(counter.wait_received(20));
  CHECK(handler.events.read([&] { return handler.reasons.empty(); }));
}

TEST_CASE(
    "timeouts: a server's peer that never sends is closed by the first-frame deadline "
    "while another's frames flow",
    "[runtime][timeouts]") {
  wiregen::test::recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.first_frame_timeout = 300ms;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto began = clock_type::now();
  wiregen::test::raw_peer silent(server.port());
  wiregen::test::raw_peer talker(server.port());
  std::error_code ec;
  talker.write(echo_request_header(0));
  CHECK(talker.read(6, ec).size() == 6);
  CHECK(silent.read_until_closed());
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] == wiregen::error::first_frame_timeout);
  CHECK(clock_type::now() - began >= 300ms);
  // The talker sent its first frame: it is still served.
  talker.write(echo_request_header(0));
  CHECK(talker.read(6, ec).size() == 6);
  CHECK_FALSE(ec);
  CHECK(handler.events.read([&] { return handler.reasons.size() == 1; }));
}
