// How many event loops a pool runs when left to choose: one per CPU the
// process may run on, not per CPU the machine has.
#include <sched.h>

#include <catch2/catch.hpp>

#include "wiregen/io_pool.hpp"

namespace {

/// Restricts the calling thread (and the threads it starts) to `cpus` for
/// its lifetime.
class pinned {
 public:
  explicit pinned(const cpu_set_t& cpus) {
    CPU_ZERO(&saved_);
    sched_getaffinity(0, sizeof saved_, &saved_);
    ok_ = sched_setaffinity(0, sizeof cpus, &cpus) == 0;
  }
  ~pinned() { sched_setaffinity(0, sizeof saved_, &saved_); }
  bool ok() const { return ok_; }

 private:
  cpu_set_t saved_;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("io_pool: zero threads means one per CPU in the affinity mask", "[runtime][io_pool]") {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  {
    wiregen::io_pool pool(0);
    CHECK(pool.size() == static_cast<std::size_t>(CPU_COUNT(&allowed)));
  }
  int first = 0;
  while (!CPU_ISSET(first, &allowed)) {
    ++first;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  pinned pin(one);
  REQUIRE(pin.ok());
  wiregen::io_pool pool(0);
  CHECK(pool.size() == 1);
  wiregen::io_pool explicit_size(3);
  CHECK(explicit_size.size() == 3);
}
