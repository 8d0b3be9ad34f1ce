// The echo path allocates nothing per message in steady state: a bench
// server (one I/O thread) echoes pipelined requests from a blocking peer
// that itself allocates nothing in its loop, and every operator new in the
// process is counted while it runs.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "alloc/counting_new.hpp"
#include "echo.wiregen.h"
#include "support/options.hpp"
#include "wiregen/log.hpp"

namespace {

/// Echoes like examples/echo/echo_server: the reply reuses one message.
class echo_handler final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    reply_.set_seq(request.seq());
    reply_.set_payload(request.payload());
    (void)session.send(reply_);
  }

 private:
  bench::EchoReply reply_;  // one I/O thread: no sharing
};

struct steady_state {
  std::size_t allocations = 0;
  std::size_t messages = 0;
};

steady_state run_echo(std::size_t payload_size, std::shared_ptr<wiregen::logger> log = nullptr) {
  echo_handler handler;
  auto options = wiregen::test::with_threads(1);
  options.logger = std::move(log);
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  asio::io_context context;
  asio::ip::tcp::socket peer(context);
  peer.connect({asio::ip::make_address("127.0.0.1"), server.port()});

  // 16 requests in flight per round, encoded once.
  constexpr std::size_t depth = 16;
  std::string requests;
  bench::EchoRequest request;
  request.set_payload(std::string(payload_size, 'x'));
  for (std::size_t i = 0; i < depth; ++i) {
    request.set_seq(i);
    REQUIRE_FALSE(bench::codec::append_frame(requests, 1, request));
  }
  // Replies are the same size: EchoReply has EchoRequest's fields.
  std::string replies(requests.size(), '\0');

  const auto round = [&] {
    asio::write(peer, asio::buffer(requests));
    asio::read(peer, asio::buffer(replies));
  };
  for (int i = 0; i < 200; ++i) {
    round();  // warm-up: buffers and caches reach their steady sizes
  }
  constexpr int rounds = 1000;
  wiregen::test::allocations = 0;
  wiregen::test::counting_allocations = true;
  for (int i = 0; i < rounds; ++i) {
    round();
  }
  wiregen::test::counting_allocations = false;
  REQUIRE(replies.substr(0, 6) == requests.substr(0, 4) + std::string("\x00\x02", 2));
  return {wiregen::test::allocations.load(), rounds * depth};
}

}  // namespace

TEST_CASE("allocations: the echo path allocates nothing per message in steady state", "[alloc]") {
  for (const std::size_t payload : {std::size_t{64}, std::size_t{4096}}) {
    const auto measured = run_echo(payload);
    INFO(payload << "-byte payloads: " << measured.allocations << " allocations for "
                 << measured.messages << " messages");
    CHECK(measured.allocations == 0);
  }
}

TEST_CASE(
    "allocations: with a logger at warning, the echo path still allocates nothing per message",
    "[alloc][logging]") {
  // Connections open and close at debug, below the threshold: nothing is
  // formatted for them, and nothing per message at any level.
  const auto log = wiregen::text_logger(wiregen::log_level::warning);
  const auto measured = run_echo(64, log);
  INFO(measured.allocations << " allocations for " << measured.messages << " messages");
  CHECK(measured.allocations == 0);
}
