// The server's lifecycle over loopback: states, the open-connection count
// under churn, shutdown and the port, limits, accept-time events, accept
// errors that back off, and stopping from inside a handler.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"

using namespace std::chrono_literals;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;
using run_state = wiregen::server::run_state;

namespace {

using clock_type = std::chrono::steady_clock;

/// A recording server that also records accept-time events and can turn
/// connections away.
class gatekeeper final : public bench::server_handler {
 public:
  bool admit = true;

  bool on_accept(const asio::ip::tcp::endpoint& remote) override {
    events.update([&] { seen.push_back(remote); });
    return admit;
  }
  void on_refused(const asio::ip::tcp::endpoint&, std::error_code reason) override {
    events.update([&] { refused.push_back(reason); });
  }
  void on_accept_error(std::error_code ec) override {
    events.update([&] {
      accept_errors.push_back(ec);
      accept_error_times.push_back(clock_type::now());
    });
  }
  void on_connected(bench::server_session& session) override {
    events.update([&] { session.user_data() = std::string("user-") + std::to_string(++serial); });
  }
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    // The user-data slot set in on_connected travels with the connection.
    reply.set_payload(std::any_cast<std::string>(session.user_data()));
    (void)session.send(reply);
  }

  wiregen::test::waiter events;
  std::vector<asio::ip::tcp::endpoint> seen;
  std::vector<std::error_code> refused;
  std::vector<std::error_code> accept_errors;
  std::vector<clock_type::time_point> accept_error_times;
  int serial = 0;
};

bool wait_count(const wiregen::server& server, std::size_t n) {
  return wiregen::test::poll_until([&] { return server.connection_count() == n; });
}

}  // namespace

TEST_CASE("server: states go idle, running, stopped, and counts step up and back to 0",
          "[runtime][server]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  CHECK(server.state() == run_state::idle);
  CHECK_FALSE(server.is_running());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  CHECK(server.state() == run_state::running);

  std::vector<std::unique_ptr<reply_counter>> counters;
  std::vector<std::unique_ptr<bench::client>> clients;
  for (std::size_t n = 1; n <= 3; ++n) {
    counters.push_back(std::make_unique<reply_counter>());
    clients.push_back(std::make_unique<bench::client>(*counters.back()));
    REQUIRE_FALSE(clients.back()->connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(n));
    CHECK(server.connection_count() == n);
  }
  for (auto& client : clients) {
    client->stop(wiregen::stop_mode::graceful_wait);
  }
  REQUIRE(handler.wait_closed(3));
  CHECK(wait_count(server, 0));
  CHECK(server.stop() == 0);
  CHECK(server.state() == run_state::stopped);
  CHECK(server.stop() == 0);                                        // idempotent
  CHECK(server.listen("127.0.0.1", 0) == wiregen::error::stopped);  // not restartable
}

TEST_CASE("server: the state event tells running, draining and stopped once each, with counts",
          "[runtime][server][events]") {
  using wiregen::server_state;
  const auto mode = GENERATE(wiregen::stop_mode::graceful_wait, wiregen::stop_mode::graceful,
                             wiregen::stop_mode::immediate);
  CAPTURE(static_cast<int>(mode));
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));  // a second listener is no new state
  handler.events.read([&] {
    REQUIRE(handler.states.size() == 1);
    CHECK(handler.states[0].first == server_state::running);
    CHECK(handler.states[0].second.listeners == 1);  // told at the first listen
    CHECK(handler.states[0].second.open_connections == 0);
  });

  std::vector<std::unique_ptr<reply_counter>> counters;
  std::vector<std::unique_ptr<bench::client>> clients;
  for (std::size_t n = 1; n <= 2; ++n) {
    counters.push_back(std::make_unique<reply_counter>());
    clients.push_back(std::make_unique<bench::client>(*counters.back()));
    REQUIRE_FALSE(clients.back()->connect("127.0.0.1", server.port()));
    REQUIRE(handler.wait_sessions(n));
  }
  const auto forced = server.stop(mode, 5s);
  REQUIRE(handler.events.wait([&] { return handler.states.size() >= 3; }));
  handler.events.read([&] {
    REQUIRE(handler.states.size() == 3);
    CHECK(handler.states[1].first == server_state::draining);
    CHECK(handler.states[1].second.listeners == 0);
    CHECK(handler.states[1].second.accepted == 2);
    CHECK(handler.states[2].first == server_state::stopped);
    CHECK(handler.states[2].second.open_connections == 0);
    CHECK(handler.states[2].second.accepted == 2);
    CHECK(handler.states[2].second.forced == forced);
    CHECK(forced == (mode == wiregen::stop_mode::immediate ? 2u : 0u));
  });
  CHECK(server.state() == server_state::stopped);
  server.stop();  // told already: nothing new
  handler.events.read([&] { CHECK(handler.states.size() == 3); });
}

TEST_CASE("server: a server stopped before it listened tells only stopped",
          "[runtime][server][events]") {
  recording_server handler;
  {
    bench::server server(handler, wiregen::test::with_threads(1));
    server.stop();
  }
  handler.events.read([&] {
    REQUIRE(handler.states.size() == 1);
    CHECK(handler.states[0].first == wiregen::server_state::stopped);
    CHECK(handler.states[0].second.accepted == 0);
  });
}

TEST_CASE("server: rapid open/close cycles leave the count at 0", "[runtime][server]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  constexpr std::size_t cycles = 50;
  for (std::size_t i = 0; i < cycles; ++i) {
    wiregen::test::raw_peer peer(server.port());
    // Half of them vanish at once, half say goodbye properly.
    if (i % 2 == 0) {
      peer.shutdown_send();
      (void)peer.read_until_closed();
    }
  }
  REQUIRE(handler.wait_closed(cycles));
  CHECK(wait_count(server, 0));
  CHECK(handler.sessions.size() == cycles);
}

TEST_CASE("server: shutdown with an idle client completes, frees the port and the threads",
          "[runtime][server]") {
  recording_server handler;
  std::uint16_t port = 0;
  {
    bench::server server(handler, wiregen::test::with_threads(2));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    port = server.port();
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", port));
    REQUIRE(handler.wait_sessions(1));
    CHECK(server.stop(wiregen::stop_mode::graceful_wait, 5s) == 0);
    CHECK(server.state() == run_state::stopped);
    // The port is free the moment stop() returns: another server binds it.
    recording_server other_handler;
    bench::server other(other_handler, wiregen::test::with_threads(1));
    CHECK_FALSE(other.listen("127.0.0.1", port));
  }
  CHECK(handler.reasons.size() == 1);
}

TEST_CASE("server: a deadline shorter than a slow handler forces it and reports it",
          "[runtime][server]") {
  recording_server handler;
  handler.on_request = [](bench::server_session&, const bench::EchoRequest&) {
    std::this_thread::sleep_for(3s);  // the slow handler under test
  };
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(handler.wait_sessions(1));
  // The request is in the handler once its bytes are read.
  const auto start = clock_type::now();
  while (handler.session().stats().bytes_received == 0 && clock_type::now() - start < 5s) {
    std::this_thread::yield();
  }
  const auto stop_started = clock_type::now();
  const auto forced = server.stop(wiregen::stop_mode::graceful_wait, 200ms);
  const auto took = clock_type::now() - stop_started;
  CHECK(forced == 1);
  CHECK(took >= 200ms);
  CHECK(took < 2500ms);  // the deadline and a bounded wait for the force, not the handler's 3 s
  CHECK(server.state() == run_state::stopped);
}

TEST_CASE("server: a second server on the same port gets the bind error", "[runtime][server]") {
  recording_server handler;
  bench::server first(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(first.listen("127.0.0.1", 0));
  recording_server second_handler;
  bench::server second(second_handler, wiregen::test::with_threads(1));
  CHECK(second.listen("127.0.0.1", first.port()) == asio::error::address_in_use);
  // The handler's error event hears it too.
  second_handler.events.read([&] {
    CHECK(second_handler.listen_errors ==
          std::vector<std::error_code>{asio::error::address_in_use});
  });
  handler.events.read([&] { CHECK(handler.listen_errors.empty()); });
  CHECK(second.state() == run_state::idle);
  CHECK(first.is_running());
}

TEST_CASE("server: with reuse_port two servers share a port and the kernel spreads clients",
          "[runtime][server]") {
  recording_server first_handler;
  recording_server second_handler;
  auto options = wiregen::test::with_threads(1);
  options.reuse_port = true;
  bench::server first(first_handler, options);
  REQUIRE_FALSE(first.listen("127.0.0.1", 0));
  bench::server second(second_handler, options);
  REQUIRE_FALSE(second.listen("127.0.0.1", first.port()));
  CHECK(second.port() == first.port());

  // Each connection is served by one of them: every echo comes back, and
  // the two counts add up. The kernel hashes connections over the two
  // listeners, so with 32 of them each gets some (all on one side would
  // happen once in 2^31 runs).
  constexpr std::size_t clients = 32;
  std::vector<std::unique_ptr<wiregen::test::raw_peer>> peers;
  for (std::size_t i = 0; i < clients; ++i) {
    peers.push_back(std::make_unique<wiregen::test::raw_peer>(first.port()));
    bench::EchoRequest request;
    request.set_seq(i);
    std::string frame;
    REQUIRE_FALSE(bench::codec::append_frame(frame, 1, request));
    peers.back()->write(frame);
    std::error_code ec;
    const auto reply = peers.back()->read(frame.size(), ec);
    REQUIRE_FALSE(ec);
    bench::frame_header header;
    REQUIRE_FALSE(
        bench::codec::read_header(reinterpret_cast<const std::uint8_t*>(reply.data()), header));
    CHECK(header.message_id == 2);
  }
  CHECK(first.connection_count() + second.connection_count() == clients);
  CHECK(first.connection_count() > 0);
  CHECK(second.connection_count() > 0);

  // A server without the option still cannot join them.
  recording_server third_handler;
  bench::server third(third_handler, wiregen::test::with_threads(1));
  CHECK(third.listen("127.0.0.1", first.port()) == asio::error::address_in_use);
}

TEST_CASE("server: stop is safe before listen, and a later listen fails", "[runtime][server]") {
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  CHECK(server.stop() == 0);
  CHECK(server.stop(wiregen::stop_mode::immediate) == 0);
  CHECK(server.state() == run_state::stopped);
  CHECK(server.listen("127.0.0.1", 0) == wiregen::error::stopped);
}

TEST_CASE("server: stop called from inside a handler does not deadlock", "[runtime][server]") {
  recording_server handler;
  bench::server* running = nullptr;
  std::size_t forced_from_handler = 99;
  handler.on_request = [&](bench::server_session& session, const bench::EchoRequest& request) {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
    // Cannot wait here: returns at once. (Catch2 asserts only on the test's thread.)
    const auto forced = running->stop(wiregen::stop_mode::graceful_wait);
    handler.events.update([&] { forced_from_handler = forced; });
  };
  bench::server server(handler, wiregen::test::with_threads(1));
  running = &server;
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  CHECK(counter.wait_received(1));  // the reply was flushed
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.events.read([&] { return forced_from_handler; }) == 0);
  CHECK(wait_count(server, 0));
  CHECK(server.stop() == 0);
  CHECK(server.state() == run_state::stopped);
}

TEST_CASE("server: an exception in a handler closes that connection only",
          "[runtime][server][errors]") {
  recording_server handler;
  handler.on_request = [](bench::server_session& session, const bench::EchoRequest& request) {
    if (request.payload() == "boom") {
      throw std::runtime_error("handler bug");
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  };
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter victim_counter;
  bench::client victim(victim_counter);
  REQUIRE_FALSE(victim.connect("127.0.0.1", server.port()));
  bench::EchoRequest boom;
  boom.set_payload("boom");
  REQUIRE_FALSE(victim.send(boom));
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.reasons[0] == wiregen::error::handler_failed);
  REQUIRE(handler.errors.size() == 1);
  CHECK(handler.errors[0] == wiregen::error::handler_failed);

  reply_counter next_counter;
  bench::client next(next_counter);
  REQUIRE_FALSE(next.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(next.send(bench::EchoRequest()));
  CHECK(next_counter.wait_received(1));
  CHECK(server.is_running());
}

TEST_CASE("server: max_connections closes the excess at once and reports why",
          "[runtime][server][limits]") {
  gatekeeper handler;
  auto options = wiregen::test::with_threads(1);
  options.max_connections = 2;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter a_counter, b_counter;
  bench::client a(a_counter), b(b_counter);
  REQUIRE_FALSE(a.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(b.connect("127.0.0.1", server.port()));
  REQUIRE(wait_count(server, 2));

  wiregen::test::raw_peer excess(server.port());
  CHECK(excess.read_until_closed());  // closed by the server, unserved
  REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
  CHECK(handler.refused[0] == wiregen::error::too_many_connections);
  CHECK(server.connection_count() == 2);

  // Room again once one leaves.
  a.stop(wiregen::stop_mode::graceful_wait);
  REQUIRE(wait_count(server, 1));
  reply_counter c_counter;
  bench::client c(c_counter);
  REQUIRE_FALSE(c.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(c.send(bench::EchoRequest()));
  CHECK(c_counter.wait_received(1));
}

TEST_CASE("server: on_accept sees the peer's address and may reject it",
          "[runtime][server][events]") {
  gatekeeper handler;
  handler.admit = false;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer rejected(server.port());
  CHECK(rejected.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
  CHECK(handler.refused[0] == wiregen::error::connection_rejected);
  CHECK(handler.seen.at(0).address() == asio::ip::make_address("127.0.0.1"));
  CHECK(server.connection_count() == 0);
}

TEST_CASE("server: the socket hook sees each accepted socket and may refuse it",
          "[runtime][server][events]") {
  gatekeeper handler;
  std::vector<int> hooked_buffers;
  bool refuse = false;
  auto options = wiregen::test::with_threads(1);
  options.socket_hook = [&](wiregen::stream_socket& socket) -> std::error_code {
    asio::socket_base::receive_buffer_size size;
    socket.get_option(size);
    handler.events.update([&] { hooked_buffers.push_back(size.value()); });
    return refuse ? std::make_error_code(std::errc::permission_denied) : std::error_code();
  };
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(bench::EchoRequest()));
  REQUIRE(counter.wait_received(1));
  CHECK(hooked_buffers.size() == 1);

  refuse = true;  // read by the I/O thread after the next accept
  wiregen::test::raw_peer refused(server.port());
  CHECK(refused.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.refused.size() == 1; }));
  CHECK(handler.refused[0] == std::errc::permission_denied);
}

TEST_CASE("server: user data set on connect is there for every message", "[runtime][events]") {
  gatekeeper handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  std::vector<std::string> payloads;
  wiregen::test::waiter got;
  class payload_client final : public bench::client_handler {
   public:
    explicit payload_client(std::function<void(const std::string&)> f) : f_(std::move(f)) {}
    void on_message(bench::client_session&, const bench::EchoReply& reply) override {
      f_(reply.payload());
    }
    std::function<void(const std::string&)> f_;
  };
  payload_client first_handler(
      [&](const std::string& p) { got.update([&] { payloads.push_back(p); }); });
  payload_client second_handler(
      [&](const std::string& p) { got.update([&] { payloads.push_back(p); }); });
  bench::client first(first_handler);
  REQUIRE_FALSE(first.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(first.send(bench::EchoRequest()));
  REQUIRE(got.wait([&] { return payloads.size() == 1; }));
  bench::client second(second_handler);
  REQUIRE_FALSE(second.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(second.send(bench::EchoRequest()));
  REQUIRE_FALSE(first.send(bench::EchoRequest()));
  REQUIRE(got.wait([&] { return payloads.size() == 3; }));
  CHECK(payloads[0] == "user-1");
  CHECK(std::count(payloads.begin(), payloads.end(), "user-1") == 2);
  CHECK(std::count(payloads.begin(), payloads.end(), "user-2") == 1);
}

TEST_CASE("server: out of file descriptors, accept backs off instead of spinning",
          "[runtime][server][limits]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' own checks open pipes and files; with every descriptor
  // taken they report errors of their own, so this runs in the plain build.
  WARN("skipped under a sanitizer: it needs the process out of file descriptors");
  return;
#endif
  gatekeeper handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  rlimit original{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &original) == 0);
  // Take every descriptor there is under a lowered limit, then give one
  // back for the client's socket: the server's accept gets EMFILE.
  rlimit lowered = original;
  lowered.rlim_cur = std::min<rlim_t>(original.rlim_cur, 256);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  std::vector<int> hogs;
  for (int fd = ::open("/dev/null", O_RDONLY); fd >= 0; fd = ::open("/dev/null", O_RDONLY)) {
    hogs.push_back(fd);
  }
  REQUIRE(errno == EMFILE);
  ::close(hogs.back());
  hogs.pop_back();

  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(client >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The kernel completes the handshake; the accept is what fails.
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);

  // Eleven failures: the gaps double from 5 ms (5, 10, ... 640) and then
  // stay at the 1 s cap, about 4.3 s in all.
  constexpr std::size_t failures = 11;
  const bool backed_off = handler.events.wait(
      [&] { return handler.accept_errors.size() >= failures; }, std::chrono::seconds(20));
  for (int fd : hogs) {
    ::close(fd);
  }
  REQUIRE(setrlimit(RLIMIT_NOFILE, &original) == 0);
  REQUIRE(backed_off);
  CHECK(handler.accept_errors[0] == asio::error::no_descriptors);
  const auto& at = handler.accept_error_times;
  for (std::size_t i = 1; i < failures; ++i) {
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at[i] - at[i - 1]);
    INFO("gap " << i << ": " << gap.count() << " ms");
    // Doubling, not spinning: at least 5, 10, 20 ... ms, then 1 s.
    CHECK(gap >=
          std::min(std::chrono::milliseconds(5 << (i - 1)), std::chrono::milliseconds(1000)));
    if (i >= 8) {
      // Capped: uncapped, these gaps would be 1.28, 2.56 and 5.12 s.
      CHECK(gap < std::chrono::milliseconds(1250));
    }
  }
  // With descriptors back, the waiting connection is served.
  CHECK(wait_count(server, 1));
  ::close(client);
}

TEST_CASE("server: socket options reach every accepted socket", "[runtime][server][limits]") {
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.connection.keepalive.enabled = true;
  options.connection.keepalive.idle = 42s;
  options.connection.keepalive.interval = 7s;
  options.connection.keepalive.count = 3;
  options.connection.receive_buffer_size = 64 * 1024;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE(handler.wait_sessions(1));
  const int fd = handler.session().connection()->native_handle();
  auto get = [fd](int level, int name) {
    int value = -1;
    socklen_t size = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &size) == 0);
    return value;
  };
  CHECK(get(IPPROTO_TCP, TCP_NODELAY) != 0);  // on by default
  CHECK(get(SOL_SOCKET, SO_KEEPALIVE) != 0);
  CHECK(get(IPPROTO_TCP, TCP_KEEPIDLE) == 42);
  CHECK(get(IPPROTO_TCP, TCP_KEEPINTVL) == 7);
  CHECK(get(IPPROTO_TCP, TCP_KEEPCNT) == 3);
  CHECK(get(SOL_SOCKET, SO_RCVBUF) >= 64 * 1024);  // Linux doubles what it is given
}

namespace {

std::size_t entries_in(const char* directory) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory)) {
    ++count;
  }
  return count;
}

// pthread_join returns once the kernel clears the thread's tid, a moment before it removes the
// thread's /proc entry; on a loaded machine the count lags the join. Poll the count, bounded.
std::size_t entries_settled(const char* directory, std::size_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto count = entries_in(directory);
  while (count != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    count = entries_in(directory);
  }
  return count;
}

}  // namespace

TEST_CASE("server: a whole lifecycle leaves no thread and no descriptor behind",
          "[runtime][server][lifecycle]") {
  // A sanitizer starts a helper thread of its own with the first thread the
  // process makes; make one first, so that the count is the program's alone.
  // (Under a sanitizer the count settles one higher, after the 2 s bound.)
  const auto before_any = entries_in("/proc/self/task");
  std::thread([] {}).join();
  const auto threads_before = entries_settled("/proc/self/task", before_any);
  const auto fds_before = entries_in("/proc/self/fd");
  {
    recording_server handler;
    bench::server server(handler, wiregen::test::with_threads(2));
    REQUIRE_FALSE(server.listen("localhost", 0));  // resolved: the resolver's thread too
    CHECK(entries_in("/proc/self/task") > threads_before);
    for (int i = 0; i < 3; ++i) {
      reply_counter counter;
      bench::client client(counter);
      REQUIRE_FALSE(client.connect("localhost", server.port()));
      REQUIRE_FALSE(client.send(bench::EchoRequest()));
      REQUIRE(counter.wait_received(1));
    }
    reply_counter idle;
    bench::client left_open(idle);
    REQUIRE_FALSE(left_open.connect("127.0.0.1", server.port()));
    server.stop(wiregen::stop_mode::graceful_wait, 1s);
  }
  CHECK(entries_settled("/proc/self/task", threads_before) == threads_before);
  CHECK(entries_in("/proc/self/fd") == fds_before);
}
