// The client's table of waiting calls, driven directly: request ids go
// round within the header field's range and skip ids still waiting, calls
// belong to their connection, and in order each connection's oldest call
// takes the next reply.
#include "wiregen/call_table.hpp"

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "echo.wiregen.h"

using namespace std::chrono_literals;

namespace {

/// Starts calls on a table and records how each ended.
struct table_driver {
  explicit table_driver(wiregen::call_table::correlation mode, std::uint64_t max_id = 1000)
      : table(std::make_shared<wiregen::call_table>(mode, max_id)) {}

  /// Starts a call on `connection`; returns the request id it was sent with.
  std::uint64_t start(std::uint64_t connection, std::string name) {
    std::uint64_t sent_id = 0;
    table->start(
        connection,
        [this, name](std::error_code ec, const wiregen::call_table::arrival* reply) {
          outcomes.push_back(name + ":" + (reply ? "reply" : ec.message()));
        },
        context, 0ms,
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
  driver.table->start(
      1,
      [&](std::error_code ec, const wiregen::call_table::arrival*) {
        driver.outcomes.push_back("slow:" + ec.message());
      },
      driver.context, 1ms, [](std::uint64_t) { return std::error_code(); });
  driver.start(1, "next");
  driver.context.run();  // the deadline fires
  REQUIRE(driver.outcomes.size() == 1);
  CHECK(driver.reply(1, 0));  // the late reply of the slow call
  CHECK(driver.outcomes.size() == 1);
  CHECK(driver.reply(1, 0));  // the next call's own reply
  CHECK(driver.outcomes.back() == "next:reply");
}
