#pragma once

// A load generator for any wiregen protocol, written once over the generated
// code: `Protocol` is a generated `<namespace>::protocol` (its message table
// and its codec), and requests are built by name from the generated
// protobuf descriptors. cmake's wiregen_add_load_tool() makes a program of
// it for one protocol (see docs/performance.md, "A load generator for any
// protocol").
//
// K connections on one thread of plain Asio, D requests in flight on each.
// A reply is matched to its request by the REQUEST_ID header field when the
// protocol has one (replies may come in any order), else by order. Frames of
// other types (pushes) are skipped. The run lasts a warm-up plus a measured
// window, or until a number of replies came back (--requests).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "load_report.hpp"
#include "wiregen/frame_loop.hpp"
#include "wiregen/protocol_info.hpp"

namespace wiregen::load {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 64;
  std::size_t depth = 16;
  double warmup = 1.0;
  double duration = 5.0;
  /// Stop after this many replies instead of after warm-up + duration.
  std::uint64_t requests = 0;
  /// What to send and what answers it: an rpc ("Service.Method"), or a
  /// request and a reply message by full name. Empty: the protocol's first
  /// rpc, or its only client and only server message.
  std::string rpc;
  std::string send;
  std::string expect;
  /// The request in protobuf text format, e.g. `key: "a"`.
  std::string request_text;
  /// A string or bytes field of the request set to `fill_size` bytes.
  std::string fill_field;
  std::size_t fill_size = 0;
  /// The server's process id: its CPU time per reply goes into the report.
  int server_pid = 0;
};

/// The request to send and the reply that answers it, resolved from the
/// settings and the protocol's table.
struct plan {
  std::uint32_t request_id = 0;
  std::uint32_t reply_id = 0;
  std::unique_ptr<google::protobuf::Message> request;
  std::unique_ptr<google::protobuf::Message> reply;  // parsed into, to check replies
};

/// Builds the plan, or returns a message saying what is wrong.
inline std::string make_plan(const protocol_info& info, const settings& options, plan& out) {
  std::string send = options.send;
  std::string expect = options.expect;
  if (!options.rpc.empty() || (send.empty() && !info.rpcs.empty())) {
    const auto rpc = std::find_if(info.rpcs.begin(), info.rpcs.end(), [&](const rpc_info& r) {
      return options.rpc.empty() || r.name == options.rpc;
    });
    if (rpc == info.rpcs.end()) {
      return "no rpc " + options.rpc + " in this protocol";
    }
    send = rpc->request;
    expect = rpc->reply;
  }
  auto sent_by = [&](message_sender side) {
    std::vector<std::string_view> names;
    for (const auto& m : info.messages) {
      if (m.sender == side || m.sender == message_sender::both) {
        names.push_back(m.full_name);
      }
    }
    return names;
  };
  if (send.empty()) {
    const auto requests = sent_by(message_sender::client);
    if (requests.size() != 1) {
      return "the client sends several messages: choose one with --send or --rpc";
    }
    send = requests.front();
  }
  if (expect.empty()) {
    const auto replies = sent_by(message_sender::server);
    if (replies.size() != 1) {
      return "the server sends several messages: choose the reply with --expect";
    }
    expect = replies.front();
  }
  auto entry = [&](const std::string& name) -> const message_info* {
    for (const auto& m : info.messages) {
      if (m.full_name == name) {
        return &m;
      }
    }
    return nullptr;
  };
  const auto* request_entry = entry(send);
  const auto* reply_entry = entry(expect);
  if (!request_entry || !reply_entry) {
    return "no message " + (request_entry ? expect : send) + " in this protocol's table";
  }
  out.request_id = request_entry->id;
  out.reply_id = reply_entry->id;
  auto make = [](const std::string& name) -> std::unique_ptr<google::protobuf::Message> {
    const auto* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
    if (!descriptor) {
      return nullptr;
    }
    const auto* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
    return std::unique_ptr<google::protobuf::Message>(prototype ? prototype->New() : nullptr);
  };
  out.request = make(send);
  out.reply = make(expect);
  if (!out.request || !out.reply) {
    return "no protobuf type for " + (out.request ? expect : send);
  }
  if (!options.request_text.empty() &&
      !google::protobuf::TextFormat::ParseFromString(options.request_text, out.request.get())) {
    return "--request is not a " + send + " in text format";
  }
  if (!options.fill_field.empty()) {
    const auto* field = out.request->GetDescriptor()->FindFieldByName(options.fill_field);
    if (!field || field->is_repeated() ||
        field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
      return send + " has no string or bytes field " + options.fill_field;
    }
    out.request->GetReflection()->SetString(out.request.get(), field,
                                            std::string(options.fill_size, 'x'));
  }
  return {};
}

/// What the whole run shares.
struct run_state {
  run_state(const settings& o, const plan& w) : options(o), work(w) {}
  const settings& options;
  const plan& work;
  load_report report;
  bool measuring = false;
  bool done = false;
  std::uint64_t sent = 0;          // requests issued, for --requests
  std::size_t live = 0;            // connections not lost
  std::function<void()> finished;  // once --requests replies came back, or all are lost
};

/// One connection keeping `depth` requests in flight.
template <class Protocol>
class load_connection {
 public:
  load_connection(asio::io_context& context, run_state& run)
      : socket_(context), run_(run), sent_at_(run.options.depth), free_slots_(run.options.depth) {
    for (std::size_t slot = 0; slot < free_slots_.size(); ++slot) {
      free_slots_[slot] = free_slots_.size() - 1 - slot;
    }
    rounds_.resize(run.options.depth, 0);
    input_.resize(64 * 1024);
    if (!Protocol::info.request_ids) {
      // In order: every request is the same frame.
      (void)Protocol::append_frame(same_frame_, run.work.request_id, *run.work.request);
    }
  }

  asio::ip::tcp::socket& socket() { return socket_; }

  void start() {
    socket_.set_option(asio::ip::tcp::no_delay(true));
    fill();
    flush();
    read();
  }

  void stop() {
    std::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void fill() {
    while (!free_slots_.empty() && !run_.done &&
           (run_.options.requests == 0 || run_.sent < run_.options.requests)) {
      const std::size_t slot = free_slots_.back();
      free_slots_.pop_back();
      ++run_.sent;
      sent_at_[slot] = clock_type::now();
      if (!Protocol::info.request_ids) {
        in_order_.push_back(slot);
        pending_ += same_frame_;
        continue;
      }
      // The id says the slot: id - 1 = slot (mod depth), never 0 (a push).
      const std::uint64_t depth = sent_at_.size();
      const std::uint64_t rounds = std::max<std::uint64_t>(1, Protocol::max_request_id / depth);
      const std::uint64_t id = 1 + slot + depth * (rounds_[slot]++ % rounds);
      wiregen::frame_meta meta;
      meta.request_id = id;
      if (Protocol::append_frame(pending_, run_.work.request_id, *run_.work.request, meta)) {
        ++run_.report.errors;
      }
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
      if (!ec) {
        flush();
      }
    });
  }

  void read() {
    if (used_ == input_.size()) {
      input_.resize(input_.size() * 2);
    }
    socket_.async_read_some(asio::buffer(input_.data() + used_, input_.size() - used_),
                            [this](std::error_code ec, std::size_t n) {
                              if (ec) {
                                lost();
                                return;
                              }
                              used_ += n;
                              consume();
                              fill();
                              flush();
                              read();
                            });
  }

  void consume() {
    // The runtime's frame loop, as a connection runs it: any layout, and a
    // bad frame ends the stream (nothing can be followed past it).
    const auto result = loop_.decode<typename Protocol::header, Protocol::min_header_size,
                                     Protocol::trailer_size>(
        std::span<const std::uint8_t>(input_.data(), used_), Protocol::scan_header,
        [this](const typename Protocol::header& header, std::span<const std::uint8_t> frame,
               std::size_t header_size) {
          on_frame(header, frame.subspan(header_size, header.payload_size));
          return std::error_code();
        },
        [](std::error_code) { return false; });
    if (result.error) {
      lost();
      return;
    }
    std::memmove(input_.data(), input_.data() + result.consumed, used_ - result.consumed);
    used_ -= result.consumed;
  }

  void on_frame(const typename Protocol::header& header, std::span<const std::uint8_t> payload) {
    bool wrong = false;
    if (Protocol::info.ids_on_wire && header.message_id != run_.work.reply_id) {
      // Another message: a push, unless it answers a request (an error
      // status in place of the reply, say).
      if (!Protocol::info.request_ids || header.meta.request_id == 0) {
        return;
      }
      wrong = true;
    } else if (Protocol::info.ids_on_wire) {
      wrong = !run_.work.reply->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    }
    std::size_t slot = 0;
    if (Protocol::info.request_ids) {
      slot = (header.meta.request_id - 1) % sent_at_.size();
      if (header.meta.request_id == 0 ||
          std::find(free_slots_.begin(), free_slots_.end(), slot) != free_slots_.end()) {
        count_error();  // answers nothing outstanding
        return;
      }
    } else {
      if (in_order_.empty()) {
        count_error();
        return;
      }
      slot = in_order_.front();
      in_order_.erase(in_order_.begin());
    }
    free_slots_.push_back(slot);
    if (wrong) {
      count_error();
      return;
    }
    ++run_.report.all;
    if (run_.measuring) {
      ++run_.report.measured;
      const auto latency = clock_type::now() - sent_at_[slot];
      run_.report.latency_ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count(), 0xffffffff)));
    }
    check_finished();
  }

  void count_error() {
    ++run_.report.errors;
    check_finished();
  }

  void check_finished() {
    if (run_.options.requests > 0 && !run_.done &&
        run_.report.all + run_.report.errors >= run_.options.requests) {
      run_.finished();
    }
  }

  /// The connection is lost (the peer closed it, or its bytes cannot be
  /// followed): what it waited for will not come.
  void lost() {
    if (run_.done || dead_) {
      return;
    }
    dead_ = true;
    stop();
    run_.report.errors += sent_at_.size() - free_slots_.size();
    if (--run_.live == 0) {
      run_.finished();  // nobody left to send the rest
      return;
    }
    check_finished();
  }

  asio::ip::tcp::socket socket_;
  run_state& run_;
  std::vector<clock_type::time_point> sent_at_;  // per slot
  std::vector<std::size_t> free_slots_;
  std::vector<std::uint64_t> rounds_;  // per slot: how often it carried a request id
  std::vector<std::size_t> in_order_;  // slots awaiting replies, oldest first
  std::string same_frame_;
  std::string pending_;
  std::string in_flight_;
  bool writing_ = false;
  bool dead_ = false;
  std::vector<std::uint8_t> input_;
  std::size_t used_ = 0;
  frame_loop loop_;
};

/// The server's CPU seconds so far (user + system), from /proc.
inline double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::vector<std::string> fields;
  std::size_t at = close + 2;
  while (at < line.size()) {
    const auto end = line.find(' ', at);
    fields.push_back(line.substr(at, end - at));
    at = end == std::string::npos ? line.size() : end + 1;
  }
  if (fields.size() < 13) {
    return 0;
  }
  return static_cast<double>(std::stoull(fields[11]) + std::stoull(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Runs the load; fills `report`. Returns an error message, or empty.
template <class Protocol>
std::string run(const settings& options, load_report& report) {
  plan work;
  if (auto problem = make_plan(Protocol::info, options, work); !problem.empty()) {
    return problem;
  }
  asio::io_context context(1);
  run_state run(options, work);
  run.report.connections = options.connections;
  run.report.depth = options.depth;
  run.report.payload = work.request->ByteSizeLong();
  run.report.latency_ns.reserve(1 << 20);
  std::vector<std::unique_ptr<load_connection<Protocol>>> connections;
  std::error_code ec;
  const asio::ip::tcp::endpoint server(asio::ip::make_address(options.host, ec), options.port);
  if (ec) {
    return "bad address " + options.host;
  }
  for (std::size_t i = 0; i < options.connections; ++i) {
    connections.push_back(std::make_unique<load_connection<Protocol>>(context, run));
    connections.back()->socket().connect(server, ec);
    if (ec) {
      return "connect: " + ec.message();
    }
  }
  asio::steady_timer timer(context);
  auto stop_all = [&] {
    run.done = true;
    run.measuring = false;
    timer.cancel();
    for (auto& connection : connections) {
      connection->stop();
    }
  };
  auto seconds = [](double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  };
  clock_type::time_point window_start = clock_type::now();
  double cpu_before = options.server_pid ? cpu_seconds(options.server_pid) : 0;
  run.finished = stop_all;
  if (options.requests > 0) {
    run.measuring = true;  // counted: every reply is measured
  } else {
    timer.expires_after(seconds(options.warmup));
    timer.async_wait([&](std::error_code ec) {
      if (ec || run.done) {
        return;
      }
      run.measuring = true;
      window_start = clock_type::now();
      cpu_before = options.server_pid ? cpu_seconds(options.server_pid) : 0;
      timer.expires_after(seconds(options.duration));
      timer.async_wait([&](std::error_code window_ec) {
        if (!window_ec) {
          stop_all();
        }
      });
    });
  }
  run.live = connections.size();
  for (auto& connection : connections) {
    connection->start();
  }
  context.run();
  run.report.seconds = std::chrono::duration<double>(clock_type::now() - window_start).count();
  if (options.server_pid) {
    run.report.server_cpu_s = cpu_seconds(options.server_pid) - cpu_before;
  }
  report = std::move(run.report);
  return {};
}

/// Reads one `--flag value` of the command line (the usage line in main()).
inline bool parse_flag(const std::string& flag, const std::string& value, settings& out) {
  if (flag == "--connect") {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos) {
      return false;
    }
    out.host = value.substr(0, colon);
    out.port = static_cast<std::uint16_t>(std::strtoul(value.c_str() + colon + 1, nullptr, 10));
  } else if (flag == "--connections") {
    out.connections = std::strtoul(value.c_str(), nullptr, 10);
  } else if (flag == "--depth") {
    out.depth = std::max<std::size_t>(1, std::strtoul(value.c_str(), nullptr, 10));
  } else if (flag == "--warmup") {
    out.warmup = std::strtod(value.c_str(), nullptr);
  } else if (flag == "--duration") {
    out.duration = std::strtod(value.c_str(), nullptr);
  } else if (flag == "--requests") {
    out.requests = std::strtoull(value.c_str(), nullptr, 10);
  } else if (flag == "--rpc") {
    out.rpc = value;
  } else if (flag == "--send") {
    out.send = value;
  } else if (flag == "--expect") {
    out.expect = value;
  } else if (flag == "--request") {
    out.request_text = value;
  } else if (flag == "--fill") {
    const auto equals = value.find('=');
    if (equals == std::string::npos) {
      return false;
    }
    out.fill_field = value.substr(0, equals);
    out.fill_size = std::strtoul(value.c_str() + equals + 1, nullptr, 10);
  } else if (flag == "--server-pid") {
    out.server_pid = std::atoi(value.c_str());
  } else {
    return false;
  }
  return true;
}

/// Parses `--flag value` pairs into `out`; `extra(flag, value)`, if given,
/// takes the flags of a program built on this one first.
inline bool parse(int argc, char** argv, settings& out,
                  const std::function<bool(const std::string&, const std::string&)>& extra = {}) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (!(extra && extra(flag, value)) && !parse_flag(flag, value, out)) {
      return false;
    }
  }
  return argc % 2 == 1 && out.port != 0;
}

/// The program: prints one JSON report (load_report.hpp) and exits 0 when
/// no reply was wrong.
template <class Protocol>
int main(int argc, char** argv) {
  settings options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s --connect HOST:PORT [--rpc Service.Method | --send MESSAGE "
                 "[--expect MESSAGE]] [--request TEXT] [--fill FIELD=BYTES] [--connections K] "
                 "[--depth D] [--warmup S] [--duration S | --requests N] [--server-pid PID]\n",
                 argv[0]);
    return 2;
  }
  load_report report;
  if (const auto problem = run<Protocol>(options, report); !problem.empty()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], problem.c_str());
    return 1;
  }
  print_report(report);
  return report.errors == 0 ? 0 : 1;
}

}  // namespace wiregen::load
