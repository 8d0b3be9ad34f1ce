#pragma once

#include "support/waiter.hpp"

namespace wiregen::test {

/// Holds whoever calls pass() until open(): how a test makes a peer stop
/// reading (its I/O thread waits here inside a handler) and lets it go again.
class gate {
 public:
  ~gate() { open(); }

  void open() {
    state_.update([&] { open_ = true; });
  }

  /// Blocks until open(); reports that a caller is waiting first.
  void pass() {
    state_.update([&] { ++waiting_; });
    state_.wait([&] { return open_; }, std::chrono::seconds(20));
  }

  /// Waits until `callers` callers are held at the gate.
  bool wait_until_held(int callers = 1) {
    return state_.wait([&] { return waiting_ >= callers; });
  }

 private:
  waiter state_;
  bool open_ = false;
  int waiting_ = 0;
};

}  // namespace wiregen::test
