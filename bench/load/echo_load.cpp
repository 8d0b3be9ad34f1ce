// The load generator of the bench protocol: K connections, D requests
// outstanding on each, a fixed payload, a warm-up and a measured window. It
// is wiregen's load generator for any protocol (tools/load/wiregen_load.hpp)
// over the generated bench::protocol, with the bench protocol's flags, plus
// an idle mode for memory measurements. Prints one JSON object.
//
//   echo_load --connect 127.0.0.1:7000 [--connections 64] [--depth 16]
//             [--payload 64] [--warmup 1] [--duration 5]
//   echo_load --connect 127.0.0.1:7000 --idle 10000 [--bind 127.0.0.2]
//             [--echo-first BYTES]
//             # hold idle connections (from --bind's address: one source
//             # address has about 28,000 ephemeral ports), each of which
//             # first made one echo of BYTES payload bytes if asked
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "echo.wiregen.h"
#include "wiregen_load.hpp"

namespace {

/// The engine's settings, plus the idle mode.
struct settings {
  wiregen::load::settings load;
  std::size_t idle = 0;
  std::string bind;  // the idle connections' source address
  std::size_t echo_first = 0;  // payload bytes each idle connection echoes once first
  bool echo_first_set = false;
};

bool parse(int argc, char** argv, settings& out) {
  out.load.fill_field = "payload";
  out.load.fill_size = 64;
  return wiregen::load::parse(argc, argv, out.load,
                              [&](const std::string& flag, const std::string& value) {
                                if (flag == "--payload") {
                                  out.load.fill_size = std::strtoul(value.c_str(), nullptr, 10);
                                } else if (flag == "--idle") {
                                  out.idle = std::strtoul(value.c_str(), nullptr, 10);
                                } else if (flag == "--echo-first") {
                                  out.echo_first = std::strtoul(value.c_str(), nullptr, 10);
                                  out.echo_first_set = true;
                                } else if (flag == "--bind") {
                                  out.bind = value;
                                } else {
                                  return false;
                                }
                                return true;
                              });
}

/// One request of `payload` bytes and its whole reply, blocking.
std::error_code echo_once(asio::ip::tcp::socket& socket, std::size_t payload) {
  bench::EchoRequest request;
  request.set_payload(std::string(payload, 'x'));
  std::string frame;
  if (auto ec = bench::codec::append_frame(frame, bench::message_id<bench::EchoRequest>::value,
                                           request)) {
    return ec;
  }
  std::error_code ec;
  asio::write(socket, asio::buffer(frame), ec);
  std::vector<std::uint8_t> reply(bench::framing::header_size);
  if (!ec) {
    asio::read(socket, asio::buffer(reply), ec);
  }
  bench::frame_header header;
  if (!ec) {
    ec = bench::codec::read_header(reply.data(), header);
  }
  if (!ec) {
    reply.resize(header.payload_size);
    asio::read(socket, asio::buffer(reply), ec);
  }
  return ec;
}

/// Opens `count` connections that send nothing (or one echo first),
/// reports, and holds them until SIGTERM or SIGINT.
int hold_idle(const settings& options) {
  asio::io_context context(1);
  const asio::ip::tcp::endpoint server(asio::ip::make_address(options.load.host),
                                       options.load.port);
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
    if (!ec && options.echo_first_set) {
      ec = echo_once(sockets.back(), options.echo_first);
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
                 "[--warmup S] [--duration S] | --idle N [--bind ADDRESS] [--echo-first BYTES]\n",
                 argv[0]);
    return 2;
  }
  if (options.idle > 0) {
    return hold_idle(options);
  }
  wiregen::load::load_report report;
  if (const auto problem = wiregen::load::run<bench::protocol>(options.load, report);
      !problem.empty()) {
    std::fprintf(stderr, "echo_load: %s\n", problem.c_str());
    return 1;
  }
  report.payload = options.load.fill_size;
  wiregen::load::print_report(report);
  return report.errors == 0 ? 0 : 1;
}
