// The bench protocol over UDP: sends EchoRequests one at a time, each as one
// datagram, and checks every EchoReply. UDP may lose a datagram, so a
// request without a reply within --timeout-ms is sent again, up to three
// times. Prints a summary; exits 1 if a reply never came or was wrong.
//
//   echo_udp_client --connect 127.0.0.1:7000 [--requests N] [--payload-size BYTES]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>

#include "echo.wiregen.h"

namespace {

/// Hands each reply from the receive thread to the sending one.
class reply_slot final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    std::lock_guard lock(mutex_);
    reply_ = reply;
    arrived_.notify_all();
  }

  /// The reply to `seq`, waiting up to `timeout`; stale replies are skipped.
  std::optional<bench::EchoReply> wait_for(std::uint64_t seq, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, timeout, [&] { return reply_ && reply_->seq() == seq; })) {
      return std::nullopt;
    }
    return std::exchange(reply_, std::nullopt);
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<bench::EchoReply> reply_;
};

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s --connect HOST:PORT [--requests N] [--payload-size BYTES] "
               "[--timeout-ms MS]\n",
               program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::host_port server;
  bool have_server = false;
  unsigned long requests = 1000;
  std::size_t payload_size = 100;
  std::chrono::milliseconds timeout(1000);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--connect" && !wiregen::parse_host_port(argv[i + 1], server)) {
      have_server = true;
    } else if (flag == "--requests") {
      requests = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (flag == "--payload-size") {
      payload_size = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (flag == "--timeout-ms") {
      timeout = std::chrono::milliseconds(std::strtoul(argv[i + 1], nullptr, 10));
    } else {
      return usage(argv[0]);
    }
  }
  if (!have_server || argc % 2 == 0) {
    return usage(argv[0]);
  }

  reply_slot replies;
  bench::datagram_client client(replies);
  if (const auto ec = client.connect(server.host, server.port)) {
    std::fprintf(stderr, "echo_udp_client: %s\n", ec.message().c_str());
    return 1;
  }
  bench::EchoRequest request;
  request.set_payload(std::string(payload_size, 'u'));
  unsigned long verified = 0;
  unsigned long resent = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < requests; ++seq) {
    request.set_seq(seq);
    std::optional<bench::EchoReply> reply;
    for (int attempt = 0; attempt < 3 && !reply; ++attempt) {
      resent += attempt > 0;
      if (const auto ec = client.send(request)) {
        std::fprintf(stderr, "echo_udp_client: send %llu: %s\n",
                     static_cast<unsigned long long>(seq), ec.message().c_str());
        return 1;
      }
      reply = replies.wait_for(seq, timeout);
    }
    if (!reply || reply->payload() != request.payload()) {
      std::fprintf(stderr, "echo_udp_client: request %llu: %s\n",
                   static_cast<unsigned long long>(seq),
                   reply ? "wrong payload" : "no reply after 3 attempts");
      return 1;
    }
    ++verified;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("echo_udp_client: %lu requests, %lu verified replies, %lu resent, %.3f s\n", requests,
              verified, resent, took.count());
  return 0;
}
