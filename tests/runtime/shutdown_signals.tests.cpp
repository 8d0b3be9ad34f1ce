// The signal helper the examples use: SIGHUP reloads, SIGTERM ends the wait.
#include "wiregen/shutdown_signals.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <future>

#include "support/waiter.hpp"

TEST_CASE("shutdown signals: SIGHUP runs the reload callback, SIGTERM ends the wait",
          "[runtime][signals]") {
  wiregen::shutdown_signals signals;
  wiregen::test::waiter reloads;
  int reloaded = 0;
  signals.on_reload([&] { reloads.update([&] { ++reloaded; }); });
  auto waiting = std::async(std::launch::async, [&] { return signals.wait(); });
  std::raise(SIGHUP);
  REQUIRE(reloads.wait([&] { return reloaded == 1; }));
  std::raise(SIGHUP);
  REQUIRE(reloads.wait([&] { return reloaded == 2; }));
  CHECK(waiting.wait_for(std::chrono::milliseconds(20)) == std::future_status::timeout);
  std::raise(SIGTERM);
  CHECK(waiting.get() == SIGTERM);
}
