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

  /// Waits until some caller is held at the gate.
  bool wait_until_held() {
    return state_.wait([&] { return waiting_ > 0; });
  }

 private:
  waiter state_;
  bool open_ = false;
  int waiting_ = 0;
};

}  // namespace wiregen::test
