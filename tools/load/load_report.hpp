#pragma once

// What every load generator of wiregen prints (tools/load, bench/): one JSON
// object per run, the same fields whatever the protocol, for bench/run.py
// and for people to read.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace wiregen::load {

struct load_report {
  std::size_t connections = 0;
  std::size_t depth = 0;
  std::size_t payload = 0;  // bytes per request: the payload field, or the whole serialized request
  double seconds = 0;       // the measured window
  std::uint64_t measured = 0;  // replies inside the window
  std::uint64_t all = 0;       // every reply, warm-up included
  std::uint64_t errors = 0;
  std::vector<std::uint32_t> latency_ns;  // of the measured replies
  double server_cpu_s = -1;               // the server's CPU time in the window, if known
};

/// The `fraction` quantile of `samples` in microseconds; reorders them.
inline double percentile_us(std::vector<std::uint32_t>& samples, double fraction) {
  if (samples.empty()) {
    return 0;
  }
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index),
                   samples.end());
  return samples[index] / 1000.0;
}

inline void print_report(load_report& report) {
  const double rate = static_cast<double>(report.measured) / report.seconds;
  std::printf(
      "{\"connections\": %zu, \"depth\": %zu, \"payload\": %zu, \"seconds\": %.3f, "
      "\"messages\": %llu, \"msgs_per_s\": %.0f, \"p50_us\": %.2f, \"p99_us\": %.2f, "
      "\"p999_us\": %.2f, \"errors\": %llu, \"total_messages\": %llu",
      report.connections, report.depth, report.payload, report.seconds,
      static_cast<unsigned long long>(report.measured), rate, percentile_us(report.latency_ns, 0.5),
      percentile_us(report.latency_ns, 0.99), percentile_us(report.latency_ns, 0.999),
      static_cast<unsigned long long>(report.errors), static_cast<unsigned long long>(report.all));
  if (report.server_cpu_s >= 0 && report.measured > 0) {
    std::printf(", \"server_cpu_us_per_msg\": %.3f",
                report.server_cpu_s * 1e6 / static_cast<double>(report.measured));
  }
  std::printf("}\n");
}

}  // namespace wiregen::load
