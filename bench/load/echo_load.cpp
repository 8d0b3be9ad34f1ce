// The load generator of the bench protocol: K connections, D requests
// outstanding on each, a fixed payload, a warm-up and a measured window.
// Frames are encoded and decoded with the generated codec (bench::codec);
// the loop is one thread of plain Asio so that the generator costs little
// and behaves the same against every server. Prints one JSON object.
//
//   echo_load --connect 127.0.0.1:7000 [--connections 64] [--depth 16]
//             [--payload 64] [--warmup 1] [--duration 5]
//   echo_load --connect 127.0.0.1:7000 --idle 10000 [--bind 127.0.0.2]
//             # hold idle connections (from --bind's address: one source
//             # address has about 28,000 ephemeral ports)
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "echo.wiregen.h"
#include "load_report.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

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

struct totals {
  bool measuring = false;
  std::uint64_t measured = 0;  // replies inside the window
  std::uint64_t all = 0;       // every reply, warm-up included
  std::uint64_t errors = 0;
  std::vector<std::uint32_t> latency_ns;  // of the measured replies
};

/// One connection keeping `depth` requests in flight.
class load_connection {
 public:
  load_connection(asio::io_context& context, const settings& options, totals& totals)
      : socket_(context), options_(options), totals_(totals), sent_at_(options.depth) {
    request_.set_payload(std::string(options.payload, 'x'));
    input_.resize(64 * 1024);
  }

  asio::ip::tcp::socket& socket() { return socket_; }

  void start() {
    socket_.set_option(asio::ip::tcp::no_delay(true));
    for (std::size_t i = 0; i < options_.depth; ++i) {
      queue_request();
    }
    flush();
    read();
  }

  void stop() {
    std::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void queue_request() {
    request_.set_seq(next_seq_);
    sent_at_[next_seq_ % options_.depth] = clock_type::now();
    ++next_seq_;
    if (bench::codec::append_frame(pending_, 1, request_)) {
      ++totals_.errors;
    }
  }

  void flush() {
    if (writing_ || pending_.empty()) {
      return;
    }
    writing_ = true;
    std::swap(pending_, in_flight_);
    asio::async_write(socket_, asio::buffer(in_flight_), [this](std::error_code ec, std::size_t) {
      writing_ = false;
      in_flight_.clear();
      if (ec) {
        return;
      }
      flush();
    });
  }

  void read() {
    if (used_ == input_.size()) {
      input_.resize(input_.size() * 2);
    }
    socket_.async_read_some(asio::buffer(input_.data() + used_, input_.size() - used_),
                            [this](std::error_code ec, std::size_t n) {
                              if (ec) {
                                return;
                              }
                              used_ += n;
                              consume();
                              flush();
                              read();
                            });
  }

  void consume() {
    std::size_t at = 0;
    const auto now = clock_type::now();
    while (used_ - at >= bench::framing::header_size) {
      bench::frame_header header;
      if (bench::codec::read_header(input_.data() + at, header)) {
        ++totals_.errors;
        at = used_;
        break;
      }
      const std::size_t size = bench::framing::header_size + header.payload_size;
      if (used_ - at < size) {
        break;
      }
      if (header.message_id != 2 ||
          !reply_.ParseFromArray(input_.data() + at + bench::framing::header_size,
                                 static_cast<int>(header.payload_size)) ||
          reply_.payload().size() != options_.payload) {
        ++totals_.errors;
      } else {
        const auto latency = now - sent_at_[reply_.seq() % options_.depth];
        ++totals_.all;
        if (totals_.measuring) {
          ++totals_.measured;
          totals_.latency_ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count(), 0xffffffff)));
        }
      }
      at += size;
      queue_request();
    }
    std::memmove(input_.data(), input_.data() + at, used_ - at);
    used_ -= at;
  }

  asio::ip::tcp::socket socket_;
  const settings& options_;
  totals& totals_;
  bench::EchoRequest request_;
  bench::EchoReply reply_;
  std::vector<clock_type::time_point> sent_at_;
  std::uint64_t next_seq_ = 0;
  std::string pending_;
  std::string in_flight_;
  bool writing_ = false;
  std::vector<std::uint8_t> input_;
  std::size_t used_ = 0;
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
  asio::io_context context(1);
  totals totals;
  totals.latency_ns.reserve(1 << 24);
  std::vector<std::unique_ptr<load_connection>> connections;
  const asio::ip::tcp::endpoint server(asio::ip::make_address(options.host), options.port);
  for (std::size_t i = 0; i < options.connections; ++i) {
    connections.push_back(std::make_unique<load_connection>(context, options, totals));
    std::error_code ec;
    connections.back()->socket().connect(server, ec);
    if (ec) {
      std::fprintf(stderr, "echo_load: connect: %s\n", ec.message().c_str());
      return 1;
    }
  }
  for (auto& connection : connections) {
    connection->start();
  }
  asio::steady_timer timer(context);
  clock_type::time_point window_start;
  timer.expires_after(std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(options.warmup)));
  timer.async_wait([&](std::error_code) {
    totals.measuring = true;
    window_start = clock_type::now();
    timer.expires_after(std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(options.duration)));
    timer.async_wait([&](std::error_code) {
      totals.measuring = false;
      for (auto& connection : connections) {
        connection->stop();
      }
    });
  });
  context.run();
  const double seconds = std::chrono::duration<double>(clock_type::now() - window_start).count();
  bench::load_report report{
      options.connections, options.depth, options.payload, seconds,
      totals.measured,     totals.all,    totals.errors,   std::move(totals.latency_ns)};
  bench::print_report(report);
  return totals.errors == 0 ? 0 : 1;
}
