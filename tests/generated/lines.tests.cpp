// Line-delimited text framing (format: LINE_DELIMITED): the upper-casing
// server of the Go tutorial (schema/examples/upper, "\n", 1024 bytes) and
// SMTP-style command lines (schema/examples/smtp, "\r\n", 510 bytes):
// byte for byte, split at every byte, the length limit at its edge, the
// per-line deadline, and a server and client over loopback.
#include "smtp.wiregen.h"
#include "upper.wiregen.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/feeder.hpp"
#include "support/options.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

using wiregen::test::feeder;

template <class Handler, class Session>
class recording_lines : public Handler {
 public:
  void on_line(Session& session, std::string_view line) override {
    std::string reply(line);
    for (char& c : reply) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (echo) {
      (void)session.send(reply);
    }
    events.update([&] { lines.emplace_back(line); });
  }
  void on_closed(Session&, std::error_code reason, const wiregen::connection_stats&) override {
    events.update([&] { closed.push_back(reason); });
  }
  bool echo = true;
  wiregen::test::waiter events;
  std::vector<std::string> lines;
  std::vector<std::error_code> closed;
};

using upper_server = recording_lines<upper::server_handler, upper::server_session>;
using upper_client = recording_lines<upper::client_handler, upper::client_session>;
using smtp_server = recording_lines<smtp::server_handler, smtp::server_session>;

}  // namespace

TEST_CASE("lines: a line is its text and the delimiter, nothing else", "[generated][lines]") {
  std::string out;
  REQUIRE_FALSE(upper::codec::append_line(out, "hello"));
  REQUIRE_FALSE(smtp::codec::append_line(out, "HELO example.org"));
  CHECK(out == "hello\nHELO example.org\r\n");
  CHECK(upper::codec::append_line(out, "two\nlines") == wiregen::error::invalid_line);
  CHECK(upper::codec::append_line(out, std::string(1025, 'x')) ==
        wiregen::error::message_too_large);
  REQUIRE_FALSE(upper::codec::append_line(out, std::string(1024, 'x')));
  // A lone "\n" is text to a "\r\n" protocol.
  REQUIRE_FALSE(smtp::codec::append_line(out, "a\nb"));
}

namespace {
/// A protocol whose lines end with a blank line.
struct blank_line_ended {
  static constexpr std::string_view delimiter{"\n\n", 2};
  static constexpr std::size_t max_line_length = 100;
};
}  // namespace

TEST_CASE("lines: a delimiter may not start inside the line it ends", "[generated][lines]") {
  using writer = wiregen::line_writer<blank_line_ended>;
  CHECK_FALSE(writer("paragraph\nsecond line").check());
  // "x\n" + "\n\n" reads as "x" and a stray "\n".
  CHECK(writer("x\n").check() == wiregen::error::invalid_line);
  CHECK(writer("a\n\nb").check() == wiregen::error::invalid_line);
}

TEST_CASE("lines: a stream split at every byte boundary delivers every line once",
          "[generated][lines]") {
  SECTION("newline") {
    const std::string stream = "one\n\nthree three\nfour\n";
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      upper_server handler;
      feeder f(std::make_shared<upper::server_dispatcher>(handler));
      REQUIRE_FALSE(f.feed(stream.substr(0, cut)).error);
      REQUIRE_FALSE(f.feed(stream.substr(cut)).error);
      REQUIRE(handler.lines == std::vector<std::string>{"one", "", "three three", "four"});
      CHECK(f.buffered.empty());
    }
  }
  SECTION("CRLF, cut between the CR and the LF too") {
    const std::string stream = "HELO a\r\nMAIL FROM:<x\ny>\r\n\r\n";
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      smtp_server handler;
      feeder f(std::make_shared<smtp::server_dispatcher>(handler));
      REQUIRE_FALSE(f.feed(stream.substr(0, cut)).error);
      REQUIRE_FALSE(f.feed(stream.substr(cut)).error);
      REQUIRE(handler.lines == std::vector<std::string>{"HELO a", "MAIL FROM:<x\ny>", ""});
    }
  }
}

TEST_CASE("lines: a line of exactly the limit passes, one byte more closes the connection",
          "[generated][lines][limits]") {
  upper_server handler;
  upper::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  peer.write(std::string(1024, 'a') + "\n");
  std::error_code ec;
  CHECK(peer.read(1025, ec) == std::string(1024, 'A') + "\n");
  REQUIRE_FALSE(ec);

  // No delimiter within 1025 bytes: the server stops looking and closes.
  peer.write(std::string(1025, 'b') + "\n");
  CHECK(peer.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  CHECK(handler.closed[0] == wiregen::error::line_too_long);
  CHECK(handler.lines.size() == 1);
}

TEST_CASE("lines: the CRLF limit counts the text, not the delimiter",
          "[generated][lines][limits]") {
  smtp_server handler;
  feeder f(std::make_shared<smtp::server_dispatcher>(handler));
  REQUIRE_FALSE(f.feed(std::string(510, 'm') + "\r\n").error);
  CHECK(handler.lines.size() == 1);
  // 511 bytes then "\r": the window of 512 bytes holds no "\r\n".
  CHECK(f.feed(std::string(511, 'm') + "\r").error == wiregen::error::line_too_long);
}

TEST_CASE("lines: a line that does not complete within frame_timeout closes the connection",
          "[generated][lines][timeouts]") {
  upper_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.frame_timeout = std::chrono::milliseconds(300);
  upper::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  peer.write("first\n");
  std::error_code ec;
  CHECK(peer.read(6, ec) == "FIRST\n");
  peer.write("half a li");  // and nothing more
  CHECK(peer.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  CHECK(handler.closed[0] == wiregen::error::frame_timeout);
  CHECK(handler.lines == std::vector<std::string>{"first"});
}

TEST_CASE("lines: the per-line deadline starts again with every line",
          "[generated][lines][timeouts]") {
  upper_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.frame_timeout = std::chrono::milliseconds(500);
  upper::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  // Six lines 150 ms apart: 750 ms in all, longer than the deadline, but
  // never 500 ms without a line. (The pauses are the traffic's shape.)
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    peer.write("line\n");
    std::error_code ec;
    REQUIRE(peer.read(5, ec) == "LINE\n");
    REQUIRE_FALSE(ec);
  }
  CHECK(std::chrono::steady_clock::now() - started >= options.connection.frame_timeout);
  // Then silence: no line within the deadline closes the connection.
  CHECK(peer.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  CHECK(handler.closed[0] == wiregen::error::frame_timeout);
  CHECK(handler.lines.size() == 6);
}

TEST_CASE("lines: a partial line at the end of the stream is discarded and reported",
          "[generated][lines]") {
  upper_server handler;
  upper::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  peer.write("done\npart");
  peer.shutdown_send();
  std::error_code ec;
  CHECK(peer.read(5, ec) == "DONE\n");  // the whole line is answered before the close
  CHECK(peer.read_until_closed() == asio::error::eof);
  REQUIRE(handler.events.wait([&] { return handler.closed.size() == 1; }));
  CHECK(handler.closed[0] == wiregen::error::truncated_frame);
  CHECK(handler.lines == std::vector<std::string>{"done"});
}

TEST_CASE("lines: a generated client and server exchange lines over loopback",
          "[generated][lines]") {
  upper_server handler;
  upper::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  upper_client client_handler;
  client_handler.echo = false;
  upper::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  for (const char* line : {"hello", "", "wiregen speaks text too"}) {
    REQUIRE_FALSE(client.send(line));
  }
  CHECK(client.send("no\nnewlines") == wiregen::error::invalid_line);
  REQUIRE(client_handler.events.wait([&] { return client_handler.lines.size() == 3; }));
  CHECK(client_handler.lines == std::vector<std::string>{"HELLO", "", "WIREGEN SPEAKS TEXT TOO"});
}
