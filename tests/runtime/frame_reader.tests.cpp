// The standalone decoder: bytes pushed in any pieces give the same frames,
// one per next(); bad frames are reported and passed over where their end
// is known; and read_one() takes exactly one frame from a real socket
// within its timeout.
#include "wiregen/frame_reader.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/bench_peers.hpp"
#include "support/timing.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

std::string reply_frame(std::uint64_t seq, const std::string& payload) {
  bench::EchoReply reply;
  reply.set_seq(seq);
  reply.set_payload(payload);
  std::string frame;
  REQUIRE_FALSE(bench::codec::append_frame(frame, bench::protocol::id<bench::EchoReply>, reply));
  return frame;
}

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// A plain blocking socket connected to 127.0.0.1:`port`, as a simple
/// synchronous client has; -1 if the dial failed.
int dial_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Takes every whole frame there is; returns how many were delivered.
int drain(wiregen::frame_reader<bench::client_dispatcher>& reader) {
  int frames = 0;
  for (bool delivered = true; delivered;) {
    REQUIRE_FALSE(reader.next(delivered));
    frames += delivered ? 1 : 0;
  }
  return frames;
}

}  // namespace

TEST_CASE("frame reader: frames pushed a byte at a time come out one per next(), in order",
          "[runtime][frame_reader]") {
  reply_counter counter;
  wiregen::frame_reader<bench::client_dispatcher> reader(counter);
  const std::string wire = reply_frame(0, "first") + reply_frame(1, "") + reply_frame(2, "third");
  int frames = 0;
  for (const char byte : wire) {
    reader.push(bytes_of(std::string(1, byte)));
    frames += drain(reader);
  }
  CHECK(frames == 3);
  CHECK(counter.count() == 3);
  CHECK(counter.in_order);
  CHECK(counter.payload_bytes == 10);
  CHECK(reader.buffered() == 0);

  // All at once: one frame per call, the rest left buffered.
  reader.push(bytes_of(reply_frame(3, "a") + reply_frame(4, "b")));
  bool delivered = false;
  REQUIRE_FALSE(reader.next(delivered));
  CHECK(delivered);
  CHECK(counter.count() == 4);
  CHECK(reader.buffered() == reply_frame(4, "b").size());
}

TEST_CASE("frame reader: a bad frame is reported and passed over, a lost stream stays lost",
          "[runtime][frame_reader]") {
  reply_counter counter;
  wiregen::frame_reader<bench::client_dispatcher> reader(counter);
  bool delivered = false;

  // An id nobody sends, then a request (the client never receives one), then a good reply.
  std::string unknown = reply_frame(0, "x");
  unknown[5] = 9;
  bench::EchoRequest request;
  std::string wrong_side;
  REQUIRE_FALSE(bench::codec::append_frame(wrong_side, 1, request));
  reader.push(bytes_of(unknown + wrong_side + reply_frame(0, "ok")));
  CHECK(reader.next(delivered) == wiregen::error::unknown_message_id);
  CHECK(reader.next(delivered) == wiregen::error::unexpected_message);
  REQUIRE_FALSE(reader.next(delivered));
  CHECK(delivered);

  // An oversized frame (over 4 MiB announced) is dropped as its bytes come, never held.
  std::string oversized("\x00\x50\x00\x00\x00\x02", 6);  // 5 MiB
  reader.push(bytes_of(oversized));
  CHECK(reader.next(delivered) == wiregen::error::frame_too_large);
  const std::string rest = std::string(5 * 1024 * 1024 - 2, 'z') + reply_frame(1, "after");
  const std::size_t piece = 64 * 1024;
  int after = 0;
  for (std::size_t at = 0; at < rest.size(); at += piece) {
    reader.push(bytes_of(rest.substr(at, piece)));
    after += drain(reader);
    CHECK(reader.buffered() < piece);
  }
  CHECK(after == 1);
  CHECK(counter.count() == 2);

  // A length below the header's own size: nothing after it can be framed.
  reader.push(bytes_of(std::string("\x00\x00\x00\x01\x00\x02", 6) + reply_frame(2, "lost")));
  const auto lost = reader.next(delivered);
  CHECK(lost == wiregen::error::length_too_small);
  CHECK(reader.next(delivered) == lost);
  CHECK(counter.count() == 2);
}

TEST_CASE("frame reader: read_one takes exactly one frame from a socket, within its timeout",
          "[runtime][frame_reader]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  const int fd = dial_loopback(server.port());
  REQUIRE(fd >= 0);

  // Two requests in one write: two replies, one per read_one.
  std::string requests;
  for (std::uint64_t seq = 0; seq < 2; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    request.set_payload("sync");
    REQUIRE_FALSE(bench::codec::append_frame(requests, 1, request));
  }
  REQUIRE(::write(fd, requests.data(), requests.size()) == static_cast<ssize_t>(requests.size()));
  reply_counter counter;
  wiregen::frame_reader<bench::client_dispatcher> reader(counter);
  REQUIRE_FALSE(reader.read_one(fd, 5s));
  CHECK(counter.count() == 1);
  REQUIRE_FALSE(reader.read_one(fd, 5s));
  CHECK(counter.count() == 2);
  CHECK(counter.in_order);

  // Nothing more comes: the timeout, close to what was asked.
  const auto start = std::chrono::steady_clock::now();
  CHECK(reader.read_one(fd, 150ms) == std::errc::timed_out);
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 150ms);
  CHECK(waited < 2s);

  // The server goes away: the end of the stream. (A stop that waited would
  // wait for this side to close first.)
  server.stop(wiregen::stop_mode::graceful);
  CHECK(reader.read_one(fd, 5s) == asio::error::eof);
  ::close(fd);
}

TEST_CASE("frame reader: a read_one blocked on an idle socket returns when the server stops",
          "[runtime][frame_reader][stop]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const int fd = dial_loopback(server.port());
  REQUIRE(fd >= 0);
  REQUIRE(handler.wait_sessions(1));

  reply_counter counter;
  wiregen::frame_reader<bench::client_dispatcher> reader(counter);
  std::chrono::steady_clock::time_point stopped_at;
  std::thread stopper([&] {
    // The reader is blocked in poll() by now or soon; either way the close
    // must end its wait, not its 60 s timeout.
    stopped_at = std::chrono::steady_clock::now();
    server.stop(wiregen::stop_mode::immediate);
  });
  const auto ec = reader.read_one(fd, 60s);
  const auto returned_at = std::chrono::steady_clock::now();
  stopper.join();
  CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
  CHECK(returned_at - stopped_at < wiregen::test::prompt_wake);  // woken by the close
  ::close(fd);
}
