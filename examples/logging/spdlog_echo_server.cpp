// The echo server with its runtime records written through spdlog: how to
// adapt wiregen's logger interface to the logging library a program already
// uses. spdlog stamps the time and level; the adapter writes the rest.
//
//   spdlog_echo_server --listen 127.0.0.1:7000 [--log debug|info|warning|error]
//
// Serves until SIGINT or SIGTERM, then stops gracefully.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>
#include <wiregen/log.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "echo.wiregen.h"

namespace {

/// wiregen's records as spdlog lines, at the matching spdlog level.
class spdlog_adapter final : public wiregen::logger {
 public:
  spdlog_adapter(std::shared_ptr<spdlog::logger> to, wiregen::log_level threshold)
      : logger(threshold), to_(std::move(to)) {}

  void write(const wiregen::log_record& record) noexcept override {
    try {
      std::string line(record.event);
      const auto add = [&](std::string_view name, std::string_view value) {
        line += ' ';
        line += name;
        line += '=';
        line += value;
      };
      if (record.connection_id != 0) {
        add("conn", std::to_string(record.connection_id));
      }
      if (!record.address.empty()) {
        add("addr", record.address);
      }
      if (record.error) {
        add("error", '"' + record.error.message() + '"');
      }
      if (!record.message_type.empty()) {
        add("type", record.message_type);
      }
      if (!record.text.empty()) {
        add("text", '"' + std::string(record.text) + '"');
      }
      for (const auto& field : record.fields) {
        add(field.name, field.value);
      }
      if (record.suppressed != 0) {
        add("suppressed", std::to_string(record.suppressed));
      }
      to_->log(level_of(record.level), "{}", line);
    } catch (...) {
      // spdlog failed or memory ran out: the record is lost, the server goes on.
    }
  }

 private:
  static spdlog::level::level_enum level_of(wiregen::log_level level) {
    switch (level) {
      case wiregen::log_level::debug:
        return spdlog::level::debug;
      case wiregen::log_level::info:
        return spdlog::level::info;
      case wiregen::log_level::warning:
        return spdlog::level::warn;
      default:
        return spdlog::level::err;
    }
  }

  std::shared_ptr<spdlog::logger> to_;
};

class echo_handler final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  }
};

}  // namespace

int main(int argc, char** argv) {
  wiregen::socket_address address;
  auto threshold = wiregen::log_level::info;
  bool listen_given = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && !wiregen::parse_socket_address(argv[i + 1], address)) {
      listen_given = true;
    } else if (flag == "--log" && wiregen::log_level_from_string(argv[i + 1])) {
      threshold = *wiregen::log_level_from_string(argv[i + 1]);
    } else {
      listen_given = false;
      break;
    }
  }
  if (!listen_given || argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s --listen HOST:PORT [--log LEVEL]\n", argv[0]);
    return 2;
  }

  auto to = spdlog::stderr_color_mt("wiregen");
  to->set_level(spdlog::level::trace);  // the adapter's threshold decides
  wiregen::server_options options;
  options.logger = std::make_shared<spdlog_adapter>(to, threshold);

  wiregen::shutdown_signals signals;
  echo_handler handler;
  bench::server server(handler, options);
  if (server.listen(address)) {
    return 1;  // the logger said why
  }
  signals.wait();
  server.stop(wiregen::stop_mode::graceful_wait, std::chrono::seconds(5));
  return 0;
}
