// The load generator of the bench protocol: K connections, D requests
// outstanding on each, a fixed payload, a warm-up and a measured window. It
// is wiregen's load generator for any protocol (tools/load/wiregen_load.hpp)
// over the generated bench::protocol, with the bench protocol's flags, plus
// an idle mode for memory measurements. Prints one JSON object.
//
//   echo_load --connect 127.0.0.1:7000 [--connections 64] [--depth 16]
//             [--payload 64] [--warmup 1] [--duration 5]
//   echo_load --connect 127.0.0.1:7000 --idle 10000 [--bind 127.0.0.2]
//             # hold idle connections (from --bind's address: one source
//             # address has about 28,000 ephemeral ports)
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "echo.wiregen.h"
#include "wiregen_load.hpp"

namespace {

struct settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 64;
  std::size_t depth = 16;
  std::size_t payload = 64;
  double warmup = 1.0;
  double duration = 5.0;
  std::size_t idle = 0;
  std::string bind;  // the idle connections' source address
};

bool parse(int argc, char** argv, settings& out) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--connect") {
      const std::string text = value;
      const auto colon = text.rfind(':');
      if (colon == std::string::npos) {
        return false;
      }
      out.host = text.substr(0, colon);
      out.port = static_cast<std::uint16_t>(std::atoi(text.c_str() + colon + 1));
    } else if (flag == "--connections") {
      out.connections = std::strtoul(value, nullptr, 10);
    } else if (flag == "--depth") {
      out.depth = std::max<std::size_t>(1, std::strtoul(value, nullptr, 10));
    } else if (flag == "--payload") {
      out.payload = std::strtoul(value, nullptr, 10);
    } else if (flag == "--warmup") {
      out.warmup = std::atof(value);
    } else if (flag == "--duration") {
      out.duration = std::atof(value);
    } else if (flag == "--idle") {
      out.idle = std::strtoul(value, nullptr, 10);
    } else if (flag == "--bind") {
      out.bind = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && out.port != 0;
}

/// Opens `count` connections that send nothing, reports, and holds them
/// until SIGTERM or SIGINT.
int hold_idle(const settings& options) {
  asio::io_context context(1);
  const asio::ip::tcp::endpoint server(asio::ip::make_address(options.host), options.port);
  std::vector<asio::ip::tcp::socket> sockets;
  sockets.reserve(options.idle);
  for (std::size_t i = 0; i < options.idle; ++i) {
    sockets.emplace_back(context);
    std::error_code ec;
    if (!options.bind.empty()) {
      const auto source = asio::ip::make_address(options.bind, ec);
      if (!ec) {
        sockets.back().open(server.protocol(), ec);
      }
      if (!ec) {
        sockets.back().bind({source, 0}, ec);
      }
    }
    if (!ec) {
      sockets.back().connect(server, ec);
    }
    if (ec) {
      std::printf("{\"idle\": %zu, \"error\": \"%s\"}\n", i, ec.message().c_str());
      return 1;
    }
  }
  std::printf("{\"idle\": %zu}\n", sockets.size());
  std::fflush(stdout);
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { context.stop(); });
  context.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s --connect HOST:PORT [--connections K] [--depth D] [--payload BYTES] "
                 "[--warmup S] [--duration S] | --idle N [--bind ADDRESS]\n",
                 argv[0]);
    return 2;
  }
  if (options.idle > 0) {
    return hold_idle(options);
  }
  wiregen::load::settings load;
  load.host = options.host;
  load.port = options.port;
  load.connections = options.connections;
  load.depth = options.depth;
  load.warmup = options.warmup;
  load.duration = options.duration;
  load.fill_field = "payload";
  load.fill_size = options.payload;
  wiregen::load::load_report report;
  if (const auto problem = wiregen::load::run<bench::protocol>(load, report); !problem.empty()) {
    std::fprintf(stderr, "echo_load: %s\n", problem.c_str());
    return 1;
  }
  report.payload = options.payload;
  wiregen::load::print_report(report);
  return report.errors == 0 ? 0 : 1;
}
