#pragma once

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace wiregen::detail {

/// One hashed timing wheel per event loop, for connection timeouts: a
/// connection keeps one entry, due at its earliest deadline. Activity only
/// updates timestamps, so a read costs no timer operation; an entry is looked
/// at when its slot comes round and re-filed if its deadline moved on. Every
/// operation is O(1), so timer cost stays flat with the number of connections,
/// and one Asio timer per loop wakes only when a slot holds entries.
/// Single-threaded: used on its loop's thread only.
class timer_wheel final : public asio::execution_context::service {
 public:
  using clock = std::chrono::steady_clock;

  /// What a connection files in the wheel; intrusive, so filing allocates nothing.
  class entry {
   public:
    entry() = default;
    entry(const entry&) = delete;
    entry& operator=(const entry&) = delete;

    /// Called on the loop's thread once `due` has passed. The entry is out
    /// of the wheel by then and may file itself again.
    virtual void expired(clock::time_point now) = 0;

    bool is_filed() const noexcept { return wheel_ != nullptr; }

   protected:
    ~entry() = default;

    /// Out of whichever wheel holds it; harmless if none does.
    void withdraw() noexcept {
      if (wheel_ != nullptr) {
        wheel_->cancel(*this);
      }
    }

   private:
    friend class timer_wheel;
    timer_wheel* wheel_ = nullptr;
    entry* prev_ = nullptr;
    entry* next_ = nullptr;
    clock::time_point due_;
    std::size_t slot_ = 0;
  };

  /// Granularity: deadlines fire up to this much late.
  static constexpr std::chrono::milliseconds resolution{10};

  static asio::execution_context::id id;

  explicit timer_wheel(asio::execution_context& context);
  ~timer_wheel() override;

  /// The wheel of `context`, created on first use.
  static timer_wheel& of(asio::io_context& context) {
    return asio::use_service<timer_wheel>(context);
  }

  /// Files `e` to expire at `due`, moving it if it is filed already.
  void schedule(entry& e, clock::time_point due);
  /// Takes `e` out of the wheel; harmless if it is not filed.
  void cancel(entry& e) noexcept;

 private:
  static constexpr std::size_t slot_count = 512;

  void shutdown() override;
  std::uint64_t tick_of(clock::time_point t) const noexcept;
  void arm(std::uint64_t tick);
  void on_tick(std::uint64_t generation);

  asio::steady_timer timer_;
  clock::time_point origin_;
  std::array<entry*, slot_count> slots_{};
  std::size_t filed_ = 0;
  std::uint64_t next_tick_ = 0;   // the first tick not processed yet
  std::uint64_t armed_tick_ = 0;  // when the timer fires; 0 when idle
  std::uint64_t generation_ = 0;  // tells a stale timer wake-up from the current one
};

}  // namespace wiregen::detail
