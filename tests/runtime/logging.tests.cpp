// The runtime's logging over loopback: which events a server and a client
// write at which level and with what detail, the threshold, the rate limit
// per event, and the text and JSON Lines sinks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <asio/ssl/error.hpp>

#include "support/bench_peers.hpp"
#include "support/raw_peer.hpp"
#include "support/timing.hpp"
#include "support/tls_peers.hpp"
#include "wiregen/detail/log_emitter.hpp"
#include "wiregen/log.hpp"

using namespace std::chrono_literals;
using wiregen::log_level;
using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

/// Keeps a copy of every record written to it.
class recording_logger final : public wiregen::logger {
 public:
  struct entry {
    log_level level;
    std::string event;
    std::uint64_t connection_id;
    std::string address;
    std::error_code error;
    std::string message_type;
    std::string text;
    std::map<std::string, std::string> fields;
    std::uint64_t suppressed;
  };

  explicit recording_logger(log_level threshold = log_level::debug) : logger(threshold) {}

  void write(const wiregen::log_record& record) noexcept override {
    entry copy{record.level,
               std::string(record.event),
               record.connection_id,
               std::string(record.address),
               record.error,
               std::string(record.message_type),
               std::string(record.text),
               {},
               record.suppressed};
    for (const auto& field : record.fields) {
      copy.fields.emplace(field.name, field.value);
    }
    events.update([&] { entries.push_back(std::move(copy)); });
  }

  /// Every entry of `event` so far.
  std::vector<entry> of(const std::string& event) {
    return events.read([&] {
      std::vector<entry> found;
      for (const auto& e : entries) {
        if (e.event == event) {
          found.push_back(e);
        }
      }
      return found;
    });
  }

  bool wait_for(const std::string& event, std::size_t n = 1) {
    return events.wait([&] {
      std::size_t count = 0;
      for (const auto& e : entries) {
        count += e.event == event ? 1 : 0;
      }
      return count >= n;
    });
  }

  std::size_t size() {
    return events.read([&] { return entries.size(); });
  }

  wiregen::test::waiter events;
  std::vector<entry> entries;
};

wiregen::server_options logged_server(const std::shared_ptr<recording_logger>& log) {
  auto options = wiregen::test::with_threads(1);
  options.logger = log;
  return options;
}

bool echoes_once(bench::client& client, reply_counter& counter) {
  // Counted before sending: the reply may be in before send() returns.
  const auto expected = counter.count() + 1;
  return !client.send(bench::EchoRequest()) && counter.wait_received(expected);
}

}  // namespace

TEST_CASE("logging: a server's life at debug, and nothing below the threshold",
          "[runtime][logging]") {
  auto log = std::make_shared<recording_logger>(log_level::debug);
  recording_server handler;
  bench::server server(handler, logged_server(log));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  {
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    REQUIRE(echoes_once(client, counter));
  }
  REQUIRE(log->wait_for("connection_closed"));
  CHECK(server.stop() == 0);

  const auto listening = log->of("listening");
  REQUIRE(listening.size() == 1);
  CHECK(listening[0].level == log_level::info);
  CHECK(listening[0].address == "127.0.0.1:" + std::to_string(server.port()));

  const auto opened = log->of("connection_opened");
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].level == log_level::debug);
  CHECK(opened[0].connection_id != 0);
  CHECK(opened[0].address.rfind("127.0.0.1:", 0) == 0);
  CHECK(opened[0].address.find("(tcp)") != std::string::npos);

  const auto closed = log->of("connection_closed");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].level == log_level::debug);  // the peer hung up: routine
  CHECK(closed[0].connection_id == opened[0].connection_id);
  CHECK(closed[0].error == asio::error::eof);
  CHECK(closed[0].fields.at("frames_in") == "1");
  CHECK(closed[0].fields.at("frames_out") == "1");

  std::vector<std::string> states;
  for (const auto& e : log->of("server_state")) {
    CHECK(e.level == log_level::info);
    states.push_back(e.fields.at("state"));
  }
  CHECK(states == std::vector<std::string>{"running", "draining", "stopped"});
  CHECK(log->of("server_state").back().fields.at("accepted") == "1");

  // At warning, the same life writes nothing at all.
  auto quiet = std::make_shared<recording_logger>(log_level::warning);
  bench::server other(handler, logged_server(quiet));
  REQUIRE_FALSE(other.listen("127.0.0.1", 0));
  {
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", other.port()));
    REQUIRE(echoes_once(client, counter));
  }
  CHECK(other.stop() == 0);
  CHECK(quiet->size() == 0);
}

TEST_CASE("logging: refusals, bad frames and handler exceptions say why, at warning and error",
          "[runtime][logging]") {
  auto log = std::make_shared<recording_logger>(log_level::info);
  recording_server handler;
  handler.on_request = [](bench::server_session& session, const bench::EchoRequest& request) {
    if (request.payload() == "boom") {
      throw std::runtime_error("sensor says \"no\"");
    }
    (void)session.send(bench::EchoReply());
  };
  auto options = logged_server(log);
  options.max_connections = 1;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  // A frame of an unknown message id (9).
  wiregen::test::raw_peer peer(server.port());
  peer.write(std::string("\x00\x00\x00\x02\x00\x09", 6));
  CHECK(peer.read_until_closed() == asio::error::eof);
  REQUIRE(log->wait_for("connection_closed"));
  // The close is logged before the server stops counting the connection,
  // and the next one must not be refused as one too many.
  REQUIRE(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));
  const auto bad = log->of("frame_error");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].level == log_level::warning);
  CHECK(bad[0].error == wiregen::error::unknown_message_id);
  CHECK(bad[0].fields.at("id") == "9");
  CHECK(bad[0].fields.at("declared_size") == "6");
  const auto closed = log->of("connection_closed");
  CHECK(closed[0].level == log_level::info);
  CHECK(closed[0].error == wiregen::error::unknown_message_id);

  // A handler that throws: its text and the message type.
  {
    reply_counter counter;
    bench::client client(counter);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    bench::EchoRequest boom;
    boom.set_payload("boom");
    REQUIRE_FALSE(client.send(boom));
    REQUIRE(log->wait_for("handler_failed"));
    const auto failed = log->of("handler_failed");
    CHECK(failed[0].level == log_level::error);
    CHECK(failed[0].error == wiregen::error::handler_failed);
    CHECK(failed[0].text == "sensor says \"no\"");
    CHECK(failed[0].message_type == "bench.EchoRequest");
    CHECK(failed[0].fields.at("id") == "1");
    REQUIRE(log->wait_for("connection_closed", 2));
  }
  REQUIRE(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));

  // One connection at most: the second is refused, with the reason.
  reply_counter first_counter;
  bench::client first(first_counter);
  REQUIRE_FALSE(first.connect("127.0.0.1", server.port()));
  REQUIRE(echoes_once(first, first_counter));
  reply_counter second_counter;
  bench::client second(second_counter);
  (void)second.connect("127.0.0.1", server.port());
  REQUIRE(log->wait_for("refused"));
  const auto refused = log->of("refused");
  CHECK(refused[0].level == log_level::warning);
  CHECK(refused[0].error == wiregen::error::too_many_connections);
  CHECK(refused[0].address.rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("logging: a failed TLS handshake is logged with OpenSSL's reason", "[runtime][logging]") {
  auto log = std::make_shared<recording_logger>(log_level::info);
  auto tls = wiregen::test::server_tls();
  tls.client_ca_file = wiregen::test::certs().ca;
  tls.client_certificates_mode = wiregen::client_certificates::required;
  auto options = wiregen::test::tls_server(tls);
  options.logger = log;
  wiregen::test::tls_server_handler handler;
  bench::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  reply_counter counter;
  bench::client anonymous(counter, wiregen::test::tls_client());
  (void)anonymous.connect("localhost", server.port());
  REQUIRE(log->wait_for("refused"));
  const auto refused = log->of("refused");
  CHECK(refused[0].level == log_level::warning);
  CHECK(refused[0].error.category() == asio::error::get_ssl_category());
  INFO("OpenSSL's reason: " << refused[0].error.message());
  CHECK(refused[0].error.message().find("certificate") != std::string::npos);
  CHECK(log->of("connection_opened").empty());
}

TEST_CASE("logging: a client logs its failed dials with the retry, and its connection",
          "[runtime][logging]") {
  std::uint16_t closed_port = 0;
  {
    recording_server handler;
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    closed_port = server.port();
  }
  auto log = std::make_shared<recording_logger>(log_level::info);
  reply_counter counter;
  wiregen::client_options options;
  options.logger = log;
  options.retry.attempts = 2;
  options.retry.initial_backoff = 20ms;
  options.retry.jitter = 0;
  bench::client client(counter, options);
  CHECK(client.connect("127.0.0.1", closed_port) == asio::error::connection_refused);
  const auto failed = log->of("dial_failed");
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].level == log_level::warning);
  CHECK(failed[0].error == asio::error::connection_refused);
  CHECK(failed[0].address == "127.0.0.1:" + std::to_string(closed_port));
  CHECK(failed[0].fields.at("attempt") == "1");
  CHECK(failed[0].fields.at("retry_ms") == "20");
  CHECK(failed[1].fields.at("attempt") == "2");
  CHECK(failed[1].fields.at("retry_ms") == "0");  // the last: no retry

  recording_server handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  bench::client good(counter, options);
  REQUIRE_FALSE(good.connect("127.0.0.1", server.port()));
  REQUIRE(log->wait_for("connected"));
  CHECK(log->of("connected")[0].address == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("logging: each event passes its own rate limit, and the next record counts the rest",
          "[runtime][logging]") {
  auto log = std::make_shared<recording_logger>(log_level::debug);
  wiregen::detail::log_emitter emitter(log);
  using wiregen::detail::log_event;
  constexpr std::size_t flood = 2000;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < flood; ++i) {
    wiregen::log_record record;
    record.level = log_level::warning;
    emitter.emit(log_event::refused, record);
  }
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  const auto written = log->of("refused").size();
  INFO(written << " of " << flood << " written in " << took.count() << " s");
  CHECK(written >= wiregen::detail::log_emitter::burst);
  CHECK(written <= wiregen::detail::log_emitter::burst + 1 +
                       static_cast<std::size_t>(took.count() *
                                                wiregen::detail::log_emitter::records_per_second));
  // Another event has a budget of its own.
  wiregen::log_record other;
  emitter.emit(log_event::frame_error, other);
  CHECK(log->of("frame_error").size() == 1);
  CHECK(log->of("frame_error")[0].suppressed == 0);

  // Once a token is back (one every 10 ms), the next record tells how many
  // were dropped: none is lost without a trace.
  std::size_t tries = 0;
  const bool passed = wiregen::test::poll_until([&] {
    wiregen::log_record record;
    emitter.emit(log_event::refused, record);
    ++tries;
    return log->of("refused").size() > written;
  });
  REQUIRE(passed);
  const auto refused = log->of("refused");
  std::uint64_t accounted = refused.size();
  for (const auto& e : refused) {
    accounted += e.suppressed;
  }
  CHECK(accounted == flood + tries);
  CHECK(refused.back().suppressed > 0);
}

namespace {

/// What a sink wrote, through a FILE* backed by memory.
class captured_file {
 public:
  captured_file() : file_(open_memstream(&data_, &size_)) {}
  ~captured_file() {
    if (file_ != nullptr) {
      std::fclose(file_);
    }
    std::free(data_);
  }
  std::FILE* get() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

wiregen::log_record full_record(const std::vector<wiregen::log_field>& fields) {
  wiregen::log_record record;
  record.level = log_level::error;
  record.event = "handler_failed";
  record.connection_id = 7;
  record.address = "10.0.0.1:5000(tcp)";
  record.error = wiregen::error::handler_failed;
  record.message_type = "bench.EchoRequest";
  record.text = "say \"no\"\n\tthen\x01";
  record.fields = fields;
  record.suppressed = 2;
  return record;
}

}  // namespace

TEST_CASE("logging: the text and JSON Lines sinks write one whole line per record",
          "[runtime][logging]") {
  const std::vector<wiregen::log_field> fields{{"id", "1"}, {"note", "two words"}};
  const auto record = full_record(fields);
  const std::string message = std::error_code(wiregen::error::handler_failed).message();
  const std::string code = std::to_string(static_cast<int>(wiregen::error::handler_failed));
  // 2026-12-06T03:55:01.123Z
  const std::string time = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";

  SECTION("text") {
    captured_file out;
    const auto sink = wiregen::text_logger(log_level::info, out.get());
    sink->write(record);
    wiregen::log_record below;
    below.level = log_level::debug;
    below.event = "connection_opened";
    if (sink->enabled(below.level)) {  // as the runtime asks before it writes
      sink->write(below);
    }
    const auto line = out.text();
    INFO(line);
    const std::string rest = " error handler_failed conn=7 addr=10.0.0.1:5000(tcp) error=\"" +
                             message + "\" code=wiregen:" + code +
                             " type=bench.EchoRequest text=\"say \\\"no\\\"\\n\\tthen\\x01\" id=1 "
                             "note=\"two words\" suppressed=2\n";
    REQUIRE(line.size() > rest.size());
    CHECK(line.substr(line.size() - rest.size()) == rest);
    CHECK(std::regex_match(line.substr(0, line.size() - rest.size()), std::regex(time)));
  }
  SECTION("JSON") {
    captured_file out;
    const auto sink = wiregen::json_logger(log_level::info, out.get());
    sink->write(record);
    const auto line = out.text();
    INFO(line);
    const std::string rest =
        R"j(","level":"error","event":"handler_failed","conn":7,"address":"10.0.0.1:5000(tcp)",)j"
        R"j("error":{"category":"wiregen","value":)j" +
        code + R"j(,"message":")j" + message +
        R"j("},"type":"bench.EchoRequest","text":"say \"no\"\n\tthen\u0001",)j"
        R"j("fields":{"id":"1","note":"two words"},"suppressed":2})j"
        "\n";
    REQUIRE(line.size() > rest.size());
    CHECK(line.substr(line.size() - rest.size()) == rest);
    CHECK(std::regex_match(line.substr(0, line.size() - rest.size()),
                           std::regex(R"j(\{"time":")j" + time)));
  }
}

namespace {

/// A log collector on loopback: a listening socket, bound at once, that
/// starts listening when asked, and reads the lines of one connection.
class collector {
 public:
  collector() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~collector() {
    if (peer_ >= 0) {
      ::close(peer_);
    }
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  /// Bound but not listening, a dial is refused; from now on it connects.
  void listen() { ::listen(fd_, 4); }

  /// Lines received, waiting up to 5 s for each read, until `n` came.
  std::vector<std::string> lines(std::size_t n) {
    if (peer_ < 0) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 5000) != 1) {
        return {};
      }
      peer_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    while (static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '\n')) < n) {
      pollfd ready{peer_, POLLIN, 0};
      char chunk[4096];
      if (::poll(&ready, 1, 5000) != 1) {
        break;
      }
      const auto got = ::recv(peer_, chunk, sizeof chunk, 0);
      if (got <= 0) {
        break;
      }
      text_.append(chunk, static_cast<std::size_t>(got));
    }
    std::vector<std::string> found;
    std::size_t start = 0;
    for (auto end = text_.find('\n'); end != std::string::npos; end = text_.find('\n', start)) {
      found.push_back(text_.substr(start, end - start));
      start = end + 1;
    }
    return found;
  }

 private:
  int fd_;
  int peer_ = -1;
  std::uint16_t port_ = 0;
  std::string text_;
};

wiregen::log_record numbered(const std::string& event) {
  wiregen::log_record record;
  record.level = log_level::warning;
  record.event = event;
  return record;
}

}  // namespace

TEST_CASE("logging: the TCP sink delivers lines to a collector, and counts what it had to drop",
          "[runtime][logging]") {
  SECTION("a collector that is there gets every line, in order") {
    collector at;
    at.listen();
    const auto sink = wiregen::tcp_logger("127.0.0.1", at.port(), log_level::info);
    for (int i = 0; i < 100; ++i) {
      sink->write(numbered("record_" + std::to_string(i)));
    }
    const auto lines = at.lines(100);
    REQUIRE(lines.size() == 100);
    for (int i = 0; i < 100; ++i) {
      CHECK(lines[static_cast<std::size_t>(i)].find("\"event\":\"record_" + std::to_string(i) +
                                                    "\"") != std::string::npos);
    }
  }
  SECTION(
      "while the collector is away, a small buffer keeps the first lines; the rest are "
      "counted") {
    collector at;  // refuses: bound, not listening
    const auto sink = wiregen::tcp_logger("127.0.0.1", at.port(), log_level::info,
                                          wiregen::log_format::text, 300);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) {
      sink->write(numbered("record_" + std::to_string(i)));
    }
    // Writing never waits for the network.
    CHECK(std::chrono::steady_clock::now() - start < wiregen::test::prompt_wake);
    at.listen();  // the sink dials again within a second
    auto lines = at.lines(2);
    REQUIRE(lines.size() >= 2);
    INFO(lines[0]);
    REQUIRE(lines[0].find(" warning log_dropped dropped=") != std::string::npos);
    const auto dropped = std::stoul(lines[0].substr(lines[0].rfind('=') + 1));
    // The lines that fit in 300 bytes come after it, the first ones written.
    const std::size_t kept = 50 - dropped;
    lines = at.lines(kept + 1);
    REQUIRE(lines.size() == kept + 1);
    CHECK(kept > 0);
    for (std::size_t i = 0; i < kept; ++i) {
      CHECK(lines[i + 1].find(" warning record_" + std::to_string(i)) != std::string::npos);
    }
  }
}
