// Unix-domain stream sockets: a server listening on a socket file (its
// mode, a stale file replaced, a live one refused, the file removed on
// stop) or an abstract name, clients dialing them, and TLS and PROXY over
// them, the PROXY case behind a real HAProxy.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/bench_peers.hpp"
#include "support/haproxy.hpp"
#include "support/test_certs.hpp"

using namespace std::chrono_literals;
using wiregen::socket_address;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

/// A directory of its own for one test's socket files, removed after.
class socket_dir {
 public:
  socket_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "wiregen-unix-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  socket_dir(const socket_dir&) = delete;
  socket_dir& operator=(const socket_dir&) = delete;
  ~socket_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

bool echoes(bench::client& client, reply_counter& counter, std::uint64_t seq) {
  bench::EchoRequest request;
  request.set_seq(seq);
  request.set_payload("over a unix socket");
  return !client.send(request) && counter.wait_received(seq + 1);
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  return address;
}

/// Connects a plain socket to `path` and returns it (or -1).
int dial_path(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto address = unix_address(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Leaves a socket file behind as a crashed server would: bound, then
/// closed without removing it.
void leave_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto address = unix_address(path);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  ::close(fd);
}

/// Records listen errors as well.
class listen_recorder final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  }
  void on_listen_error(const socket_address& address, std::error_code ec) override {
    events.update([&] { errors.emplace_back(address.to_string(), ec); });
  }
  wiregen::test::waiter events;
  std::vector<std::pair<std::string, std::error_code>> errors;
};

}  // namespace

TEST_CASE("unix sockets: addresses parse and print back", "[runtime][unix][address]") {
  socket_address out;
  REQUIRE_FALSE(wiregen::parse_socket_address("unix:/run/echo.sock", out));
  CHECK(out.type == socket_address::kind::unix_path);
  CHECK(out.path == "/run/echo.sock");
  CHECK(out.to_string() == "unix:/run/echo.sock");
  REQUIRE_FALSE(wiregen::parse_socket_address("unix:@echo", out));
  CHECK(out.type == socket_address::kind::unix_abstract);
  CHECK(out.path == "echo");
  CHECK(out.to_string() == "unix:@echo");
  REQUIRE_FALSE(wiregen::parse_socket_address("tcp:[::1]:7000", out));
  CHECK(out.type == socket_address::kind::tcp);
  CHECK(out.host == "::1");
  CHECK(out.to_string() == "[::1]:7000");
  REQUIRE_FALSE(wiregen::parse_socket_address("127.0.0.1:0", out));
  CHECK(out.to_string() == "127.0.0.1:0");
  for (const std::string& bad :
       {std::string("unix:"), std::string("unix:@"), "unix:" + std::string(108, 'x'),
        std::string("tcp:"), std::string("x")}) {
    CHECK(wiregen::parse_socket_address(bad, out) == wiregen::error::bad_address);
  }
}

TEST_CASE("unix sockets: a server on a socket file echoes, names both ends, and removes the file",
          "[runtime][unix]") {
  socket_dir dir;
  const auto path = dir.file("echo.sock");
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.unix_socket.mode = 0600;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));
  REQUIRE(server.local_addresses().size() == 1);
  CHECK(server.local_addresses().front().to_string() == "unix:" + path);
  CHECK(server.port() == 0);

  struct stat status {};
  REQUIRE(::lstat(path.c_str(), &status) == 0);
  CHECK(S_ISSOCK(status.st_mode));
  CHECK((status.st_mode & 0777) == 0600);

  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect(socket_address::unix_socket(path)));
  REQUIRE(echoes(client, counter, 0));
  REQUIRE(echoes(client, counter, 1));

  REQUIRE(handler.wait_sessions(1));
  const auto session = handler.session();
  CHECK(session.remote_address() == "unix:" + path);
  CHECK(session.local_address() == "unix:" + path);
  CHECK(session.tagged_remote_address() == "unix:" + path + "(unix)");
  CHECK(client.session().remote_address() == "unix:" + path);
  const auto conn = session.connection();
  CHECK(conn->is_unix_socket());
  CHECK(conn->remote_endpoint() == asio::ip::tcp::endpoint());
  // The kernel vouches for who connected: this very process.
  const auto peer = conn->unix_peer();
  REQUIRE(peer);
  CHECK(peer->pid == ::getpid());
  CHECK(peer->uid == ::getuid());
  CHECK(peer->gid == ::getgid());

  client.stop();
  server.stop();
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("unix sockets: a stale socket file is replaced, a live one and any other file are not",
          "[runtime][unix]") {
  socket_dir dir;
  const auto path = dir.file("echo.sock");

  SECTION("a file left by a server that is gone is replaced") {
    leave_stale_socket(path);
    REQUIRE(std::filesystem::exists(path));
    REQUIRE(dial_path(path) == -1);  // nobody answers on it
    listen_recorder handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));
    const int fd = dial_path(path);
    CHECK(fd >= 0);
    ::close(fd);
  }

  SECTION(
      "a second server on a live server's file fails with address_in_use, told to the handler") {
    listen_recorder first_handler;
    bench::server first(first_handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(first.listen(socket_address::unix_socket(path)));

    listen_recorder second_handler;
    bench::server second(second_handler, wiregen::test::with_threads(1));
    CHECK(second.listen(socket_address::unix_socket(path)) == std::errc::address_in_use);
    REQUIRE(second_handler.errors.size() == 1);
    CHECK(second_handler.errors[0].first == "unix:" + path);
    CHECK(second_handler.errors[0].second == std::errc::address_in_use);
    CHECK_FALSE(second.is_running());
    second.stop();

    // The first server's file survived the second's attempt and its stop.
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect(socket_address::unix_socket(path)));
    CHECK(echoes(client, counter, 0));
  }

  SECTION("a regular file in the way is never removed") {
    std::ofstream(path) << "precious";
    listen_recorder handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    CHECK(server.listen(socket_address::unix_socket(path)) == std::errc::file_exists);
    server.stop();
    std::ifstream kept(path);
    std::string text;
    kept >> text;
    CHECK(text == "precious");
  }

  SECTION("a file a later server put in place is not removed by an earlier one's stop") {
    listen_recorder handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));
    std::filesystem::remove(path);
    leave_stale_socket(path);  // someone else's file now, at the same path
    server.stop();
    CHECK(std::filesystem::exists(path));
  }
}

TEST_CASE("unix sockets: an abstract name has no file and echoes", "[runtime][unix]") {
  const std::string name = "@wiregen-test-" + std::to_string(::getpid());
  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(name)));
  CHECK(server.local_addresses().front().to_string() == "unix:" + name);

  reply_counter counter;
  bench::client client(counter);
  REQUIRE_FALSE(client.connect(socket_address::unix_socket(name)));
  REQUIRE(echoes(client, counter, 0));
  REQUIRE(handler.wait_sessions(1));
  CHECK(handler.session().local_address() == "unix:" + name);
  client.stop();
  server.stop();

  // Free again once the server stopped.
  bench::server again(handler, wiregen::test::with_threads(1));
  CHECK_FALSE(again.listen(socket_address::unix_socket(name)));
}

TEST_CASE("unix sockets: TLS over a Unix socket verifies the configured server name",
          "[runtime][unix][tls]") {
  socket_dir dir;
  const auto path = dir.file("tls.sock");
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.tls.emplace();
  options.tls->certificate_chain_file = wiregen::test::certs().server_chain;
  options.tls->private_key_file = wiregen::test::certs().server_key;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));

  wiregen::client_options client_options;
  client_options.tls.emplace();
  client_options.tls->ca_file = wiregen::test::certs().ca;
  client_options.tls->server_name = "localhost";
  reply_counter counter;
  bench::client client(counter, client_options);
  REQUIRE_FALSE(client.connect(socket_address::unix_socket(path)));
  REQUIRE(echoes(client, counter, 0));
  REQUIRE(client.session().connection()->tls() != nullptr);
  CHECK(client.session().tagged_remote_address() == "unix:" + path + "(unix+tls)");

  // Without a name there would be nothing to check the certificate against.
  client_options.tls->server_name.clear();
  reply_counter unnamed_counter;
  bench::client unnamed(unnamed_counter, client_options);
  CHECK(unnamed.connect(socket_address::unix_socket(path)) == wiregen::error::missing_server_name);

  // A name the certificate does not hold is refused.
  client_options.tls->server_name = "wrong.example";
  reply_counter refused;
  bench::client wrong(refused, client_options);
  CHECK(wrong.connect(socket_address::unix_socket(path)));
}

TEST_CASE("unix sockets: behind a real HAProxy, PROXY v1 and v2 over a Unix socket name the client",
          "[runtime][unix][proxy][haproxy]") {
  socket_dir dir;
  const auto path = dir.file("behind-haproxy.sock");
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.proxy_protocol.enabled = true;
  options.proxy_protocol.trusted_proxies = {"unix"};
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));
  wiregen::test::haproxy balancer(path);

  std::size_t sessions = 0;
  for (const auto port : {balancer.v1_port, balancer.v2_port}) {
    reply_counter counter;
    wiregen::client_options client_options;
    // HAProxy may still be starting: the client's own retry waits for it.
    client_options.retry.attempts = 100;
    client_options.retry.initial_backoff = 20ms;
    client_options.retry.max_backoff = 100ms;
    bench::client client(counter, client_options);
    REQUIRE_FALSE(client.connect("127.0.0.1", port));
    REQUIRE(echoes(client, counter, 0));
    REQUIRE(handler.wait_sessions(++sessions));
    const auto session = handler.session(sessions - 1);
    const auto mine = client.session().connection()->local_endpoint();
    CHECK(session.remote_address() == "127.0.0.1:" + std::to_string(mine.port()));
    CHECK(session.connection()->is_unix_socket());
    CHECK(session.local_address() == "unix:" + path);
    client.stop();
  }
}

TEST_CASE("unix sockets: without \"unix\" among the trusted proxies a PROXY header is refused",
          "[runtime][unix][proxy]") {
  socket_dir dir;
  const auto path = dir.file("untrusted.sock");
  recording_server handler;
  auto options = wiregen::test::with_threads(1);
  options.proxy_protocol.enabled = true;
  options.proxy_protocol.trusted_proxies = {"127.0.0.1"};
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen(socket_address::unix_socket(path)));

  const int fd = dial_path(path);
  REQUIRE(fd >= 0);
  const std::string header = "PROXY TCP4 203.0.113.9 192.0.2.1 4242 7000\r\n";
  // The server refuses an untrusted peer as soon as it accepts it, so the
  // header may already meet a closed socket.
  const auto sent = ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
  if (sent < 0) {
    CHECK((errno == EPIPE || errno == ECONNRESET));
  } else {
    CHECK(sent == static_cast<ssize_t>(header.size()));
    char byte = 0;
    // The server closes it without a word: read sees the end, or a reset as
    // the header it never took was still unread.
    const auto got = ::read(fd, &byte, 1);
    CHECK((got == 0 || (got < 0 && errno == ECONNRESET)));
  }
  ::close(fd);
  CHECK(handler.events.read([&] { return handler.sessions.empty(); }));
}
