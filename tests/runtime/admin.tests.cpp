// A server's admin port over loopback HTTP: /metrics, /healthz and /readyz,
// readiness through a draining stop, and the bounds on what a client of the
// admin port may ask or hold.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/gate.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Everything the server sends until it closes, waiting at most `limit`.
std::string read_all(int fd, std::chrono::milliseconds limit = 5000ms) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) != 1) {
      return got + "<timed out>";
    }
    char chunk[4096];
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return got;
    }
    got.append(chunk, static_cast<std::size_t>(n));
  }
}

/// Sends `request` as is and returns the whole response.
std::string http_exchange(std::uint16_t port, const std::string& request) {
  const int fd = dial(port);
  if (fd < 0) {
    return "<refused>";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  auto response = read_all(fd);
  ::close(fd);
  return response;
}

std::string get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string body(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

wiregen::server_options with_admin() {
  auto options = wiregen::test::with_threads(1);
  options.admin = wiregen::socket_address::tcp("127.0.0.1", 0);
  return options;
}

}  // namespace

TEST_CASE(
    "admin: /metrics, /healthz and /readyz answer on their own port; the rest is refused "
    "clearly",
    "[runtime][admin]") {
  recording_server handler;
  bench::server server(handler, with_admin());
  CHECK_FALSE(server.admin_address());  // opened by the first listen
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  REQUIRE(server.admin_address());
  const auto admin = server.admin_address()->port;
  CHECK(admin != 0);
  CHECK(admin != server.port());

  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(counter.wait_received(1));

  const auto health = get(admin, "/healthz");
  CHECK(status_line(health) == "HTTP/1.1 200 OK");
  CHECK(body(health) == "ok\n");
  CHECK(status_line(get(admin, "/readyz")) == "HTTP/1.1 200 OK");
  const auto metrics = get(admin, "/metrics");
  INFO(metrics);
  CHECK(status_line(metrics) == "HTTP/1.1 200 OK");
  CHECK(metrics.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(body(metrics).find("wiregen_connections_open 1\n") != std::string::npos);
  CHECK(body(metrics).find("wiregen_frames_received_total 1\n") != std::string::npos);
  CHECK(metrics.find("Content-Length: " + std::to_string(body(metrics).size()) + "\r\n") !=
        std::string::npos);

  const auto post = http_exchange(admin, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
  CHECK(post.find("Allow: GET\r\n") != std::string::npos);
  CHECK(status_line(get(admin, "/admin")) == "HTTP/1.1 404 Not Found");
  CHECK(status_line(http_exchange(admin, "hello\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  // A head that never ends within 8 KiB.
  CHECK(
      status_line(http_exchange(admin, "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'x'))) ==
      "HTTP/1.1 431 Request Header Fields Too Large");
  // The data port does not speak HTTP: a request there is a bad frame.
  CHECK(status_line(get(server.port(), "/metrics")).find("HTTP") == std::string::npos);
}

TEST_CASE("admin: at most 16 connections at once, each for 5 seconds", "[runtime][admin]") {
  recording_server handler;
  bench::server server(handler, with_admin());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto admin = server.admin_address()->port;
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) {
    idle.push_back(dial(admin));
    REQUIRE(idle.back() >= 0);
  }
  // The 17th is closed unanswered at once; the idle ones stay until their 5 s.
  const int extra = dial(admin);
  REQUIRE(extra >= 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK(read_all(extra, 2000ms).empty());
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  ::close(extra);
  for (const int fd : idle) {
    const auto waited_from = std::chrono::steady_clock::now();
    CHECK(read_all(fd, 8000ms).empty());  // closed, not timed out here
    CHECK(std::chrono::steady_clock::now() - waited_from < 8s);
    ::close(fd);
  }
  CHECK(std::chrono::steady_clock::now() - start >= 4s);
  // Freed: a request is answered again.
  CHECK(status_line(get(admin, "/healthz")) == "HTTP/1.1 200 OK");
}

TEST_CASE("admin: /readyz turns 503 while a stop drains, /healthz once stopped",
          "[runtime][admin]") {
  recording_server handler;
  wiregen::test::gate hold;
  handler.on_request = [&](bench::server_session& session, const bench::EchoRequest&) {
    hold.pass();  // keeps the connection, and so the stop, waiting
    (void)session.send(bench::EchoReply());
  };
  bench::server server(handler, with_admin());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto admin = server.admin_address()->port;
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(hold.wait_until_held());

  std::thread stopper([&] { server.stop(wiregen::stop_mode::graceful_wait, 10s); });
  // Draining: not ready, still healthy.
  std::string ready;
  CHECK(wiregen::test::poll_until([&] {
    ready = get(admin, "/readyz");
    return status_line(ready) == "HTTP/1.1 503 Service Unavailable";
  }));
  CHECK(body(ready) == "draining\n");
  CHECK(status_line(get(admin, "/healthz")) == "HTTP/1.1 200 OK");
  hold.open();
  stopper.join();
  CHECK(handler.wait_closed(1));
  CHECK(body(get(admin, "/readyz")) == "not running\n");
  CHECK(status_line(get(admin, "/healthz")) == "HTTP/1.1 503 Service Unavailable");
}

TEST_CASE("admin: a server destroyed while a request head is half read answers nothing",
          "[runtime][admin]") {
  int fd = -1;
  {
    recording_server handler;
    bench::server server(handler, with_admin());
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    fd = dial(server.admin_address()->port);
    REQUIRE(fd >= 0);
    const std::string half = "GET /metr";
    ::send(fd, half.data(), half.size(), MSG_NOSIGNAL);
  }
  // The server is gone (under ASan, any answer from its remains would be
  // reported): the rest of the request meets a closed connection.
  const std::string tail = "ics HTTP/1.1\r\n\r\n";
  ::send(fd, tail.data(), tail.size(), MSG_NOSIGNAL);
  CHECK(read_all(fd).find("HTTP/1.1") == std::string::npos);
  ::close(fd);
}

TEST_CASE("admin: a stop's shutdown_delay keeps accepting and serving while /readyz says 503",
          "[runtime][admin]") {
  recording_server handler;
  auto options = with_admin();
  options.shutdown_delay = 1500ms;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto admin = server.admin_address()->port;
  REQUIRE(server.ready());

  const auto start = std::chrono::steady_clock::now();
  std::jthread stopper([&] { server.stop(wiregen::stop_mode::graceful_wait, 5s); });
  REQUIRE(wiregen::test::poll_until([&] { return !server.ready(); }));
  const auto ready = get(admin, "/readyz");
  CHECK(status_line(ready) == "HTTP/1.1 503 Service Unavailable");
  CHECK(body(ready) == "shutting down\n");
  CHECK(status_line(get(admin, "/healthz")) == "HTTP/1.1 200 OK");
  // Still running: a connection made now is accepted and served.
  CHECK(server.state() == wiregen::server_state::running);
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  CHECK(counter.wait_received(1));
  stopper.join();
  // The delay was waited in full, then the stop drained the connection.
  CHECK(std::chrono::steady_clock::now() - start >= 1500ms);
  CHECK(server.state() == wiregen::server_state::stopped);
  CHECK(handler.wait_closed(1));
}

TEST_CASE("admin: an immediate stop cuts a shutdown_delay short", "[runtime][admin]") {
  recording_server handler;
  auto options = with_admin();
  options.shutdown_delay = 60s;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  auto waiting = std::async(std::launch::async,
                            [&] { return server.stop(wiregen::stop_mode::graceful_wait, 5s); });
  // A failed check must not leave the future's destructor waiting 60 s.
  struct stop_on_exit {
    bench::server& server;
    ~stop_on_exit() { server.stop(wiregen::stop_mode::immediate); }
  } cut_short{server};
  REQUIRE(wiregen::test::poll_until([&] { return !server.ready(); }));
  CHECK(waiting.wait_for(100ms) == std::future_status::timeout);  // in its delay
  server.stop(wiregen::stop_mode::immediate);
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  CHECK(server.state() == wiregen::server_state::stopped);
}
