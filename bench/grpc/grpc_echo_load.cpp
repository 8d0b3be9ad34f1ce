// The load generator for the gRPC baselines: the same scenarios and the
// same JSON as bench/load/echo_load, over gRPC's callback API. K channels,
// each its own TCP connection, with D requests in flight on each: D
// concurrent unary calls (--mode unary), or one bidirectional stream with D
// requests outstanding (--mode stream).
//
//   grpc_echo_load --connect 127.0.0.1:7000 --mode stream [--connections 64]
//                  [--depth 16] [--payload 64] [--warmup 1] [--duration 5]
//   grpc_echo_load --connect 127.0.0.1:7000 --idle 1000   # hold idle channels
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "grpc_echo.grpc.pb.h"
#include "load_report.hpp"
#include "stop_signals.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using grpcbench::EchoReply;
using grpcbench::EchoRequest;

struct settings {
  std::string target;
  bool stream = true;
  std::size_t connections = 64;
  std::size_t depth = 16;
  std::size_t payload = 64;
  double warmup = 1.0;
  double duration = 5.0;
  std::size_t idle = 0;
};

/// Shared by gRPC's callback threads, hence the lock.
class totals {
 public:
  void reply(clock_type::time_point sent, bool ok) {
    const auto now = clock_type::now();
    std::lock_guard lock(mutex_);
    if (!ok) {
      ++errors_;
      return;
    }
    ++all_;
    if (measuring_) {
      ++measured_;
      latency_ns_.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count(), 0xffffffff)));
    }
  }
  void measure(bool on) {
    std::lock_guard lock(mutex_);
    measuring_ = on;
  }
  bool stopping() const { return stopping_.load(); }
  void stop() { stopping_.store(true); }

  /// Callers that keep load going register, and check out when they stop.
  void enter() {
    std::lock_guard lock(mutex_);
    ++active_;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--active_ == 0) {
      idle_.notify_all();
    }
  }
  void wait_all_left() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return active_ == 0; });
  }

  std::mutex mutex_;
  std::condition_variable idle_;
  std::atomic<bool> stopping_{false};
  bool measuring_ = false;
  std::size_t active_ = 0;
  std::uint64_t measured_ = 0;
  std::uint64_t all_ = 0;
  std::uint64_t errors_ = 0;
  std::vector<std::uint32_t> latency_ns_;
};

/// One unary call in flight at a time, over and over.
class unary_caller {
 public:
  unary_caller(grpcbench::Echo::Stub& stub, const settings& options, totals& totals)
      : stub_(stub), totals_(totals) {
    request_.set_payload(std::string(options.payload, 'x'));
  }

  void start() {
    totals_.enter();
    issue();
  }

 private:
  void issue() {
    if (totals_.stopping()) {
      totals_.leave();
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    request_.set_seq(request_.seq() + 1);
    sent_at_ = clock_type::now();
    stub_.async()->Call(context_.get(), &request_, &reply_, [this](grpc::Status status) {
      totals_.reply(sent_at_, status.ok() && reply_.seq() == request_.seq());
      issue();
    });
  }

  grpcbench::Echo::Stub& stub_;
  totals& totals_;
  std::unique_ptr<grpc::ClientContext> context_;
  EchoRequest request_;
  EchoReply reply_;
  clock_type::time_point sent_at_;
};

/// One stream keeping `depth` requests outstanding. gRPC allows one write
/// in flight per stream: the next request goes when the last write is done
/// and fewer than `depth` wait for their replies.
class streamer final : public grpc::ClientBidiReactor<EchoRequest, EchoReply> {
 public:
  streamer(grpcbench::Echo::Stub& stub, const settings& options, totals& totals)
      : totals_(totals), depth_(options.depth), sent_at_(options.depth) {
    request_.set_payload(std::string(options.payload, 'x'));
    totals_.enter();
    stub.async()->Stream(&context_, this);
    StartRead(&reply_);
    write_if_room();
    StartCall();
  }

  void stop() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
    }
    if (ok) {
      write_if_room();
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;
    }
    clock_type::time_point sent;
    {
      std::lock_guard lock(mutex_);
      sent = sent_at_[reply_.seq() % depth_];
      --outstanding_;
    }
    totals_.reply(sent, true);
    StartRead(&reply_);
    write_if_room();
  }

  void OnDone(const grpc::Status&) override { totals_.leave(); }

 private:
  void write_if_room() {
    {
      std::lock_guard lock(mutex_);
      if (writing_ || outstanding_ >= depth_ || totals_.stopping()) {
        return;
      }
      writing_ = true;
      ++outstanding_;
      request_.set_seq(next_seq_);
      sent_at_[next_seq_ % depth_] = clock_type::now();
      ++next_seq_;
    }
    StartWrite(&request_);  // outside the lock: gRPC may run a reaction inline
  }

  totals& totals_;
  const std::size_t depth_;
  grpc::ClientContext context_;
  std::mutex mutex_;
  EchoRequest request_;
  EchoReply reply_;
  std::vector<clock_type::time_point> sent_at_;
  std::uint64_t next_seq_ = 0;
  std::size_t outstanding_ = 0;
  bool writing_ = false;
};

bool parse(int argc, char** argv, settings& out) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--connect") {
      out.target = value;
    } else if (flag == "--mode") {
      out.stream = std::string(value) == "stream";
      if (!out.stream && std::string(value) != "unary") {
        return false;
      }
    } else if (flag == "--connections") {
      out.connections = std::strtoul(value, nullptr, 10);
    } else if (flag == "--depth") {
      out.depth = std::max<std::size_t>(1, std::strtoul(value, nullptr, 10));
    } else if (flag == "--payload") {
      out.payload = std::strtoul(value, nullptr, 10);
    } else if (flag == "--warmup") {
      out.warmup = std::strtod(value, nullptr);
    } else if (flag == "--duration") {
      out.duration = std::strtod(value, nullptr);
    } else if (flag == "--idle") {
      out.idle = std::strtoul(value, nullptr, 10);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !out.target.empty();
}

/// A channel of its own: a private subchannel pool, so that no two
/// channels share a TCP connection.
std::shared_ptr<grpc::Channel> open_channel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool connected(grpc::Channel& channel) {
  return channel.WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

/// Opens `count` connected channels that send nothing, reports, and holds
/// them until SIGTERM or SIGINT.
int hold_idle(const settings& options, const sigset_t& stop_signals) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (std::size_t i = 0; i < options.idle; ++i) {
    channels.push_back(open_channel(options.target));
    if (!connected(*channels.back())) {
      std::printf("{\"idle\": %zu, \"error\": \"not connected\"}\n", i);
      return 1;
    }
  }
  std::printf("{\"idle\": %zu}\n", channels.size());
  std::fflush(stdout);
  int received = 0;
  sigwait(&stop_signals, &received);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s --connect HOST:PORT [--mode stream|unary] [--connections K] "
                 "[--depth D] [--payload BYTES] [--warmup S] [--duration S] | --idle N\n",
                 argv[0]);
    return 2;
  }
  const sigset_t stop_signals = grpcbench::block_stop_signals();
  if (options.idle > 0) {
    return hold_idle(options, stop_signals);
  }

  totals totals;
  totals.latency_ns_.reserve(1 << 22);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpcbench::Echo::Stub>> stubs;
  for (std::size_t i = 0; i < options.connections; ++i) {
    channels.push_back(open_channel(options.target));
    if (!connected(*channels.back())) {
      std::fprintf(stderr, "grpc_echo_load: cannot connect to %s\n", options.target.c_str());
      return 1;
    }
    stubs.push_back(grpcbench::Echo::NewStub(channels.back()));
  }
  std::vector<std::unique_ptr<unary_caller>> callers;
  std::vector<std::unique_ptr<streamer>> streams;
  for (auto& stub : stubs) {
    if (options.stream) {
      streams.push_back(std::make_unique<streamer>(*stub, options, totals));
    } else {
      for (std::size_t d = 0; d < options.depth; ++d) {
        callers.push_back(std::make_unique<unary_caller>(*stub, options, totals));
        callers.back()->start();
      }
    }
  }
  auto seconds_of = [](double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  };
  std::this_thread::sleep_for(seconds_of(options.warmup));  // the warm-up is a span of time
  totals.measure(true);
  const auto window_start = clock_type::now();
  std::this_thread::sleep_for(seconds_of(options.duration));
  totals.measure(false);
  const double seconds = std::chrono::duration<double>(clock_type::now() - window_start).count();
  totals.stop();
  for (auto& stream : streams) {
    stream->stop();
  }
  totals.wait_all_left();

  std::lock_guard lock(totals.mutex_);
  wiregen::load::load_report report{
      options.connections, options.depth, options.payload, seconds,
      totals.measured_,    totals.all_,   totals.errors_,  std::move(totals.latency_ns_)};
  wiregen::load::print_report(report);
  return totals.errors_ == 0 ? 0 : 1;
}
