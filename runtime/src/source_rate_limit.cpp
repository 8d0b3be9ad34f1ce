#include "source_rate_limit.hpp"

#include "peer_group.hpp"

namespace wiregen::detail {

bool source_rate_limit::admit(const asio::ip::address& source, clock::time_point now) {
  const auto group = peer_group(source);
  auto found = buckets_.find(group);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_sources_) {
      make_room(now);
    }
    found = buckets_.emplace(group, token_bucket(rate_, burst_, now)).first;
  }
  return found->second.try_take(now);
}

void source_rate_limit::make_room(clock::time_point now) {
  // A bucket that has refilled is no different from a new one.
  std::erase_if(buckets_, [now](auto& entry) { return entry.second.is_full(now); });
  if (buckets_.size() >= max_sources_) {
    // Every source is busy (a flood from forged addresses, most likely):
    // starting over keeps the memory bounded; each source again gets one
    // burst.
    buckets_.clear();
  }
}

}  // namespace wiregen::detail
