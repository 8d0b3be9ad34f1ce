// The send queue on its own, with no socket: bounds, the order of waiting
// senders, watermark events, what is counted as dropped, and the close.
// The owner's side (events) is played by a recorder; writes are take() and
// release() called by the test.
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "wiregen/detail/send_queue.hpp"

using namespace std::chrono_literals;
using wiregen::detail::send_bounds;
using wiregen::detail::send_queue;

namespace {

struct recorder final : send_queue::events {
  void write_ready() override { ++rounds; }
  void writability_changed() override { ++flips; }
  std::atomic<int> rounds{0};
  std::atomic<int> flips{0};
};

/// A frame of `size` bytes, all `tag`.
struct frame {
  std::size_t size;
  char tag;
  void operator()(std::uint8_t* out) const { std::memset(out, tag, size); }
};

std::error_code push(send_queue& q, std::size_t size, char tag) {
  frame f{size, tag};
  return q.push(size, f);
}

/// What a write round would send now: the tags of the pending bytes, in order.
std::string drain_pending(send_queue& q, std::size_t& frames) {
  wiregen::byte_buffer out;
  frames = 0;
  if (!q.take(out, frames)) {
    return {};
  }
  const auto bytes = out.readable();
  q.release(bytes.size());
  std::string tags;
  for (const auto b : bytes) {
    if (tags.empty() || tags.back() != static_cast<char>(b)) {
      tags += static_cast<char>(b);
    }
  }
  return tags;
}

send_queue::waiter_ptr async_waiter(std::size_t size, char tag, std::vector<std::string>& log) {
  auto w = std::make_shared<send_queue::waiter>();
  w->bytes.assign(size, static_cast<std::uint8_t>(tag));
  w->complete = [&log, tag](std::error_code ec) {
    log.push_back(std::string(1, tag) + (ec ? ":" + ec.message() : ":queued"));
  };
  return w;
}

}  // namespace

TEST_CASE("send queue: bounded in bytes, one write round at a time", "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{100, 50};
  send_queue q(bounds, owner);
  CHECK_FALSE(push(q, 60, 'a'));
  CHECK(owner.rounds == 1);
  CHECK_FALSE(push(q, 40, 'b'));  // exactly the bound
  CHECK(owner.rounds == 1);       // the round already running takes it too
  CHECK(q.queued_bytes() == 100);
  CHECK(push(q, 1, 'c') == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 1);
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "ab");
  CHECK(frames == 2);
  CHECK(q.queued_bytes() == 0);
  wiregen::byte_buffer none;
  CHECK_FALSE(q.take(none, frames));  // the round ends
  CHECK_FALSE(q.write_round_running());
  CHECK_FALSE(push(q, 1, 'd'));
  CHECK(owner.rounds == 2);  // a new round
}

TEST_CASE("send queue: bounded in frames as well, with the same refusal, count and recovery",
          "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{1000, 1000, 4};
  send_queue q(bounds, owner);
  for (char tag : {'a', 'b', 'c', 'd'}) {
    CHECK_FALSE(push(q, 1, tag));
  }
  CHECK(push(q, 1, 'e') == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 1);
  CHECK_FALSE(q.is_writable());
  CHECK(owner.flips == 1);
  // The writer takes the four: room for four more, and writable again.
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "abcd");
  CHECK(frames == 4);
  CHECK(q.is_writable());
  for (char tag : {'f', 'g', 'h', 'i'}) {
    CHECK_FALSE(push(q, 1, tag));
  }
  CHECK(push(q, 1, 'j') == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 2);
}

TEST_CASE("send queue: a frame larger than the bound goes into an empty queue",
          "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{100, 50};
  send_queue q(bounds, owner);
  CHECK_FALSE(push(q, 500, 'a'));
  CHECK(q.queued_bytes() == 500);
  CHECK(push(q, 1, 'b') == wiregen::error::send_queue_full);
  CHECK(push(q, 500, 'c') == wiregen::error::send_queue_full);
}

TEST_CASE("send queue: each watermark change is reported exactly once", "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{100, 30};
  send_queue q(bounds, owner);
  CHECK_FALSE(push(q, 100, 'a'));
  CHECK(owner.flips == 0);
  CHECK(push(q, 10, 'b') == wiregen::error::send_queue_full);
  CHECK_FALSE(q.is_writable());
  CHECK(owner.flips == 1);
  CHECK(push(q, 10, 'c') == wiregen::error::send_queue_full);
  CHECK(owner.flips == 1);  // still unwritable: no second report
  wiregen::byte_buffer out;
  std::size_t frames = 0;
  REQUIRE(q.take(out, frames));
  q.release(60);  // 40 left: above the low watermark
  CHECK_FALSE(q.is_writable());
  CHECK(owner.flips == 1);
  q.release(10);  // 30 left: at the low watermark
  CHECK(q.is_writable());
  CHECK(owner.flips == 2);
  q.release(30);
  CHECK(owner.flips == 2);
}

TEST_CASE("send queue: waiters get in first come, first served, and nobody overtakes them",
          "[runtime][send_queue]") {
  asio::io_context context(1);
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  std::vector<std::string> log;
  CHECK_FALSE(push(q, 100, 'a'));
  q.push_async(async_waiter(60, 'b', log), 0ms, context, nullptr);
  q.push_async(async_waiter(30, 'c', log), 0ms, context, nullptr);
  q.push_async(async_waiter(50, 'd', log), 0ms, context, nullptr);
  CHECK(q.waiting_senders() == 3);
  // Small enough to fit after the first waiter, but it would overtake it.
  CHECK(push(q, 1, 'x') == wiregen::error::send_queue_full);
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "a");  // releasing 100 lets b and c in, d waits
  CHECK(log == std::vector<std::string>{"b:queued", "c:queued"});
  CHECK(q.waiting_senders() == 1);
  CHECK(drain_pending(q, frames) == "bc");
  CHECK(frames == 2);
  CHECK(log.back() == "d:queued");
  CHECK(drain_pending(q, frames) == "d");
}

TEST_CASE("send queue: the line of waiting senders is bounded in senders and bytes",
          "[runtime][send_queue]") {
  // Without a bound, a handler replying with async_send to a peer that
  // never reads made every reply a waiter holding its frame, for ever.
  asio::io_context context(1);
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  const send_queue::line_bound bound{3, 150};
  std::vector<std::string> log;
  CHECK_FALSE(push(q, 100, 'a'));
  // The first waiter always gets in line, even past the byte bound.
  q.push_async(async_waiter(200, 'b', log), 0ms, context, nullptr, bound);
  q.push_async(async_waiter(10, 'c', log), 0ms, context, nullptr, {3, 1000});
  CHECK(q.waiting_senders() == 2);
  q.push_async(async_waiter(10, 'd', log), 0ms, context, nullptr, bound);  // 210 + 10 > 150
  const std::string full = std::error_code(wiregen::error::send_queue_full).message();
  CHECK(log == std::vector<std::string>{"d:" + full});
  CHECK(q.frames_dropped() == 1);
  q.push_async(async_waiter(10, 'e', log), 0ms, context, nullptr, {3, 1000});
  q.push_async(async_waiter(1, 'f', log), 0ms, context, nullptr, {3, 1000});  // a fourth
  CHECK(log.back() == "f:" + full);
  frame g{1, 'g'};
  auto fill = [](void* p, std::uint8_t* out) { (*static_cast<frame*>(p))(out); };
  CHECK(q.push_for(g.size, fill, &g, 10s, {}, true, {3, 1000}) == wiregen::error::send_queue_full);
  CHECK(q.waiting_senders() == 3);
  CHECK(q.frames_dropped() == 3);
  // Those in line still get in, in order; then the line has room again.
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "a");
  CHECK(drain_pending(q, frames) == "b");
  CHECK(drain_pending(q, frames) == "ce");
  CHECK(log ==
        std::vector<std::string>{"d:" + full, "f:" + full, "b:queued", "c:queued", "e:queued"});
  CHECK(q.waiting_senders() == 0);
  // The line's bytes went back to nothing: 10 + 10 fit a bound of 20 again,
  // one byte more does not; one that leaves gives its bytes back.
  CHECK_FALSE(push(q, 100, 'h'));
  const send_queue::line_bound tight{3, 20};
  q.push_async(async_waiter(10, 'i', log), 0ms, context, nullptr, tight);
  auto j = async_waiter(10, 'j', log);
  q.push_async(j, 0ms, context, nullptr, tight);
  q.push_async(async_waiter(1, 'k', log), 0ms, context, nullptr, tight);
  CHECK(log.back() == "k:" + full);
  q.abandon(j, wiregen::error::send_cancelled);
  q.push_async(async_waiter(10, 'l', log), 0ms, context, nullptr, tight);
  CHECK(q.waiting_senders() == 2);
  CHECK(drain_pending(q, frames) == "h");
  CHECK(drain_pending(q, frames) == "il");
}

TEST_CASE("send queue: a blocked sender waits its turn behind an async one",
          "[runtime][send_queue]") {
  asio::io_context context(1);
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  std::vector<std::string> log;
  CHECK_FALSE(push(q, 100, 'a'));
  q.push_async(async_waiter(50, 'b', log), 0ms, context, nullptr);
  frame blocked{50, 'c'};
  auto sent = std::async(std::launch::async, [&] {
    return q.push_for(
        blocked.size, [](void* f, std::uint8_t* out) { (*static_cast<frame*>(f))(out); }, &blocked,
        10s, {}, true);
  });
  while (q.waiting_senders() < 2) {
    std::this_thread::yield();  // until the sender is in line: bounded by the test's timeout
  }
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "a");
  CHECK(sent.get() == std::error_code());
  CHECK(drain_pending(q, frames) == "bc");
}

TEST_CASE("send queue: a timeout or a cancel counts as dropped", "[runtime][send_queue]") {
  asio::io_context context(1);
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  CHECK_FALSE(push(q, 100, 'a'));
  frame f{10, 'b'};
  auto fill = [](void* p, std::uint8_t* out) { (*static_cast<frame*>(p))(out); };
  CHECK(q.push_for(f.size, fill, &f, 20ms, {}, true) == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 1);
  std::stop_source cancel;
  auto cancelled = std::async(std::launch::async, [&] {
    return q.push_for(f.size, fill, &f, 10s, cancel.get_token(), true);
  });
  while (q.waiting_senders() < 1) {
    std::this_thread::yield();
  }
  cancel.request_stop();
  CHECK(cancelled.get() == wiregen::error::send_cancelled);
  CHECK(q.frames_dropped() == 2);
  // On the draining thread a sender cannot wait: refused at once.
  CHECK(q.push_for(f.size, fill, &f, 10s, {}, false) == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 3);
  // An async sender's deadline, on the owner's loop.
  std::vector<std::string> log;
  q.push_async(async_waiter(10, 'c', log), 20ms, context, nullptr);
  context.run();
  CHECK(log == std::vector<std::string>{
                   "c:" + wiregen::make_error_code(wiregen::error::send_queue_full).message()});
  CHECK(q.frames_dropped() == 4);
  CHECK(q.waiting_senders() == 0);
}

TEST_CASE("send queue: close fails every waiter at once and drops what is pending",
          "[runtime][send_queue]") {
  asio::io_context context(1);
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  std::vector<std::string> log;
  CHECK_FALSE(push(q, 100, 'a'));
  q.push_async(async_waiter(10, 'b', log), 0ms, context, nullptr);
  q.push_async(async_waiter(10, 'c', log), 10s, context, nullptr);
  frame f{10, 'd'};
  auto blocked = std::async(std::launch::async, [&] {
    return q.push_for(
        f.size, [](void* p, std::uint8_t* out) { (*static_cast<frame*>(p))(out); }, &f, 10s, {},
        true);
  });
  while (q.waiting_senders() < 3) {
    std::this_thread::yield();
  }
  q.close(wiregen::error::connection_closed);
  CHECK(blocked.get() == wiregen::error::connection_closed);
  const auto closed = ":" + wiregen::make_error_code(wiregen::error::connection_closed).message();
  CHECK(log == std::vector<std::string>{"b" + closed, "c" + closed});
  CHECK(q.frames_dropped() == 4);  // three waiters and the pending frame
  CHECK(q.queued_bytes() == 0);
  CHECK(push(q, 1, 'e') == wiregen::error::connection_closed);
  CHECK(q.push_batch({}, 0) == wiregen::error::connection_closed);
  context.run();  // the cancelled deadline settles
}

TEST_CASE("send queue: stop_accepting keeps what is pending for the flush",
          "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{100, 100};
  send_queue q(bounds, owner);
  CHECK_FALSE(push(q, 30, 'a'));
  q.stop_accepting(wiregen::error::connection_closed);
  CHECK(push(q, 1, 'b') == wiregen::error::connection_closed);
  CHECK_FALSE(q.push_if_idle(std::vector<std::uint8_t>(4, 'h')));
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "a");
  CHECK(q.frames_dropped() == 0);
}

TEST_CASE("send queue: a heartbeat goes only into an idle queue, and is never refused",
          "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{10, 5};
  send_queue q(bounds, owner);
  const std::vector<std::uint8_t> beat(4, 'h');
  CHECK(q.push_if_idle(beat));
  CHECK_FALSE(q.push_if_idle(beat));  // not idle any more
  CHECK(q.is_writable());
  CHECK(q.frames_dropped() == 0);
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "h");
}

TEST_CASE("send queue: a batch goes only into an empty queue", "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{10, 5};
  send_queue q(bounds, owner);
  const std::vector<std::uint8_t> backlog(40, 'k');  // larger than the bound: fine when empty
  CHECK_FALSE(q.push_batch(backlog, 4));
  CHECK(q.push_batch(backlog, 4) == wiregen::error::send_queue_full);
  CHECK(q.frames_dropped() == 0);  // a refused batch is the caller's to keep
  std::size_t frames = 0;
  CHECK(drain_pending(q, frames) == "k");
  CHECK(frames == 4);
}

TEST_CASE("send queue: the close latch", "[runtime][send_queue]") {
  recorder owner;
  const send_bounds bounds{10, 5};
  send_queue q(bounds, owner);
  CHECK_FALSE(q.wait_closed(10ms));
  auto waited = std::async(std::launch::async, [&] { return q.wait_closed(10s); });
  q.mark_closed();
  CHECK(waited.get());
  CHECK(q.wait_closed(0ms));
}
