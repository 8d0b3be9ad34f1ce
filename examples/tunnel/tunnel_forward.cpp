// A TCP forwarder on a RAW protocol: each connection accepted on --listen is
// spliced to a new connection to --to, bytes copied both ways as they come.
// Backpressure holds both ways: when one side's send queue is full, reading
// from the other side pauses until it drains, so a slow reader slows the
// writer at the far end instead of the forwarder buffering without bound.
//
//   tunnel_forward --listen 127.0.0.1:7003 --to 127.0.0.1:7002
//   nc 127.0.0.1 7003
//
// Either side closing closes the other once what was queued for it is
// written (no half-close). Each spliced pair dials from a thread of its own
// and runs its outbound connection on a wiregen::client (one I/O thread per
// pair): the way to hand a blocking step to another thread and resume the
// connection when it is done, without blocking its I/O thread.
#include <any>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include <wiregen/address.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "tunnel.wiregen.h"

namespace {

/// Copies `data` to `to`; when `to` has no room, pauses `from` and queues the
/// bytes as soon as there is room, then lets `from` go on.
template <class From, class To>
void copy_with_backpressure(const From& from, const To& to, std::span<const std::uint8_t> data) {
  if (to.send(data) == wiregen::error::send_queue_full) {
    from.pause_reading(true);
    to.async_send(data, [from](std::error_code) { from.pause_reading(false); });
  }
}

/// How many spliced pairs are alive, so that main() can wait for the last.
class pair_count {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++count_;
  }
  void remove() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0) {
      none_.notify_all();
    }
  }
  bool wait_none(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return none_.wait_for(lock, timeout, [this] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable none_;
  int count_ = 0;
};
pair_count pairs;

/// One accepted connection and the connection dialed for it.
class splice final : public tunnel::client_handler {
 public:
  explicit splice(tunnel::server_session inbound) : inbound_(std::move(inbound)) { pairs.add(); }
  ~splice() override {
    outbound_.stop(wiregen::stop_mode::immediate);
    pairs.remove();
  }

  /// Runs the pair on a thread of its own, which dials (the accepted
  /// connection's thread goes on serving others; its reading stays paused
  /// until the far end answers) and then holds the pair until the dialed
  /// connection closed: the pair never ends on one of its own I/O threads.
  static void start(std::shared_ptr<splice> self, wiregen::socket_address target) {
    std::thread([self = std::move(self), target] {
      if (const auto ec = self->outbound_.connect(target)) {
        std::fprintf(stderr, "tunnel_forward: %s: cannot reach %s: %s\n",
                     self->inbound_.tagged_remote_address().c_str(), target.to_string().c_str(),
                     ec.message().c_str());
        self->inbound_.stop();
        return;
      }
      self->inbound_.pause_reading(false);
      self->outbound_closed_.get_future().wait();
    }).detach();
  }

  /// From the accepted connection's thread: client bytes go out.
  void forward(std::span<const std::uint8_t> data) {
    copy_with_backpressure(inbound_, outbound_.session(), data);
  }
  void inbound_closed() { outbound_.stop(wiregen::stop_mode::graceful); }

  // The dialed connection's events, on its client's thread.
  void on_data(tunnel::client_session& session, std::span<const std::uint8_t> data) override {
    copy_with_backpressure(session, inbound_, data);
  }
  void on_closed(tunnel::client_session& /*session*/, std::error_code /*reason*/,
                 const wiregen::connection_stats& /*stats*/) override {
    inbound_.stop(wiregen::stop_mode::graceful);
    outbound_closed_.set_value();
  }

 private:
  tunnel::server_session inbound_;
  std::promise<void> outbound_closed_;
  tunnel::client outbound_{*this};  // last: stopped and joined before the rest goes
};

class forward_handler final : public tunnel::server_handler {
 public:
  explicit forward_handler(wiregen::socket_address target) : target_(std::move(target)) {}

  void on_connected(tunnel::server_session& session) override {
    session.pause_reading(true);  // nowhere to send to yet
    auto link = std::make_shared<splice>(session);
    session.user_data() = link;
    splice::start(link, target_);
  }
  void on_data(tunnel::server_session& session, std::span<const std::uint8_t> data) override {
    std::any_cast<std::shared_ptr<splice>&>(session.user_data())->forward(data);
  }
  void on_closed(tunnel::server_session& session, std::error_code reason,
                 const wiregen::connection_stats& stats) override {
    std::any_cast<std::shared_ptr<splice>&>(session.user_data())->inbound_closed();
    session.user_data().reset();
    std::fprintf(stderr, "tunnel_forward: %s closed, %llu byte(s) in, %llu out: %s\n",
                 session.tagged_remote_address().c_str(),
                 static_cast<unsigned long long>(stats.bytes_received),
                 static_cast<unsigned long long>(stats.bytes_sent),
                 reason ? reason.message().c_str() : "closed here");
  }

 private:
  wiregen::socket_address target_;
};

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s --listen ADDRESS --to ADDRESS\n", program);
  std::fprintf(stderr, "  ADDRESS: HOST:PORT, [V6]:PORT, unix:PATH or unix:@NAME\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::socket_address listen;
  wiregen::socket_address target;
  bool have_listen = false;
  bool have_target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const bool is_listen = std::strcmp(argv[i], "--listen") == 0;
    const bool is_target = std::strcmp(argv[i], "--to") == 0;
    if ((!is_listen && !is_target) ||
        wiregen::parse_socket_address(argv[i + 1], is_listen ? listen : target)) {
      return usage(argv[0]);
    }
    (is_listen ? have_listen : have_target) = true;
  }
  if (!have_listen || !have_target || argc % 2 == 0) {
    return usage(argv[0]);
  }

  wiregen::shutdown_signals signals;
  forward_handler handler(target);
  tunnel::server server(handler);
  if (const auto ec = server.listen(listen)) {
    std::fprintf(stderr, "tunnel_forward: cannot listen on %s: %s\n", listen.to_string().c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "tunnel_forward: forwarding %s to %s\n",
               server.local_addresses().front().to_string().c_str(), target.to_string().c_str());
  signals.wait();
  server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  return pairs.wait_none(std::chrono::seconds(5)) ? 0 : 1;
}
