// Sends N EchoRequests over one connection, keeping up to P outstanding,
// checks that every EchoReply matches its request, and prints a summary.
//
//   echo_client --connect 127.0.0.1:7000|unix:/tmp/echo.sock [--requests N] [--pipeline P]
//   [--payload-size S]
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>

#include "echo.wiregen.h"

namespace {

std::string payload_for(std::uint64_t seq, std::size_t size) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<char>((seq * 31 + i) & 0xff);
  }
  return payload;
}

class checking_handler final : public bench::client_handler {
 public:
  explicit checking_handler(std::size_t payload_size) : payload_size_(payload_size) {}

  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    std::lock_guard lock(mutex_);
    if (reply.seq() != received_ || reply.payload() != payload_for(reply.seq(), payload_size_)) {
      ++mismatches_;
    }
    ++received_;
    changed_.notify_all();
  }

  void on_closed(bench::client_session&, std::error_code,
                 const wiregen::connection_stats&) override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  /// Waits until fewer than `limit` replies are missing for `sent` requests.
  bool wait_until_outstanding_below(std::uint64_t sent, std::uint64_t limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] {
      return closed_ || sent - received_ < limit;
    }) && !closed_;
  }

  std::uint64_t received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::uint64_t mismatches() {
    std::lock_guard lock(mutex_);
    return mismatches_;
  }

 private:
  std::size_t payload_size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t received_ = 0;
  std::uint64_t mismatches_ = 0;
  bool closed_ = false;
};

int usage(const char* program) {
  std::fprintf(
      stderr,
      "usage: %s --connect HOST:PORT|unix:PATH [--requests N] [--pipeline P] [--payload-size S]\n",
      program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::socket_address target;
  bool have_target = false;
  std::uint64_t requests = 1000;
  std::uint64_t pipeline = 16;
  std::size_t payload_size = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--connect" && !wiregen::parse_socket_address(value, target)) {
      have_target = true;
    } else if (flag == "--requests") {
      requests = std::strtoull(value, nullptr, 10);
    } else if (flag == "--pipeline") {
      pipeline = std::max<std::uint64_t>(1, std::strtoull(value, nullptr, 10));
    } else if (flag == "--payload-size") {
      payload_size = std::strtoul(value, nullptr, 10);
    } else {
      return usage(argv[0]);
    }
  }
  if (!have_target || argc % 2 == 0) {
    return usage(argv[0]);
  }

  checking_handler handler(payload_size);
  bench::client client(handler);
  if (const auto ec = client.connect(target)) {
    std::fprintf(stderr, "echo_client: cannot connect to %s: %s\n", target.to_string().c_str(),
                 ec.message().c_str());
    return 1;
  }
  const auto session = client.session();
  const auto start = std::chrono::steady_clock::now();
  bench::EchoRequest request;
  for (std::uint64_t seq = 0; seq < requests; ++seq) {
    if (!handler.wait_until_outstanding_below(seq, pipeline)) {
      break;
    }
    request.set_seq(seq);
    request.set_payload(payload_for(seq, payload_size));
    if (const auto ec = session.send(request)) {
      std::fprintf(stderr, "echo_client: send failed: %s\n", ec.message().c_str());
      break;
    }
  }
  handler.wait_until_outstanding_below(requests, 1);
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  client.stop(wiregen::stop_mode::graceful_wait);

  const auto received = handler.received();
  const auto mismatches = handler.mismatches();
  std::printf("echo_client: %llu requests, %llu replies, %llu mismatched, %.3f s (%.0f req/s)\n",
              static_cast<unsigned long long>(requests), static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(mismatches), elapsed.count(),
              static_cast<double>(received) / std::max(elapsed.count(), 1e-9));
  return received == requests && mismatches == 0 ? 0 : 1;
}
