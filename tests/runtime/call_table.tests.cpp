// The client's table of waiting calls, driven directly: request ids go
// round within the header field's range and skip ids still waiting, calls
// belong to their connection, and in order each connection's oldest call
// takes the next reply. Narrow ids never hang the table, and an expired
// call's id is not handed to a newer call while its late reply may come.
#include "wiregen/call_table.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "echo.wiregen.h"

using namespace std::chrono_literals;

namespace {

/// Starts calls on a table and records how each ended.
struct table_driver {
  explicit table_driver(wiregen::call_table::correlation mode, std::uint64_t max_id = 1000)
      : table(std::make_shared<wiregen::call_table>(mode, max_id)) {}

  /// Starts a call on `connection`; returns the request id it was sent
  /// with (0: not sent).
  std::uint64_t start(std::uint64_t connection, std::string name,
                      std::chrono::milliseconds deadline = 0ms) {
    std::uint64_t sent_id = 0;
    table->start(
        connection,
        [this, name](std::error_code ec, const wiregen::call_table::arrival* reply) {
          outcomes.push_back(name + ":" + (reply ? "reply" : ec.message()));
        },
        context, deadline,
        [&](std::uint64_t id) {
          sent_id = id;
          return std::error_code();
        });
    return sent_id;
  }

  bool reply(std::uint64_t connection, std::uint64_t id) {
    bench::EchoReply message;
    return table->complete(connection, id, wiregen::call_table::reply(2, &message));
  }

  asio::io_context context;
  std::shared_ptr<wiregen::call_table> table;
  std::vector<std::string> outcomes;
};

}  // namespace

TEST_CASE("call table: request ids go round within the field and skip ids in use",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::request_id, 3);
  CHECK(driver.start(1, "a") == 1);
  CHECK(driver.start(1, "b") == 2);
  CHECK(driver.start(1, "c") == 3);
  CHECK(driver.reply(1, 2));
  // 1 and 3 still wait: the next id is 2 again, never 0 or 4.
  CHECK(driver.start(1, "d") == 2);
  CHECK(driver.reply(1, 1));
  CHECK(driver.start(1, "e") == 1);
  CHECK(driver.outcomes == std::vector<std::string>{"b:reply", "a:reply"});
}

TEST_CASE("call table: a reply completes only a call of its own connection", "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::request_id);
  const auto id = driver.start(1, "a");
  // The same id from another connection is no answer to it, and no push.
  CHECK(driver.reply(2, id));
  CHECK(driver.outcomes.empty());
  CHECK_FALSE(driver.reply(1, 0));  // request id 0: a push
  driver.start(2, "b");
  driver.table->fail_connection(1, wiregen::error::connection_closed);
  CHECK(driver.outcomes ==
        std::vector<std::string>{"a:" +
                                 std::error_code(wiregen::error::connection_closed).message()});
  CHECK(driver.table->pending() == 1);  // b, on connection 2, still waits
}

TEST_CASE("call table: in order, each connection's oldest call takes the next reply",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::in_order);
  driver.start(1, "a1");
  driver.start(2, "b1");
  driver.start(1, "a2");
  CHECK(driver.reply(2, 0));
  CHECK(driver.reply(1, 0));
  CHECK(driver.reply(1, 0));
  CHECK_FALSE(driver.reply(1, 0));  // nothing waits on connection 1: a push
  CHECK(driver.outcomes == std::vector<std::string>{"b1:reply", "a1:reply", "a2:reply"});
}

TEST_CASE("call table: in order, a call past its deadline swallows its late reply",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::in_order);
  driver.start(1, "slow", 1ms);
  driver.start(1, "next");
  driver.context.run();  // the deadline fires
  REQUIRE(driver.outcomes.size() == 1);
  CHECK(driver.reply(1, 0));  // the late reply of the slow call
  CHECK(driver.outcomes.size() == 1);
  CHECK(driver.reply(1, 0));  // the next call's own reply
  CHECK(driver.outcomes.back() == "next:reply");
}

TEST_CASE("call table: with every request id waiting, a call fails at once, unsent",
          "[runtime][rpc]") {
  // A one-byte field with all 255 ids in use once spun for ever under the
  // table's locks.
  table_driver driver(wiregen::call_table::correlation::request_id, 255);
  for (int i = 0; i < 255; ++i) {
    driver.start(1, "c" + std::to_string(i));
  }
  CHECK(driver.start(1, "full") == 0);  // not sent
  CHECK(driver.outcomes ==
        std::vector<std::string>{"full:" +
                                 std::error_code(wiregen::error::too_many_calls).message()});
  CHECK(driver.table->pending() == 255);
  CHECK(driver.reply(1, 7));
  CHECK(driver.start(1, "again") == 7);  // the one id that came free
}

TEST_CASE("call table: by id, a call past its deadline keeps its id from the next call",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::request_id, 2);
  driver.start(1, "slow", 5ms);
  CHECK(driver.start(1, "other") == 2);
  while (driver.outcomes.empty()) {
    driver.context.run_one();  // the deadline fires
  }
  CHECK(driver.outcomes.front() ==
        "slow:" + std::error_code(wiregen::error::deadline_exceeded).message());
  // Id 1 still waits for its late reply: reusing it would hand that reply
  // to the newer call.
  CHECK(driver.start(1, "newer") == 0);
  CHECK(driver.outcomes.back() ==
        "newer:" + std::error_code(wiregen::error::too_many_calls).message());
  CHECK(driver.reply(1, 1));  // the late reply: swallowed
  CHECK(driver.outcomes.size() == 2);
  CHECK(driver.start(1, "newest") == 1);  // now free
  CHECK(driver.reply(1, 1));
  CHECK(driver.outcomes.back() == "newest:reply");
}

TEST_CASE("call table: by id, a late reply that never comes frees its id one deadline later",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::request_id, 1);
  driver.start(1, "slow", 5ms);
  driver.context.run();  // the deadline, then the mark's own
  CHECK(driver.outcomes.size() == 1);
  CHECK(driver.table->pending() == 0);
  CHECK(driver.start(1, "next") == 1);
}

TEST_CASE("call table: a deadline that fired for a call does not expire the next holder of its id",
          "[runtime][rpc]") {
  // The reply and a new call run on the loop after the deadline fired but
  // before its handler: the cancel comes too late, and the handler finds
  // the id held by the newer call.
  table_driver driver(wiregen::call_table::correlation::request_id, 1);
  const auto started = std::chrono::steady_clock::now();
  driver.start(1, "first", 1ms);
  std::this_thread::sleep_until(started + 5ms);  // the deadline is due: the precondition
  asio::post(driver.context, [&] {
    CHECK(driver.reply(1, 1));
    CHECK(driver.start(1, "second") == 1);  // the only id, free again
  });
  driver.context.run();
  CHECK(driver.outcomes == std::vector<std::string>{"first:reply"});
  CHECK(driver.table->pending() == 1);  // the second call still waits for its reply
}

TEST_CASE("call table: in order, many connections' calls each find their own oldest",
          "[runtime][rpc]") {
  table_driver driver(wiregen::call_table::correlation::in_order);
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t connection = 1; connection <= 100; ++connection) {
      driver.start(connection, std::to_string(connection) + "." + std::to_string(round));
    }
  }
  CHECK(driver.reply(42, 0));
  CHECK(driver.reply(42, 0));
  CHECK(driver.reply(7, 0));
  CHECK(driver.outcomes == std::vector<std::string>{"42.0:reply", "42.1:reply", "7.0:reply"});
  driver.table->fail_connection(42, wiregen::error::connection_closed);
  CHECK(driver.table->pending() == 300 - 4);
  CHECK_FALSE(driver.reply(42, 0));  // nothing of 42 waits
}
