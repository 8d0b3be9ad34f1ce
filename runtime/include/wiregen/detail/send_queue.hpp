#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stop_token>
#include <system_error>
#include <utility>
#include <vector>

#include "wiregen/byte_buffer.hpp"
#include "wiregen/detail/buffer_pool.hpp"
#include "wiregen/detail/small_mutex.hpp"
#include "wiregen/error.hpp"

namespace wiregen::detail {

/// How many senders may wait for room in a send_queue, and how many bytes
/// of frames they may hold between them. The first always may wait, however
/// large its frame (it waits for an empty queue).
struct send_line_bound {
  std::size_t senders = SIZE_MAX;
  std::size_t bytes = SIZE_MAX;
};

/// What a send_queue may hold: bytes (the high watermark), frames not yet
/// handed to the socket, and the low watermark at which a queue that
/// refused a send turns writable again. Shared by every queue made with the
/// same options, which must outlive them.
struct send_bounds {
  std::size_t max_bytes = SIZE_MAX;
  std::size_t low_watermark = SIZE_MAX;
  std::size_t max_frames = SIZE_MAX;
};

/// The frames one connection has still to send, bounded in bytes, with the
/// senders waiting for room and the watermarks. Thread-safe: any thread
/// pushes; the connection's thread takes what is pending, writes it and
/// releases what was written. No socket: the owner hears through `events`
/// when a write round should start and when writability changed.
class send_queue {
 public:
  using clock = std::chrono::steady_clock;

  /// What the queue tells its owner. Called without the queue's lock held,
  /// except writability_changed, which must only post.
  class events {
   public:
    /// The queue went from idle to holding frames: start a write round,
    /// which ends when take() finds nothing.
    virtual void write_ready() = 0;
    /// is_writable() flipped. Once per flip; the owner reads the state
    /// when it reports it, as flips may come from several threads.
    virtual void writability_changed() = 0;

   protected:
    ~events() = default;
  };

  /// A sender waiting for room: a blocked push_for (whose caller's fill
  /// stays valid while it waits) or a push_async (which owns its encoded
  /// bytes and completes through `complete`).
  struct waiter {
    std::size_t size = 0;
    void (*fill)(void* context, std::uint8_t* out) = nullptr;
    void* fill_context = nullptr;
    std::vector<std::uint8_t> bytes;
    std::function<void(std::error_code)> complete;
    std::unique_ptr<asio::steady_timer> deadline;
    bool done = false;
    std::error_code result;
  };
  using waiter_ptr = std::shared_ptr<waiter>;
  using line_bound = send_line_bound;

  /// Past `bounds.max_bytes` queued, or `bounds.max_frames` frames not yet
  /// taken by the writer, sends are refused or wait; once refused, the queue
  /// is writable again at `bounds.low_watermark` bytes.
  send_queue(const send_bounds& bounds, events& owner) noexcept : bounds_(bounds), owner_(owner) {}
  send_queue(const send_queue&) = delete;
  send_queue& operator=(const send_queue&) = delete;
  ~send_queue();

  /// Appends one frame of `size` bytes written by `fill(out)` under the
  /// lock, so that frames of concurrent senders stay whole and in order.
  /// connection_closed once closed; send_queue_full (counted as dropped,
  /// and the queue turns unwritable) when it does not fit or senders wait.
  /// A frame larger than the whole bound still goes into an empty queue.
  template <class Fill>
  std::error_code push(std::size_t size, Fill& fill);

  /// Appends `bytes`, `frames` whole frames, as one unit, only into an
  /// empty queue with nobody waiting (else send_queue_full, not counted).
  std::error_code push_batch(std::span<const std::uint8_t> bytes, std::size_t frames);

  /// Appends `frame` only if the queue is empty and open; never refused,
  /// counted or turning the queue unwritable. For heartbeats.
  bool push_if_idle(std::span<const std::uint8_t> frame);

  /// push, but waits up to `timeout` for room behind earlier waiters when
  /// `may_wait` (false on the thread that drains the queue: it would wait
  /// for itself). send_queue_full when the time is up, send_cancelled when
  /// `cancel` fires, connection_closed at once when the queue closes, and
  /// send_queue_full at once when the line is full (`bound`).
  std::error_code push_for(std::size_t size, void (*fill)(void*, std::uint8_t*), void* fill_context,
                           std::chrono::milliseconds timeout, std::stop_token cancel, bool may_wait,
                           line_bound bound = {});

  /// Queues `w` (its `bytes` and `complete` set) now, or in line for room
  /// (bounded as for push_for); `complete` is called once with the outcome,
  /// never under the lock. A nonzero `timeout` fails it with
  /// send_queue_full on `context` after that long; `keep_alive` is held by
  /// that timer's handler.
  void push_async(const waiter_ptr& w, std::chrono::milliseconds timeout, asio::io_context& context,
                  std::shared_ptr<void> keep_alive, line_bound bound = {});

  /// Takes `w` out of line with `reason` (counted as dropped); nothing if it
  /// was settled already.
  void abandon(const waiter_ptr& w, std::error_code reason);

  /// The consumer (the connection's thread). Moves the pending frames into
  /// `out` (which must be empty) and their count into `frames`; false when
  /// nothing is pending, which ends the write round.
  bool take(byte_buffer& out, std::size_t& frames);
  /// `n` bytes of what was taken left: admits waiters in order while they
  /// fit, and turns the queue writable at the low watermark.
  void release(std::size_t n);
  /// Whether a write round is running (or about to): the queue is not
  /// flushed until it ends.
  bool write_round_running() const;

  /// Stops accepting sends and fails every waiter at once with `reason`;
  /// what is pending stays, to be flushed. Idempotent.
  void stop_accepting(std::error_code reason);
  /// stop_accepting, then drops what is pending (counted as dropped) and
  /// ends the write round. What take() handed out is the caller's to count.
  void close(std::error_code reason);

  /// The close latch: set once the owner has reported its close;
  /// wait_closed blocks until then or `timeout`.
  void mark_closed();
  bool wait_closed(std::chrono::milliseconds timeout);

  bool is_writable() const noexcept { return writable_.load(); }
  bool is_accepting() const;
  std::size_t queued_bytes() const;
  std::size_t waiting_senders() const;
  /// Frames refused, timed out, cancelled or failed by close, plus those
  /// the owner counted (count_dropped).
  std::uint64_t frames_dropped() const noexcept { return dropped_.load(); }
  void count_dropped(std::uint64_t frames) noexcept {
    dropped_.fetch_add(frames, std::memory_order_relaxed);
  }

 private:
  /// Senders waiting for room, in arrival order, and the condition the
  /// blocked ones and wait_closed() wait on; made by the first of them, as
  /// most queues never have one.
  // The frames pushed since the last take(): from a thread's cache while
  // there are any, so that an idle queue holds only a null pointer.
  struct queued {
    byte_buffer bytes;
    std::size_t frames = 0;
  };
  static queued* take_queued();
  static void give_back_queued(queued* q) noexcept;

  struct waiting_line {
    std::vector<waiter_ptr> waiters;
    std::size_t bytes = 0;  // the waiters' frames
    std::condition_variable_any changed;
  };

  bool room_for_locked(std::size_t size) const noexcept {
    const std::size_t frames = pending_ != nullptr ? pending_->frames : 0;
    return (queued_bytes_ == 0 || queued_bytes_ + size <= bounds_.max_bytes) &&
           frames < bounds_.max_frames;
  }
  bool anyone_waiting_locked() const noexcept { return line_ && !line_->waiters.empty(); }
  bool fits_locked(std::size_t size) const noexcept {
    return !anyone_waiting_locked() && room_for_locked(size);  // nobody overtakes a waiter
  }
  /// Whether a sender of `size` bytes may not wait, past `bound`.
  bool line_full_locked(std::size_t size, line_bound bound) const noexcept {
    return anyone_waiting_locked() &&
           (line_->waiters.size() >= bound.senders || line_->bytes + size > bound.bytes);
  }
  void enter_line_locked(const waiter_ptr& w);
  void leave_line_locked(const waiter_ptr& w);
  /// Appends under the lock; true when this starts a write round.
  template <class Fill>
  bool append_locked(std::size_t size, Fill& fill, std::size_t frames = 1);
  void refuse_locked();
  void mark_unwritable_locked();
  waiting_line& line_locked();
  void notify_locked();
  void admit_locked(std::vector<waiter_ptr>& admitted);
  void fail_waiters_locked(std::error_code reason, std::vector<waiter_ptr>& failed);
  static void complete_all(const std::vector<waiter_ptr>& settled, std::error_code reason);

  // Ordered to pack: this is part of every connection.
  const send_bounds& bounds_;
  events& owner_;
  std::atomic<std::uint64_t> dropped_{0};

  mutable small_mutex mutex_;  // guards everything below but writable_
  std::atomic<bool> writable_{true};
  bool accepting_ = true;
  bool round_running_ = false;
  bool closed_ = false;           // the close latch
  queued* pending_ = nullptr;     // frames pushed since the last take()
  std::size_t queued_bytes_ = 0;  // pending_ plus what was taken and not released
  std::unique_ptr<waiting_line> line_;
};

template <class Fill>
bool send_queue::append_locked(std::size_t size, Fill& fill, std::size_t frames) {
  if (pending_ == nullptr) {
    pending_ = take_queued();
  }
  buffer_pool::take(pending_->bytes, size);
  fill(pending_->bytes.prepare(size));
  pending_->bytes.commit(size);
  queued_bytes_ += size;
  pending_->frames += frames;
  return !std::exchange(round_running_, true);
}

template <class Fill>
std::error_code send_queue::push(std::size_t size, Fill& fill) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) {
      return error::connection_closed;
    }
    if (!fits_locked(size)) {
      refuse_locked();
      return error::send_queue_full;
    }
    start = append_locked(size, fill);
  }
  if (start) {
    owner_.write_ready();
  }
  return {};
}

}  // namespace wiregen::detail
