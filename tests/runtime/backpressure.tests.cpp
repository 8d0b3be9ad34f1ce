// The send queue over loopback: bounds, the three ways to send, writability
// events, waking waiting senders, counters. A client that stops reading
// (its thread held at a gate) makes the server's queue fill up.
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <stop_token>
#include <thread>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"
#include "support/timing.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;
using wiregen::test::reply_of;

namespace {

using clock_type = std::chrono::steady_clock;

/// A server whose one connection has a full queue: the client read one
/// reply and is held at the gate, and try_send now fails.
struct full_queue {
  /// With `small_socket_buffers` the kernel holds little beside the queue,
  /// but a backlog then drains at a few KiB a second (TCP's small windows).
  explicit full_queue(std::size_t max_queued_bytes = 64 * 1024, bool small_socket_buffers = true,
                      std::size_t max_queued_frames = 0)
      : server(handler, queue_options(max_queued_bytes, small_socket_buffers, max_queued_frames)),
        client(counter, small_socket_buffers ? wiregen::test::small_buffer_client()
                                             : wiregen::client_options{}) {
    counter.hold = &hold;
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(1));
    session = handler.session();
    // The kernel's socket buffers take replies too, so the queue is full
    // for good only when no room appeared for a while. Bounded.
    for (int i = 0; i < 100000 && !full; ++i) {
      const auto ec = session.send_for(reply_of(sent, 1024), 100ms);
      if (ec == wiregen::error::send_queue_full) {
        full = true;
      } else if (!ec) {
        ++sent;
      }
    }
    REQUIRE(full);
    REQUIRE(hold.wait_until_held());
  }

  static wiregen::server_options queue_options(std::size_t max_queued_bytes, bool small,
                                               std::size_t max_queued_frames) {
    auto options = wiregen::test::small_queue_server(max_queued_bytes);
    options.connection.max_queued_frames = max_queued_frames;
    if (!small) {
      options.connection.send_buffer_size = 0;  // the kernel's default
    }
    return options;
  }

  // The client's thread may still be at the gate: open it before the
  // client is destroyed, and keep it alive until the client joined its thread.
  ~full_queue() { hold.open(); }

  recording_server handler;
  reply_counter counter;
  wiregen::test::gate hold;
  bench::server server;
  bench::client client;
  bench::server_session session;
  std::uint64_t sent = 0;
  bool full = false;
};

}  // namespace

TEST_CASE("send queue: try_send refuses a frame that does not fit, counts it, queues nothing",
          "[runtime][send]") {
  full_queue f;
  const auto before = f.session.stats();
  CHECK(f.session.try_send(reply_of(f.sent, 1024)) == wiregen::error::send_queue_full);
  CHECK(f.session.send(reply_of(f.sent, 1024)) == wiregen::error::send_queue_full);
  const auto after = f.session.stats();
  CHECK(after.frames_dropped == before.frames_dropped + 2);
  CHECK(after.queued_bytes == before.queued_bytes);
  CHECK(after.queued_bytes <= 64 * 1024);
  CHECK_FALSE(f.session.is_writable());

  // Everything accepted arrives once the client reads again, in order.
  f.hold.open();
  CHECK(f.counter.wait_received(f.sent));
  CHECK(f.counter.count() == f.sent);
  CHECK(f.counter.in_order);
}

TEST_CASE("send queue: bounded in frames, a peer that stops reading meets the same refusal",
          "[runtime][send]") {
  // Room for 4 MiB, but only four frames may wait: the frame bound is what refuses.
  full_queue f(4 * 1024 * 1024, true, 4);
  const auto before = f.session.stats();
  CHECK(f.session.try_send(reply_of(f.sent, 1024)) == wiregen::error::send_queue_full);
  const auto after = f.session.stats();
  CHECK(after.frames_dropped == before.frames_dropped + 1);
  // Four waiting frames and the block being written (at most four more).
  CHECK(after.queued_bytes <= 8 * 1100);
  CHECK_FALSE(f.session.is_writable());

  f.hold.open();
  CHECK(f.counter.wait_received(f.sent));
  CHECK(f.counter.in_order);
  // Drained: the connection takes frames again.
  CHECK(f.handler.events.wait([&] { return f.session.is_writable(); }));
  CHECK_FALSE(f.session.try_send(reply_of(f.sent, 1024)));
}

TEST_CASE(
    "send queue: by default only bytes bound it, so a burst of small pipelined requests "
    "gets every reply",
    "[runtime][send]") {
  // One 64 KiB read can carry thousands of small requests, and their
  // replies are all queued before the next write: a frame bound of 1024
  // (the seeds', sized for 4 KiB reads) would refuse most of them.
  CHECK(wiregen::connection_options{}.max_queued_frames == 0);
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  constexpr std::uint64_t burst = 5000;
  std::string requests;
  std::string replies;
  for (std::uint64_t seq = 0; seq < burst; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(bench::codec::append_frame(requests, 1, request));
    bench::EchoReply reply;
    reply.set_seq(seq);
    REQUIRE_FALSE(bench::codec::append_frame(replies, 2, reply));
  }
  REQUIRE(requests.size() < 64 * 1024);  // one read's worth
  wiregen::test::raw_peer peer(server.port());
  peer.write(requests);
  std::error_code ec;
  CHECK(peer.read(replies.size(), ec) == replies);
  CHECK_FALSE(ec);
  CHECK(handler.events.read([&] { return handler.errors.empty(); }));
}

TEST_CASE("send queue: the writability event fires at the high watermark and below the low one",
          "[runtime][send]") {
  full_queue f;
  // While filling, the queue may have flipped a few times as the kernel
  // took data; it ends unwritable, and writable again once drained.
  REQUIRE(f.handler.events.wait(
      [&] { return !f.handler.writability.empty() && !f.handler.writability.back(); }));
  f.hold.open();
  REQUIRE(f.handler.events.wait([&] { return f.handler.writability.back(); }));
  // The events alternate, starting with unwritable: never twice the same.
  CHECK(f.handler.events.read([&] {
    const auto& w = f.handler.writability;
    return !w.front() && std::adjacent_find(w.begin(), w.end()) == w.end();
  }));
  CHECK(f.session.is_writable());
  CHECK(f.session.stats().queued_bytes <= 16 * 1024);  // the low watermark
}

TEST_CASE("send queue: after a stop every send fails with connection_closed",
          "[runtime][send][stop]") {
  full_queue f;
  f.session.stop(wiregen::stop_mode::immediate);
  CHECK(f.session.try_send(reply_of(0, 1)) == wiregen::error::connection_closed);
  CHECK(f.session.send_for(reply_of(0, 1), 1s) == wiregen::error::connection_closed);
  REQUIRE(f.handler.wait_closed(1));
  // The frames still queued were discarded by the immediate stop, and counted.
  const auto& stats = f.handler.closed_stats[0];
  CHECK(stats.frames_sent + stats.frames_dropped >= f.sent);
  CHECK(stats.frames_dropped > 0);
  f.hold.open();
}

TEST_CASE("send queue: send_for times out with send_queue_full, and a cancelled token cancels",
          "[runtime][send]") {
  full_queue f;
  const auto start = clock_type::now();
  CHECK(f.session.send_for(reply_of(0, 1024), 10ms) == wiregen::error::send_queue_full);
  CHECK(clock_type::now() - start >= 10ms);

  std::stop_source cancelled;
  cancelled.request_stop();
  CHECK(f.session.send_for(reply_of(0, 1024), 10s, {}, cancelled.get_token()) ==
        wiregen::error::send_cancelled);

  // A token triggered while the sender waits wakes it.
  std::stop_source later;
  auto waiting = std::async(std::launch::async, [&] {
    return f.session.send_for(reply_of(0, 1024), 30s, {}, later.get_token());
  });
  CHECK(waiting.wait_for(20ms) == std::future_status::timeout);
  later.request_stop();
  CHECK(waiting.get() == wiregen::error::send_cancelled);
  f.hold.open();
}

TEST_CASE(
    "send queue: a sender blocked on a full queue is woken at once when the connection closes",
    "[runtime][send][stop]") {
  full_queue f;
  auto blocked = std::async(std::launch::async, [&] {
    const auto start = clock_type::now();
    const auto ec = f.session.send_for(reply_of(0, 1024), 30s);
    return std::make_pair(ec, clock_type::now() - start);
  });
  REQUIRE(blocked.wait_for(50ms) == std::future_status::timeout);  // it is waiting
  const auto stopped_at = clock_type::now();
  f.session.stop(wiregen::stop_mode::immediate);
  const auto [ec, waited] = blocked.get();
  CHECK(ec == wiregen::error::connection_closed);
  // Woken by the close, not by its own 30 s timeout.
  CHECK(clock_type::now() - stopped_at < wiregen::test::prompt_wake);
  CHECK(waited < 30s);
  f.hold.open();
}

TEST_CASE("send queue: a blocked send_for goes through once the peer reads, in order",
          "[runtime][send]") {
  full_queue f;
  auto blocked = std::async(std::launch::async,
                            [&] { return f.session.send_for(reply_of(f.sent, 1024), 30s); });
  REQUIRE(blocked.wait_for(20ms) == std::future_status::timeout);
  f.hold.open();
  CHECK_FALSE(blocked.get());
  CHECK(f.counter.wait_received(f.sent + 1));
  CHECK(f.counter.in_order);
}

TEST_CASE("send queue: async_send completes when room frees, on its deadline, or when cancelled",
          "[runtime][send][async]") {
  full_queue f;
  std::promise<std::error_code> late;
  f.session.async_send(reply_of(0, 1024), 30ms, [&](std::error_code ec) { late.set_value(ec); });
  CHECK(late.get_future().get() == wiregen::error::send_queue_full);

  asio::cancellation_signal signal;
  std::promise<std::error_code> cancelled;
  f.session.async_send(reply_of(0, 1024), 30s,
                       asio::bind_cancellation_slot(
                           signal.slot(), [&](std::error_code ec) { cancelled.set_value(ec); }));
  auto cancelled_result = cancelled.get_future();
  CHECK(cancelled_result.wait_for(20ms) == std::future_status::timeout);
  signal.emit(asio::cancellation_type::terminal);
  CHECK(cancelled_result.get() == wiregen::error::send_cancelled);

  std::promise<std::error_code> queued;
  f.session.async_send(reply_of(f.sent, 1024), [&](std::error_code ec) { queued.set_value(ec); });
  auto queued_result = queued.get_future();
  CHECK(queued_result.wait_for(20ms) == std::future_status::timeout);  // still waiting
  f.hold.open();
  CHECK_FALSE(queued_result.get());
  CHECK(f.counter.wait_received(f.sent + 1));
  CHECK(f.counter.in_order);
}

TEST_CASE("send queue: async_sends to a peer that stopped reading wait in a bounded line",
          "[runtime][send][async]") {
  // A handler replying with async_send to a client that keeps asking and
  // never reads once made every reply a waiter holding its own frame.
  // Declared before the server, so they outlive its threads: the last
  // completion may still be leaving `outcomes` when the test ends.
  wiregen::test::waiter outcomes;
  std::size_t refused = 0;
  std::size_t queued = 0;
  full_queue f(64 * 1024, false);
  const std::size_t line = wiregen::connection_options{}.max_waiting_sends;
  const std::size_t sends = line + 2000;
  for (std::size_t i = 0; i < sends; ++i) {
    f.session.async_send(reply_of(f.sent + i, 1024), [&](std::error_code ec) {
      outcomes.update([&] { ++(ec == wiregen::error::send_queue_full ? refused : queued); });
    });
  }
  // Past the line's bound each send fails at once: however much room the
  // socket found meanwhile, at most `line` sends are still waiting.
  REQUIRE(outcomes.wait([&] { return refused + queued >= sends - line; }));
  CHECK(outcomes.read([&] { return refused; }) > 0);
  f.hold.open();
  const std::size_t accepted = sends - outcomes.read([&] { return refused; });
  REQUIRE(outcomes.wait([&] { return queued == accepted; }));
  CHECK(f.counter.wait_received(f.sent + accepted));
}

TEST_CASE("send queue: async_send works as a C++20 awaitable", "[runtime][send][async]") {
  recording_server handler;
  reply_counter counter;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));
  auto session = handler.session();

  asio::io_context caller;
  std::error_code first{wiregen::error::not_connected};
  std::error_code after_stop;
  asio::co_spawn(
      caller,
      [&]() -> asio::awaitable<void> {
        auto [ec] = co_await session.async_send(reply_of(0, 10),
                                                asio::experimental::as_tuple(asio::use_awaitable));
        first = ec;
        session.stop(wiregen::stop_mode::immediate);
        auto [closed] = co_await session.async_send(
            reply_of(1, 10), asio::experimental::as_tuple(asio::use_awaitable));
        after_stop = closed;
      },
      asio::detached);
  caller.run();
  CHECK_FALSE(first);
  CHECK(after_stop == wiregen::error::connection_closed);
  CHECK(counter.wait_received(1));
}

TEST_CASE("send queue: counters count frames and bytes both ways", "[runtime][send]") {
  recording_server handler;
  reply_counter counter;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  for (std::uint64_t seq = 0; seq < 10; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    request.set_payload(std::string(100, 'q'));
    REQUIRE_FALSE(client.send(request));
  }
  REQUIRE(counter.wait_received(10));
  client.stop(wiregen::stop_mode::graceful_wait);
  const auto client_stats = client.session().stats();  // final: the connection is closed
  CHECK(client_stats.frames_sent == 10);
  CHECK(client_stats.frames_received == 10);
  CHECK(client_stats.frames_dropped == 0);
  REQUIRE(handler.wait_closed(1));
  const auto& server_stats = handler.closed_stats[0];
  CHECK(server_stats.frames_received == 10);
  CHECK(server_stats.frames_sent == 10);
  CHECK(server_stats.bytes_received == client_stats.bytes_sent);
  CHECK(server_stats.bytes_sent == client_stats.bytes_received);
  CHECK(server_stats.queued_bytes == 0);
}

TEST_CASE("send queue: async_send on a session that outlived its client still completes",
          "[runtime][send][async]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  bench::client_session kept;
  {
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    kept = client.session();
  }  // the client, its thread and its loop are gone
  bench::EchoRequest request;
  std::promise<std::error_code> done;
  kept.async_send(request, [&](std::error_code ec) { done.set_value(ec); });
  auto result = done.get_future();
  REQUIRE(result.wait_for(10s) == std::future_status::ready);
  CHECK(result.get() == wiregen::error::connection_closed);
}
