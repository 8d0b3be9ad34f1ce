#pragma once

#include <asio/ip/address.hpp>

#include <cstddef>
#include <unordered_map>

#include "wiregen/detail/token_bucket.hpp"

namespace wiregen::detail {

/// A token bucket per source address (an IPv6 source with its /64), for a
/// datagram endpoint: a sender, or a forger of one sender's address, gets
/// `rate` datagrams a second through, so the endpoint's replies cannot be
/// reflected at one victim faster than that. Keeps at most `max_sources`
/// buckets: when full it forgets those idle long enough to be full again,
/// and if every one is busy, all of them. Not thread-safe (the endpoint's
/// receive thread).
class source_rate_limit {
 public:
  using clock = token_bucket::clock;

  source_rate_limit(double rate, std::size_t burst, std::size_t max_sources)
      : rate_(rate), burst_(burst), max_sources_(max_sources > 0 ? max_sources : 1) {}

  /// Whether a datagram from `source` may go through at `now`.
  bool admit(const asio::ip::address& source, clock::time_point now);

 private:
  void make_room(clock::time_point now);

  double rate_;
  std::size_t burst_;
  std::size_t max_sources_;
  std::unordered_map<asio::ip::address, token_bucket> buckets_;
};

}  // namespace wiregen::detail
