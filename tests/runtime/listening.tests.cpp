// Where a server listens and how a listen or a dial is cut short: several
// addresses at once, IPv6 and dual stack, a descriptor handed over already
// listening, the bound addresses reported, and cancellation of listen() and
// connect() by a stop token.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <latch>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"

using namespace std::chrono_literals;
using wiregen::socket_address;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

bool echoes(bench::client& client, reply_counter& counter, std::uint64_t seq) {
  bench::EchoRequest request;
  request.set_seq(seq);
  return !client.send(request) && counter.wait_received(seq + 1);
}

bool echoes_at(const socket_address& address) {
  reply_counter counter;
  bench::client client(counter);
  return !client.connect(address) && echoes(client, counter, 0);
}

/// Whether anything listens on 127.0.0.1:port.
bool port_answers(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool answered =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return answered;
}

/// Echoes, and records accept errors.
class accept_error_recorder final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  }
  void on_accept_error(std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
  }
  wiregen::test::waiter events;
  std::vector<std::error_code> errors;
};

int listening_socket(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

TEST_CASE("listening: a listening socket that breaks stops the server instead of retrying for ever",
          "[runtime][listen]") {
  accept_error_recorder handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  std::uint16_t port = 0;
  const int fd = listening_socket(port);
  REQUIRE_FALSE(server.listen_on(fd));
  REQUIRE(echoes_at(socket_address::tcp("127.0.0.1", port)));
  // Shut down under the server's feet, accept() fails with EINVAL, which
  // no retry mends: reported once, and the server stops.
  REQUIRE(::shutdown(fd, SHUT_RD) == 0);
  REQUIRE(handler.events.wait([&] { return !handler.errors.empty(); }));
  CHECK(handler.errors.front().value() == EINVAL);
  // The state has no event of its own (yet): a bounded poll covers the
  // step after the error event, which the accept loop takes right after it.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.state() != wiregen::server::run_state::stopped &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(server.state() == wiregen::server::run_state::stopped);
  CHECK(handler.events.read([&] { return handler.errors.size(); }) == 1);
}

TEST_CASE("listening: one server on a TCP port and a Unix socket at once reports both",
          "[runtime][listen][unix]") {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("wiregen-both-" + std::to_string(::getpid()) + ".sock"))
                        .string();
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen(socket_address::tcp("127.0.0.1", 0)));
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));
  const auto addresses = server.local_addresses();
  REQUIRE(addresses.size() == 2);
  CHECK(addresses[0].to_string() == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(addresses[1].to_string() == "unix:" + path);

  CHECK(echoes_at(addresses[0]));
  CHECK(echoes_at(addresses[1]));
  REQUIRE(handler.wait_closed(2));

  // One stop closes both.
  server.stop();
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(port_answers(addresses[0].port));
  // And no listen after a stop.
  CHECK(server.listen(socket_address::tcp("127.0.0.1", 0)) == wiregen::error::stopped);
}

TEST_CASE("listening: IPv6 loopback and a dual-stack wildcard both serve",
          "[runtime][listen][ipv6]") {
  recording_server handler;
  bench::server v6(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(v6.listen(socket_address::tcp("::1", 0)));
  const auto name = v6.local_addresses().front();
  CHECK(name.to_string() == "[::1]:" + std::to_string(v6.port()));
  socket_address parsed;
  REQUIRE_FALSE(wiregen::parse_socket_address(name.to_string(), parsed));
  CHECK(echoes_at(parsed));
  REQUIRE(handler.wait_sessions(1));
  CHECK(handler.session(0).remote_address().starts_with("[::1]:"));
  CHECK(handler.session(0).tagged_remote_address().ends_with("(tcp)"));

  // "::" takes IPv4 too (Linux's default, bindv6only=0): one port, both families.
  bench::server dual(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(dual.listen(socket_address::tcp("::", 0)));
  CHECK(echoes_at(socket_address::tcp("::1", dual.port())));
  CHECK(echoes_at(socket_address::tcp("127.0.0.1", dual.port())));
  REQUIRE(handler.wait_sessions(3));
  // An IPv4 client of a dual-stack socket shows as the mapped address.
  CHECK(handler.session(2).remote_address().starts_with("[::ffff:127.0.0.1]:"));
}

TEST_CASE("listening: a server serves a descriptor handed to it already listening",
          "[runtime][listen]") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));

  // Not listening yet: refused, and left alone.
  CHECK(server.listen_on(fd) == std::errc::invalid_argument);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const auto port = ntohs(address.sin_port);

  REQUIRE_FALSE(server.listen_on(fd));
  CHECK(server.port() == port);
  CHECK(server.local_addresses().front().to_string() == "127.0.0.1:" + std::to_string(port));
  CHECK(echoes_at(socket_address::tcp("127.0.0.1", port)));
  server.stop();
  // The server owned it: closed now.
  CHECK_FALSE(port_answers(port));

  bench::server other(handler, wiregen::test::with_threads(1));
  CHECK(other.listen_on(-1));  // not a descriptor at all
  const int not_a_socket = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(other.listen_on(not_a_socket));
  ::close(not_a_socket);
}

TEST_CASE("listening: without systemd's variables listen_systemd() says so", "[runtime][listen]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  CHECK(server.listen_systemd() == wiregen::error::no_inherited_sockets);
  // Meant for another process: not taken either.
  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  CHECK(server.listen_systemd() == wiregen::error::no_inherited_sockets);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  CHECK_FALSE(server.is_running());
}

TEST_CASE("listening: a cancelled listen binds nothing; a cancellation after it stops the server",
          "[runtime][listen][cancel]") {
  recording_server handler;
  SECTION("cancelled before") {
    bench::server server(handler, wiregen::test::with_threads(1));
    std::stop_source source;
    source.request_stop();
    CHECK(server.listen(socket_address::tcp("127.0.0.1", 0), source.get_token()) ==
          asio::error::operation_aborted);
    CHECK_FALSE(server.is_running());
    CHECK(server.local_addresses().empty());
  }
  SECTION("cancelled after") {
    bench::server server(handler, wiregen::test::with_threads(1));
    std::stop_source source;
    REQUIRE_FALSE(server.listen(socket_address::tcp("127.0.0.1", 0), source.get_token()));
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    REQUIRE(echoes(client, counter, 0));
    source.request_stop();
    // The stop is graceful: the open connection is closed, the port freed.
    REQUIRE(counter.events.wait([&] { return !counter.reasons.empty(); }));
    CHECK_FALSE(port_answers(server.port()));
    CHECK(server.state() != wiregen::server::run_state::running);
  }
}

TEST_CASE("client: a cancelled connect returns operation_aborted at once, mid-backoff",
          "[runtime][client][cancel]") {
  // A port nobody listens on: every attempt is refused, then backs off 10 s.
  std::uint16_t closed_port = 0;
  {
    recording_server handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    closed_port = server.port();
  }
  reply_counter counter;
  wiregen::client_options options;
  options.retry.attempts = 5;
  options.retry.initial_backoff = 10s;
  bench::client client(counter, options);
  std::stop_source source;
  std::error_code outcome;
  std::chrono::steady_clock::duration took{};
  std::thread dialer([&] {
    const auto start = std::chrono::steady_clock::now();
    outcome = client.connect(socket_address::tcp("127.0.0.1", closed_port), source.get_token());
    took = std::chrono::steady_clock::now() - start;
  });
  // The first attempt has failed: the client is in its 10 s backoff.
  REQUIRE(counter.events.wait([&] { return !counter.dial_errors.empty(); }));
  source.request_stop();
  dialer.join();
  CHECK(outcome == asio::error::operation_aborted);
  CHECK(took < 5s);
  CHECK(counter.events.read([&] { return counter.dial_errors.size(); }) == 1);
  CHECK_FALSE(client.is_connected());

  // A token already cancelled never dials.
  std::stop_source cancelled;
  cancelled.request_stop();
  CHECK(client.connect(socket_address::tcp("127.0.0.1", closed_port), cancelled.get_token()) ==
        asio::error::operation_aborted);
}

TEST_CASE("listening: a stop racing a listen on another thread never leaves the server running",
          "[runtime][listen][race]") {
  // The Go seed's bug: Shutdown during Start saw "not started", did nothing,
  // and the server came up afterwards and served forever.
  const wiregen::stop_mode modes[] = {wiregen::stop_mode::immediate, wiregen::stop_mode::graceful,
                                      wiregen::stop_mode::graceful_wait};
  for (int round = 0; round < 100; ++round) {
    recording_server handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    std::latch start(2);
    std::error_code listened;
    std::thread listener([&] {
      start.arrive_and_wait();
      listened = server.listen("127.0.0.1", 0);
    });
    start.arrive_and_wait();
    server.stop(modes[round % 3]);
    listener.join();
    INFO("round " << round << ": listen returned " << listened.message());
    CHECK(server.state() == wiregen::server::run_state::stopped);
    if (listened) {
      CHECK(listened == wiregen::error::stopped);
      CHECK(server.local_addresses().empty());
    } else {
      CHECK_FALSE(port_answers(server.port()));
    }
    // Whichever came first, a later listen is refused.
    CHECK(server.listen("127.0.0.1", 0) == wiregen::error::stopped);
  }
}

TEST_CASE("listening: a token cancelled while listen() runs aborts it or stops the server",
          "[runtime][listen][cancel][race]") {
  // The cancellation lands at a different point of each listen: before the
  // resolve, during it ("localhost" goes through the resolver), at the bind
  // or after. Whatever it meets, no server is left running.
  for (int round = 0; round < 40; ++round) {
    recording_server handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    std::stop_source source;
    std::latch start(2);
    const auto delay = std::chrono::microseconds(25 * round);
    std::thread canceller([&] {
      start.arrive_and_wait();
      // A busy wait: sleeps on a loaded machine overshoot by far more.
      const auto until = std::chrono::steady_clock::now() + delay;
      while (std::chrono::steady_clock::now() < until) {
      }
      source.request_stop();
    });
    const auto address = socket_address::tcp(round % 2 == 0 ? "127.0.0.1" : "localhost", 0);
    start.arrive_and_wait();
    const auto listened = server.listen(address, source.get_token());
    canceller.join();
    INFO("round " << round << ": listen returned " << listened.message());
    CHECK_FALSE(server.is_running());
    if (listened) {
      CHECK(listened == asio::error::operation_aborted);
      CHECK(server.local_addresses().empty());
    } else {
      CHECK(server.state() != wiregen::server::run_state::running);
      CHECK_FALSE(port_answers(server.port()));
    }
  }
}

TEST_CASE("listening: a name that does not resolve fails listen and dial with the resolver's error",
          "[runtime][listen][address]") {
  // .invalid is reserved never to resolve (RFC 6761).
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  const auto listened = server.listen("no-such-host.invalid", 0);
  INFO("listen: " << listened.category().name() << ": " << listened.message());
  CHECK((listened == asio::error::host_not_found ||
         listened == asio::error::host_not_found_try_again));
  CHECK_FALSE(server.is_running());
  CHECK(server.local_addresses().empty());
  // The handler's error event gets it as well as the caller.
  CHECK(handler.events.read([&] { return handler.listen_errors; }) ==
        std::vector<std::error_code>{listened});

  reply_counter counter;
  bench::client client(counter);
  const auto dialed = client.connect("no-such-host.invalid", 7);
  INFO("dial: " << dialed.category().name() << ": " << dialed.message());
  CHECK((dialed == asio::error::host_not_found || dialed == asio::error::host_not_found_try_again));
  CHECK_FALSE(client.is_connected());
  CHECK(counter.events.read([&] { return counter.connected; }) == 0);
}
