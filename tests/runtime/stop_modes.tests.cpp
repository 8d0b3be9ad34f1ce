// Stop modes of a connection and of a server, over loopback: what each
// delivers, when it returns, and that it works from inside a handler.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/timing.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;
using wiregen::test::reply_of;

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t flood_frames = 500;
constexpr std::size_t flood_size = 8 * 1024;

wiregen::server_options roomy_server() {
  auto options = wiregen::test::with_threads(1);
  options.connection.max_queued_bytes = 8 * 1024 * 1024;  // 500 x 8 KiB fit
  return options;
}

/// Queues 500 8 KiB replies on `session`; every one must be accepted.
void flood(const bench::server_session& session) {
  for (std::uint64_t seq = 0; seq < flood_frames; ++seq) {
    REQUIRE_FALSE(session.send(reply_of(seq, flood_size)));
  }
}

struct connected_pair {
  explicit connected_pair(wiregen::server_options options = roomy_server())
      : server(handler, std::move(options)), client(counter) {
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(1));
    session = handler.session();
  }

  ~connected_pair() { hold.open(); }  // before the client joins its thread

  recording_server handler;
  reply_counter counter;
  wiregen::test::gate hold;
  bench::server server;
  bench::client client;
  bench::server_session session;
};

}  // namespace

TEST_CASE("stop: graceful returns at once and still delivers everything queued",
          "[runtime][stop]") {
  connected_pair p;
  flood(p.session);
  const auto start = clock_type::now();
  p.session.stop(wiregen::stop_mode::graceful);
  // It only posts the stop: no waiting for the flush.
  CHECK(clock_type::now() - start < wiregen::test::prompt_wake);
  CHECK(p.session.send(reply_of(0, 1)) == wiregen::error::connection_closed);
  REQUIRE(p.handler.wait_closed(1));
  CHECK(p.counter.wait_received(flood_frames));
  CHECK(p.counter.count() == flood_frames);
  CHECK(p.counter.in_order);
  CHECK_FALSE(p.handler.reasons[0]);  // stopped by this side, cleanly
  CHECK(p.handler.closed_stats[0].frames_sent == flood_frames);
  CHECK(p.handler.closed_stats[0].frames_dropped == 0);
}

TEST_CASE("stop: graceful_wait returns once everything is flushed and the connection closed",
          "[runtime][stop]") {
  connected_pair p;
  flood(p.session);
  p.session.stop(wiregen::stop_mode::graceful_wait);
  CHECK(p.session.connection()->is_closed());
  // The peer read all of it before it answered the half-close with its own.
  CHECK(p.counter.count() == flood_frames);
  CHECK(p.handler.wait_closed(1));
}

TEST_CASE("stop: immediate drops what is queued and counts it", "[runtime][stop]") {
  connected_pair p;
  flood(p.session);
  p.session.stop(wiregen::stop_mode::immediate);
  REQUIRE(p.handler.wait_closed(1));
  const auto& stats = p.handler.closed_stats[0];
  CHECK(stats.frames_sent + stats.frames_dropped == flood_frames);
  REQUIRE(p.counter.events.wait([&] { return !p.counter.reasons.empty(); }));
  CHECK(p.counter.count() <= flood_frames);
  // frames_sent moves per write batch: a batch the close cut short counts
  // as dropped as a whole, even if the peer got some of its frames.
}

TEST_CASE("stop: graceful_wait against a peer that does not read gives up at its deadline",
          "[runtime][stop]") {
  auto options = wiregen::test::small_queue_server(8 * 1024 * 1024);
  connected_pair p(options);
  p.counter.hold = &p.hold;
  flood(p.session);
  REQUIRE(p.hold.wait_until_held());
  const auto start = clock_type::now();
  p.session.stop(wiregen::stop_mode::graceful_wait, 200ms);
  const auto took = clock_type::now() - start;
  CHECK(took >= 200ms);
  CHECK(took < 200ms + wiregen::test::prompt_wake);
  REQUIRE(p.handler.wait_closed(1));
  CHECK(p.handler.reasons[0] == wiregen::error::stop_timeout);
  CHECK(p.handler.closed_stats[0].frames_dropped > 0);
  p.hold.open();
}

TEST_CASE("stop: every mode may be called from inside a handler without deadlock",
          "[runtime][stop]") {
  const auto mode = GENERATE(wiregen::stop_mode::immediate, wiregen::stop_mode::graceful,
                             wiregen::stop_mode::graceful_wait);
  connected_pair p;
  p.handler.on_request = [&](bench::server_session& session, const bench::EchoRequest& request) {
    (void)session.send(reply_of(request.seq(), 16));
    session.stop(mode);  // graceful_wait cannot wait on its own thread: returns
    session.stop(mode);  // and again: idempotent
  };
  bench::EchoRequest request;
  REQUIRE_FALSE(p.client.send(request));
  REQUIRE(p.handler.wait_closed(1));
  CHECK(p.handler.reasons.size() == 1);
  if (mode != wiregen::stop_mode::immediate) {
    CHECK(p.counter.wait_received(1));  // the reply was flushed before the close
  }
}

TEST_CASE("stop: ping-pong, then the client stops gracefully and the server gracefully-and-wait",
          "[runtime][stop]") {
  connected_pair p;
  for (std::uint64_t seq = 0; seq < 10; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(p.client.send(request));
    REQUIRE(p.counter.wait_received(seq + 1));
  }
  p.client.stop(wiregen::stop_mode::graceful);
  CHECK(p.server.stop(wiregen::stop_mode::graceful_wait) == 0);
  REQUIRE(p.handler.wait_closed(1));
  const auto& server_side = p.handler.closed_stats[0];
  const auto client_side = p.client.session().stats();
  CHECK(server_side.frames_received == 10);
  CHECK(server_side.frames_sent == 10);
  CHECK(client_side.frames_sent == server_side.frames_received);
  CHECK(p.counter.count() == server_side.frames_sent);
  CHECK(p.counter.in_order);
}

TEST_CASE("stop: client stop is safe before connecting and twice", "[runtime][stop][client]") {
  reply_counter counter;
  bench::client client(counter);
  client.stop(wiregen::stop_mode::graceful_wait);
  client.stop(wiregen::stop_mode::immediate);
  CHECK(client.connect("127.0.0.1", 1) == wiregen::error::stopped);
  CHECK(client.send(bench::EchoRequest()) == wiregen::error::not_connected);
  CHECK(counter.connected == 0);
}

TEST_CASE("stop: across a graceful server stop under load, every reply accepted by send arrives",
          "[runtime][stop][server]") {
  std::atomic<std::uint64_t> accepted{0};
  recording_server handler;
  handler.on_request = [&](bench::server_session& session, const bench::EchoRequest& request) {
    if (!session.send(reply_of(request.seq(), 64))) {
      accepted.fetch_add(1);
    }
  };
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  constexpr int clients = 4;
  std::vector<std::unique_ptr<reply_counter>> counters;
  std::vector<std::unique_ptr<bench::client>> dialed;
  for (int i = 0; i < clients; ++i) {
    counters.push_back(std::make_unique<reply_counter>());
    dialed.push_back(std::make_unique<bench::client>(*counters.back()));
    REQUIRE_FALSE(dialed.back()->connect("127.0.0.1", server.port()));
  }
  std::atomic<bool> sending{true};
  std::vector<std::thread> load;
  for (int i = 0; i < clients; ++i) {
    load.emplace_back([&, i] {
      for (std::uint64_t seq = 0; sending.load();) {
        bench::EchoRequest request;
        request.set_seq(seq);
        const auto ec = dialed[static_cast<std::size_t>(i)]->send(request);
        if (ec == wiregen::error::connection_closed) {
          break;
        }
        // A full client queue refuses the request: send the same seq again,
        // so that the replies' seqs stay consecutive.
        if (ec != wiregen::error::send_queue_full) {
          ++seq;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  // Stop while requests are in flight: wait until the load is real.
  REQUIRE(counters[0]->wait_received(1000));
  CHECK(server.stop(wiregen::stop_mode::graceful_wait, 10s) == 0);
  sending.store(false);
  for (auto& thread : load) {
    thread.join();
  }
  std::uint64_t received = 0;
  for (auto& counter : counters) {
    REQUIRE(counter->events.wait([&] { return !counter->reasons.empty(); }));
    received += counter->count();
    CHECK(counter->in_order);
  }
  CHECK(accepted.load() > 1000);
  CHECK(received == accepted.load());
  CHECK(server.connection_count() == 0);
  CHECK(server.state() == wiregen::server::run_state::stopped);
}

TEST_CASE("stop: graceful against a peer that is not reading returns with frames still queued",
          "[runtime][stop]") {
  connected_pair p(wiregen::test::small_queue_server(8 * 1024 * 1024));
  p.counter.hold = &p.hold;
  flood(p.session);
  REQUIRE(p.hold.wait_until_held());
  const auto start = clock_type::now();
  p.session.stop(wiregen::stop_mode::graceful);
  CHECK(clock_type::now() - start < wiregen::test::prompt_wake);
  // Returned before the flush could have happened: the peer reads nothing.
  CHECK(p.session.stats().queued_bytes > 0);
  CHECK_FALSE(p.session.connection()->is_closed());
  p.hold.open();
  REQUIRE(p.counter.wait_received(flood_frames));
  REQUIRE(p.handler.wait_closed(1));
  CHECK_FALSE(p.handler.reasons[0]);
  CHECK(p.handler.closed_stats[0].frames_dropped == 0);
}

namespace {

/// Waits, bounded, for a server state that has no event of its own.
bool wait_state(const wiregen::server& server, wiregen::server::run_state state) {
  return wiregen::test::poll_until([&] { return server.state() == state; });
}

}  // namespace

TEST_CASE("stop: a server's immediate stop closes every open connection and counts them forced",
          "[runtime][stop][server]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  std::vector<std::unique_ptr<reply_counter>> counters;
  std::vector<std::unique_ptr<bench::client>> clients;
  for (std::size_t n = 1; n <= 3; ++n) {
    counters.push_back(std::make_unique<reply_counter>());
    clients.push_back(std::make_unique<bench::client>(*counters.back()));
    REQUIRE_FALSE(clients.back()->connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(n));
  }
  CHECK(server.stop(wiregen::stop_mode::immediate) == 3);
  CHECK(server.state() == wiregen::server::run_state::stopped);
  CHECK(server.connection_count() == 0);
  REQUIRE(handler.wait_closed(3));
  for (auto& counter : counters) {
    CHECK(counter->events.wait([&] { return !counter->reasons.empty(); }));
  }
}

TEST_CASE("stop: a server's graceful stop returns while connections flush, and they get it all",
          "[runtime][stop][server]") {
  connected_pair p(wiregen::test::small_queue_server(8 * 1024 * 1024));
  p.counter.hold = &p.hold;
  flood(p.session);
  REQUIRE(p.hold.wait_until_held());
  CHECK(p.server.stop(wiregen::stop_mode::graceful, 10s) == 0);
  // It returned while the connection could not have flushed: its peer is
  // not reading.
  CHECK(p.server.state() == wiregen::server::run_state::draining);
  CHECK_FALSE(p.server.is_running());
  CHECK(p.session.stats().queued_bytes > 0);
  p.hold.open();
  REQUIRE(p.counter.wait_received(flood_frames));
  REQUIRE(p.handler.wait_closed(1));
  CHECK_FALSE(p.handler.reasons[0]);
  CHECK(p.counter.in_order);
  CHECK(wait_state(p.server, wiregen::server::run_state::stopped));
}

TEST_CASE("stop: a server's graceful_wait waits out a deadline over a second, draining meanwhile",
          "[runtime][stop][server]") {
  wiregen::test::gate work;
  recording_server handler;
  handler.on_request = [&work](bench::server_session&, const bench::EchoRequest&) { work.pass(); };
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(work.wait_until_held());

  const auto started = clock_type::now();
  auto stopped = std::async(std::launch::async,
                            [&] { return server.stop(wiregen::stop_mode::graceful_wait, 3s); });
  REQUIRE(wait_state(server, wiregen::server::run_state::draining));
  CHECK_FALSE(server.is_running());
  // Past any one-second cap, the stop still waits for the handler.
  CHECK(stopped.wait_for(1500ms) == std::future_status::timeout);
  CHECK(server.state() == wiregen::server::run_state::draining);
  work.open();
  CHECK(stopped.get() == 0);  // the connection closed in time: nothing forced
  CHECK(clock_type::now() - started >= 1500ms);
  CHECK(server.state() == wiregen::server::run_state::stopped);
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] != wiregen::error::stop_timeout);
}
