// The token bucket behind the accept rate and the message rate, driven by
// an injected clock: no sleeping, every figure exact.
#include <catch2/catch.hpp>

#include <chrono>

#include "wiregen/detail/token_bucket.hpp"

using namespace std::chrono_literals;
using wiregen::detail::token_bucket;

namespace {
const token_bucket::clock::time_point t0{std::chrono::hours(1)};
}

TEST_CASE("token bucket: starts full, then refills at the rate", "[runtime][token_bucket]") {
  token_bucket bucket(10.0, 3, t0);  // 10 per second, 3 at once
  CHECK(bucket.try_take(t0));
  CHECK(bucket.try_take(t0));
  CHECK(bucket.try_take(t0));
  CHECK_FALSE(bucket.try_take(t0));  // the burst is spent
  CHECK(bucket.until_next() == 100ms);
  CHECK_FALSE(bucket.try_take(t0 + 99ms));
  CHECK(bucket.try_take(t0 + 100ms));  // one token every 100 ms
  CHECK_FALSE(bucket.try_take(t0 + 100ms));
  // A long pause refills to the burst, never beyond.
  for (int i = 0; i < 3; ++i) {
    CHECK(bucket.try_take(t0 + 1h));
  }
  CHECK_FALSE(bucket.try_take(t0 + 1h));
}

TEST_CASE("token bucket: a burst of 0 means one second's worth", "[runtime][token_bucket]") {
  CHECK(token_bucket(50.0, 0, t0).burst() == 50.0);
  CHECK(token_bucket(0.2, 0, t0).burst() == 1.0);  // at least one token
  CHECK(token_bucket(50.0, 7, t0).burst() == 7.0);
}

TEST_CASE("token bucket: the wait for a tiny rate is capped", "[runtime][token_bucket]") {
  token_bucket bucket(1e-9, 1, t0);
  CHECK(bucket.try_take(t0));
  CHECK_FALSE(bucket.try_take(t0));
  CHECK(bucket.until_next() == std::chrono::hours(1));
}

TEST_CASE("token bucket: a clock going backwards adds nothing", "[runtime][token_bucket]") {
  token_bucket bucket(1.0, 1, t0);
  CHECK(bucket.try_take(t0));
  CHECK_FALSE(bucket.try_take(t0 - 10s));
  CHECK_FALSE(bucket.try_take(t0 + 999ms));
  CHECK(bucket.try_take(t0 + 1s));
}

TEST_CASE("token bucket: reset fills it again", "[runtime][token_bucket]") {
  token_bucket bucket(1.0, 2, t0);
  CHECK(bucket.try_take(t0));
  CHECK(bucket.try_take(t0));
  bucket.reset(t0);
  CHECK(bucket.tokens() == 2.0);
  CHECK(bucket.try_take(t0));
}
