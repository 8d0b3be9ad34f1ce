// Robustness over loopback: impossible lengths, one slow connection among
// others, and concurrent clients while other threads query the server.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

TEST_CASE("robustness: a length smaller than the header closes the connection, never wedges it",
          "[runtime][robustness]") {
  recording_server handler;
  handler.policy = wiregen::error_action::skip;  // asked to skip, it still cannot
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());
  // bench: u32 length of what follows it, which includes the u16 type.
  peer.write(std::string("\x00\x00\x00\x01\x00\x01\x00\x00\x00\x02\x00\x01", 12));
  CHECK(peer.read_until_closed());
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] == wiregen::error::length_too_small);
  CHECK(handler.errors == std::vector<std::error_code>{wiregen::error::length_too_small});
}

TEST_CASE("robustness: a slow handler holds up only its own loop's connections",
          "[runtime][robustness]") {
  recording_server handler;
  wiregen::test::gate slow;
  handler.on_request = [&](bench::server_session& session, const bench::EchoRequest& request) {
    if (request.payload() == "slow") {
      slow.pass();  // this connection's loop is stuck until the gate opens
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  };
  // Two loops: connections are handed out round-robin, so A and B differ.
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter a_counter, b_counter;
  bench::client a(a_counter), b(b_counter);
  REQUIRE_FALSE(a.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(b.connect("127.0.0.1", server.port()));
  bench::EchoRequest stuck;
  stuck.set_payload("slow");
  REQUIRE_FALSE(a.send(stuck));
  REQUIRE(slow.wait_until_held());
  for (std::uint64_t seq = 0; seq < 100; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    REQUIRE_FALSE(b.send(request));
  }
  CHECK(b_counter.wait_received(100));  // while A's handler is still stuck
  CHECK(a_counter.count() == 0);
  slow.open();
  CHECK(a_counter.wait_received(1));
}

TEST_CASE("robustness: concurrent clients echo while other threads query the server",
          "[runtime][robustness]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  std::atomic<bool> querying{true};
  std::atomic<std::uint64_t> queries{0};
  std::vector<std::thread> observers;
  for (int i = 0; i < 2; ++i) {
    observers.emplace_back([&] {
      while (querying.load()) {
        (void)server.is_running();
        (void)server.connection_count();
        (void)server.state();
        queries.fetch_add(1);
      }
    });
  }
  constexpr int clients = 10;
  constexpr std::uint64_t echoes = 20;
  std::vector<std::thread> load;
  std::atomic<int> complete{0};
  for (int i = 0; i < clients; ++i) {
    load.emplace_back([&] {
      reply_counter counter;
      bench::client client(counter);
      if (client.connect("127.0.0.1", server.port())) {
        return;
      }
      for (std::uint64_t seq = 0; seq < echoes; ++seq) {
        bench::EchoRequest request;
        request.set_seq(seq);
        if (client.send(request) || !counter.wait_received(seq + 1)) {
          return;
        }
      }
      if (counter.in_order) {
        complete.fetch_add(1);
      }
      client.stop(wiregen::stop_mode::graceful_wait);
    });
  }
  for (auto& thread : load) {
    thread.join();
  }
  REQUIRE(handler.wait_closed(clients));
  querying.store(false);
  for (auto& thread : observers) {
    thread.join();
  }
  CHECK(complete.load() == clients);
  CHECK(queries.load() > 0);
  // on_closed runs just before the server forgets the connection: the
  // count is read once stop() has waited for every connection to go.
  CHECK(server.stop() == 0);
  CHECK(server.connection_count() == 0);
}

namespace {

/// Records, per sending thread, the sequence numbers that arrived; every
/// payload must be the one its (thread, seq) was sent with.
class per_sender_recorder final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    const auto sender = reply.seq() >> 32;
    const auto seq = reply.seq() & 0xFFFFFFFF;
    events.update([&] {
      intact = intact && reply.payload() == payload_for(sender, seq);
      seen[sender].push_back(seq);
      ++received;
    });
  }
  wiregen::error_action on_error(bench::client_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return wiregen::error_action::disconnect;
  }
  static std::string payload_for(std::uint64_t sender, std::uint64_t seq) {
    // Sizes differ per frame, so a frame cut or spliced into another shows.
    return std::string(1 + (seq * 7 + sender * 13) % 3000, static_cast<char>('a' + sender));
  }

  wiregen::test::waiter events;
  std::vector<std::uint64_t> seen[4];
  std::uint64_t received = 0;
  bool intact = true;
  std::vector<std::error_code> errors;
};

}  // namespace

TEST_CASE("robustness: four threads sending on one session at once deliver every frame whole",
          "[runtime][send][threads]") {
  wiregen::test::recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  per_sender_recorder recorder;
  bench::client client(recorder);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));
  const auto session = handler.session();

  constexpr std::uint64_t per_thread = 1000;
  std::vector<std::thread> senders;
  std::atomic<int> failures{0};
  for (std::uint64_t sender = 0; sender < 4; ++sender) {
    senders.emplace_back([&, sender] {
      bench::EchoReply reply;
      for (std::uint64_t seq = 0; seq < per_thread; ++seq) {
        reply.set_seq(sender << 32 | seq);
        reply.set_payload(per_sender_recorder::payload_for(sender, seq));
        // send_for waits for room: nothing may be dropped.
        if (session.send_for(reply, 10s)) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : senders) {
    t.join();
  }
  CHECK(failures == 0);
  REQUIRE(recorder.events.wait([&] { return recorder.received == 4 * per_thread; }, 30s));
  recorder.events.read([&] {
    CHECK(recorder.intact);
    CHECK(recorder.errors.empty());
    for (const auto& seqs : recorder.seen) {
      REQUIRE(seqs.size() == per_thread);
      // One thread's frames leave in the order its sends succeeded.
      bool in_order = true;
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        in_order = in_order && seqs[i] == i;
      }
      CHECK(in_order);
    }
    return 0;
  });
}

namespace {

/// Keeps every reply's payload, in order.
class payload_keeper final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    events.update([&] { payloads.push_back(reply.payload()); });
  }
  wiregen::test::waiter events;
  std::vector<std::string> payloads;
};

}  // namespace

TEST_CASE("robustness: frames up to the maximum arrive intact whatever read_chunk_size is",
          "[runtime][limits]") {
  // 1 is raised to the smallest chunk, 64 bytes: a 4 MiB frame then takes
  // 65,536 reads. 4096 is the seeds' default.
  const std::size_t chunk = GENERATE(std::size_t{1}, std::size_t{4096});
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.read_chunk_size = chunk;
  options.connection.max_queued_bytes = 16 * 1024 * 1024;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  payload_keeper keeper;
  wiregen::client_options client_options;
  client_options.connection.read_chunk_size = chunk;
  client_options.connection.max_queued_bytes = 16 * 1024 * 1024;
  bench::client client(keeper, client_options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  // The largest payload: the frame's own limit less the protobuf field
  // overhead (a 1-byte seq field of 2 bytes, then tag and 4-byte length).
  const std::size_t largest = bench::framing::max_payload_size - 2 - 5;
  const std::vector<std::size_t> sizes{0, 1, 63, 64, 65, 4095, 4096, 4097, 65537, largest};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    bench::EchoRequest request;
    request.set_seq(i + 1);
    std::string payload(sizes[i], '\0');
    for (std::size_t j = 0; j < payload.size(); ++j) {
      payload[j] = static_cast<char>((i * 31 + j) % 251);
    }
    request.set_payload(std::move(payload));
    INFO("payload of " << sizes[i] << " bytes");
    REQUIRE(request.ByteSizeLong() + bench::framing::header_size <= bench::framing::max_frame_size);
    REQUIRE_FALSE(client.session().send_for(request, 10s));
  }
  REQUIRE(keeper.events.wait([&] { return keeper.payloads.size() == sizes.size(); }, 30s));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto& got = keeper.payloads[i];
    REQUIRE(got.size() == sizes[i]);
    bool intact = true;
    for (std::size_t j = 0; j < got.size() && intact; ++j) {
      intact = got[j] == static_cast<char>((i * 31 + j) % 251);
    }
    INFO("payload of " << sizes[i] << " bytes");
    CHECK(intact);
  }
  CHECK(handler.events.read([&] { return handler.errors.empty(); }));
}
