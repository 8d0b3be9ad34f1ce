// Slow work handed to another thread (docs/runtime.md §2a): the handler
// copies what the job needs, posts it to a worker pool and returns; the
// worker replies through the session when it is done. The connection's loop
// keeps serving meanwhile, and pause_reading bounds the jobs one connection
// can have outstanding.
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/bench_peers.hpp"

using namespace std::chrono_literals;
using wiregen::test::gate;
using wiregen::test::recording_server;
using wiregen::test::waiter;

namespace {

/// Records the replies a client receives, in arrival order.
class reply_log final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    events.update([&] { replies.emplace_back(reply.seq(), reply.payload()); });
  }
  bool wait_replies(std::size_t n) {
    return events.wait([&] { return replies.size() >= n; });
  }

  waiter events;
  std::vector<std::pair<std::uint64_t, std::string>> replies;
};

bench::EchoRequest request(std::uint64_t seq, const std::string& payload) {
  bench::EchoRequest message;
  message.set_seq(seq);
  message.set_payload(payload);
  return message;
}

/// Requests whose payload is "slow" go to `workers` and wait at `work`
/// before their reply ("done") is sent from the worker; the rest are echoed
/// on the loop. A connection with `most_outstanding` jobs stops being read
/// until one finishes.
void offload_slow_requests(recording_server& handler, asio::thread_pool& workers, gate& work,
                           int most_outstanding) {
  handler.on_open = [](bench::server_session& session) {
    session.user_data() = std::make_shared<std::atomic<int>>(0);
  };
  handler.on_request = [&workers, &work, most_outstanding](bench::server_session& session,
                                                           const bench::EchoRequest& request) {
    if (request.payload() != "slow") {
      bench::EchoReply reply;
      reply.set_seq(request.seq());
      reply.set_payload(request.payload());
      (void)session.send(reply);
      return;
    }
    auto outstanding = std::any_cast<std::shared_ptr<std::atomic<int>>>(session.user_data());
    if (outstanding->fetch_add(1) + 1 >= most_outstanding) {
      session.pause_reading(true);
    }
    // The request is reused once this returns: the job takes copies.
    asio::post(workers, [session, outstanding, seq = request.seq(), &work, most_outstanding] {
      work.pass();
      bench::EchoReply reply;
      reply.set_seq(seq);
      reply.set_payload("done");
      // A worker may wait for room; the connection's loop never does.
      (void)session.send_for(reply, 5s);
      if (outstanding->fetch_sub(1) == most_outstanding) {
        session.pause_reading(false);
      }
    });
  };
}

}  // namespace

TEST_CASE("offloading: slow work on a worker replies later while the loop serves everyone",
          "[runtime][offload]") {
  asio::thread_pool workers(2);
  gate work;
  recording_server handler;
  offload_slow_requests(handler, workers, work, 8);
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_log first_log;
  bench::client first(first_log);
  REQUIRE_FALSE(first.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(first.send(request(0, "slow")));
  REQUIRE(work.wait_until_held(1));

  // The job holds a worker, not the server's only loop: another client and
  // the same connection are both answered while it waits.
  reply_log second_log;
  bench::client second(second_log);
  REQUIRE_FALSE(second.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(second.send(request(7, "quick")));
  REQUIRE(second_log.wait_replies(1));
  REQUIRE_FALSE(first.send(request(1, "quick")));
  REQUIRE(first_log.wait_replies(1));
  first_log.events.read([&] { CHECK(first_log.replies.at(0).first == 1); });

  work.open();
  REQUIRE(first_log.wait_replies(2));
  first_log.events.read(
      [&] { CHECK(first_log.replies.at(1) == std::pair<std::uint64_t, std::string>(0, "done")); });
  CHECK(server.stop(wiregen::stop_mode::graceful_wait, 5s) == 0);
  workers.join();
}

TEST_CASE("offloading: pause_reading bounds the jobs one connection has outstanding",
          "[runtime][offload]") {
  asio::thread_pool workers(2);
  gate work;
  recording_server handler;
  offload_slow_requests(handler, workers, work, 2);
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_log log;
  bench::client client(log);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(request(0, "slow")));
  REQUIRE(work.wait_until_held(1));
  REQUIRE_FALSE(client.send(request(1, "slow")));
  REQUIRE(work.wait_until_held(2));
  // Two jobs out: the connection is no longer read, so this quick request
  // waits in the socket until a job finishes.
  REQUIRE_FALSE(client.send(request(2, "quick")));
  // Another connection's round trip on the server's one loop passes the
  // point where the quick request would have been answered.
  reply_log other_log;
  bench::client other(other_log);
  REQUIRE_FALSE(other.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(other.send(request(9, "quick")));
  REQUIRE(other_log.wait_replies(1));
  log.events.read([&] { CHECK(log.replies.empty()); });

  work.open();
  REQUIRE(log.wait_replies(3));
  log.events.read([&] {
    // The quick request was read only after a job had replied.
    CHECK(log.replies.at(0).second == "done");
    std::vector<std::uint64_t> seqs;
    for (const auto& reply : log.replies) {
      seqs.push_back(reply.first);
    }
    std::sort(seqs.begin(), seqs.end());
    CHECK(seqs == std::vector<std::uint64_t>{0, 1, 2});
  });
  CHECK(server.stop(wiregen::stop_mode::graceful_wait, 5s) == 0);
  workers.join();
}
