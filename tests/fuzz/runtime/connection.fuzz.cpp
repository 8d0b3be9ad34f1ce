// A whole server connection over loopback, fed the input as a client would
// send it (in reads of any size, then end of stream): the PROXY header
// reader, the frame loop, dispatch, replies, the message rate and the error
// policy together. Two servers: one skipping bad frames under a message
// rate, one behind a trusted PROXY header that disconnects. Every
// connection opens and closes exactly once, every handler call happens
// between the two, and nothing leaks.
#include <fuzzer/FuzzedDataProvider.h>
#include <wiregen_fuzz.hpp>

#include "echo.wiregen.h"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace {

using namespace std::chrono_literals;

class fuzz_handler final : public bench::server_handler {
 public:
  explicit fuzz_handler(wiregen::error_action policy) : policy_(policy) {}

  void on_connected(bench::server_session& session) override {
    std::lock_guard lock(mutex_);
    WIREGEN_FUZZ_EXPECT(state_.emplace(session.id(), state::open).second);
    ++opened_;
  }
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    expect_open(session);
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  }
  wiregen::error_action on_error(bench::server_session& session, std::error_code) override {
    expect_open(session);
    return policy_;
  }
  void on_closed(bench::server_session& session, std::error_code,
                 const wiregen::connection_stats& stats) override {
    {
      std::lock_guard lock(mutex_);
      const auto found = state_.find(session.id());
      WIREGEN_FUZZ_EXPECT(found != state_.end() && found->second == state::open);
      found->second = state::closed;
      WIREGEN_FUZZ_EXPECT(stats.queued_bytes == 0 || stats.frames_dropped > 0);
      ++closed_;
    }
    changed_.notify_all();
  }

  /// Waits until every connection opened has closed.
  bool wait_all_closed() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [this] { return closed_ == opened_; });
  }
  std::size_t opened() {
    std::lock_guard lock(mutex_);
    return opened_;
  }

 private:
  enum class state { open, closed };

  void expect_open(bench::server_session& session) {
    std::lock_guard lock(mutex_);
    const auto found = state_.find(session.id());
    WIREGEN_FUZZ_EXPECT(found != state_.end() && found->second == state::open);
  }

  const wiregen::error_action policy_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, state> state_;
  std::size_t opened_ = 0;
  std::size_t closed_ = 0;
};

struct fuzz_server {
  fuzz_server(wiregen::error_action policy, bool behind_proxy)
      : handler(policy), server(handler, options(behind_proxy)) {
    if (server.listen("127.0.0.1", 0)) {
      std::abort();
    }
  }
  static wiregen::server_options options(bool behind_proxy) {
    wiregen::server_options o;
    o.io_threads = 1;
    o.connection.graceful_stop_timeout = 2000ms;
    if (behind_proxy) {
      o.proxy_protocol.enabled = true;
      o.proxy_protocol.trusted_proxies = {"127.0.0.1"};
    } else {
      o.connection.message_rate = 100000;
      o.connection.message_burst = 16;
    }
    return o;
  }
  fuzz_handler handler;
  bench::server server;
};

fuzz_server& server_for(bool behind_proxy) {
  // Never destroyed: libFuzzer may exit from any point.
  static auto* skipping = new fuzz_server(wiregen::error_action::skip, false);
  static auto* proxied = new fuzz_server(wiregen::error_action::disconnect, true);
  return behind_proxy ? *proxied : *skipping;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool behind_proxy = input.ConsumeBool();
  wiregen::fuzz::splitter reads(input.ConsumeIntegral<std::uint32_t>());
  const std::vector<std::uint8_t> stream = input.ConsumeRemainingBytes<std::uint8_t>();
  fuzz_server& target = server_for(behind_proxy);
  const std::size_t opened_before = target.handler.opened();

  asio::io_context context;
  asio::ip::tcp::socket client(context);
  client.connect({asio::ip::make_address("127.0.0.1"), target.server.port()});
  std::error_code ec;
  for (std::size_t offset = 0; offset < stream.size() && !ec;) {
    const std::size_t n = std::min(reads.next(), stream.size() - offset);
    asio::write(client, asio::buffer(stream.data() + offset, n), ec);
    offset += n;
  }
  client.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  // The server closes once it has answered what it read: read to the end.
  std::vector<std::uint8_t> sink(65536);
  while (!ec) {
    (void)client.read_some(asio::buffer(sink), ec);
  }
  WIREGEN_FUZZ_EXPECT(target.handler.wait_all_closed());
  WIREGEN_FUZZ_EXPECT(target.handler.opened() <= opened_before + 1);
  return 0;
}
