// The timing wheel behind connection timeouts, on a private event loop.
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <vector>

#include "wiregen/detail/timer_wheel.hpp"

using namespace std::chrono_literals;
using wiregen::detail::timer_wheel;

namespace {

struct probe final : timer_wheel::entry {
  std::function<void(probe&, timer_wheel::clock::time_point)> on_expired;
  std::vector<timer_wheel::clock::time_point> fired;
  void expired(timer_wheel::clock::time_point now) override {
    fired.push_back(now);
    if (on_expired) {
      on_expired(*this, now);
    }
  }
};

}  // namespace

TEST_CASE("timer wheel: entries fire in order, never early", "[runtime][timer_wheel]") {
  asio::io_context loop(1);
  auto& wheel = timer_wheel::of(loop);
  const auto start = timer_wheel::clock::now();
  probe early, late, cancelled;
  wheel.schedule(late, start + 80ms);
  wheel.schedule(early, start + 20ms);
  wheel.schedule(cancelled, start + 40ms);
  wheel.cancel(cancelled);
  CHECK_FALSE(cancelled.is_filed());
  loop.run();  // returns once nothing is filed
  REQUIRE(early.fired.size() == 1);
  REQUIRE(late.fired.size() == 1);
  CHECK(cancelled.fired.empty());
  CHECK(early.fired[0] >= start + 20ms);
  CHECK(late.fired[0] >= start + 80ms);
  CHECK(early.fired[0] < late.fired[0]);
}

TEST_CASE("timer wheel: an entry re-filed far ahead does not delay a nearer one",
          "[runtime][timer_wheel]") {
  asio::io_context loop(1);
  auto& wheel = timer_wheel::of(loop);
  const auto start = timer_wheel::clock::now();
  probe repeating, near;
  // Re-filing itself 3 s ahead on expiry must not leave the wheel armed
  // for that time only: `near` is due long before.
  repeating.on_expired = [&](probe& self, timer_wheel::clock::time_point now) {
    if (self.fired.size() == 1) {
      wheel.schedule(self, now + 3s);
    }
  };
  wheel.schedule(repeating, start + 20ms);
  wheel.schedule(near, start + 300ms);
  loop.run_for(1500ms);
  REQUIRE(near.fired.size() == 1);
  CHECK(near.fired[0] >= start + 300ms);
  CHECK(near.fired[0] < start + 1200ms);
  wheel.cancel(repeating);
}

TEST_CASE("timer wheel: deadlines past a whole turn of the wheel wait their turn",
          "[runtime][timer_wheel]") {
  asio::io_context loop(1);
  auto& wheel = timer_wheel::of(loop);
  const auto start = timer_wheel::clock::now();
  probe far;
  // 512 slots of 10 ms: 6 s is more than one turn, and lands on a slot the
  // wheel passes earlier; it must not fire then.
  wheel.schedule(far, start + 6s);
  loop.run_for(5500ms);
  CHECK(far.fired.empty());
  loop.run_for(1500ms);
  REQUIRE(far.fired.size() == 1);
  CHECK(far.fired[0] >= start + 6s);
}
