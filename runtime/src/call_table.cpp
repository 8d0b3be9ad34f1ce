#include "wiregen/call_table.hpp"

#include <vector>

namespace wiregen {

std::uint64_t call_table::next_key() {
  // Request ids go round within the field's range; by order, keys only
  // order the calls and never reach the wire.
  const std::uint64_t limit =
      mode_ == correlation::request_id ? max_request_id_ : ~std::uint64_t{0};
  if (calls_.size() >= limit) {
    return 0;  // every id waits for a reply (or swallows a late one)
  }
  do {
    last_key_ = last_key_ >= limit ? 1 : last_key_ + 1;
  } while (calls_.count(last_key_) != 0);
  return last_key_;
}

std::uint64_t call_table::add(std::uint64_t connection_id, completion& done,
                              asio::io_context& context, std::chrono::milliseconds deadline) {
  std::lock_guard lock(mutex_);
  const std::uint64_t key = next_key();
  if (key == 0) {
    return 0;
  }
  auto& entry = calls_[key];
  entry.connection_id = connection_id;
  entry.serial = ++last_serial_;
  entry.done = std::move(done);
  by_connection_[connection_id].insert(key);
  if (deadline.count() > 0) {
    entry.timer = std::make_unique<asio::steady_timer>(context);
    arm_locked(key, entry, deadline);
  }
  return key;
}

void call_table::arm_locked(std::uint64_t key, call& entry, std::chrono::milliseconds deadline) {
  // Armed and later cancelled under the lock: a timer is never used from
  // two threads at once. The handler holds the table. A cancel comes too
  // late for a handler already queued, so the handler names the call by
  // its serial as well as its key.
  entry.timer->expires_after(deadline);
  entry.timer->async_wait(
      [self = shared_from_this(), key, serial = entry.serial, deadline](std::error_code ec) {
        if (!ec) {
          self->expire(key, serial, deadline);
        }
      });
}

void call_table::erase(call_map::iterator found) {
  if (found->second.timer) {
    found->second.timer->cancel();
  }
  const auto owner = by_connection_.find(found->second.connection_id);
  owner->second.erase(found->first);
  if (owner->second.empty()) {
    by_connection_.erase(owner);
  }
  calls_.erase(found);
}

bool call_table::complete(std::uint64_t connection_id, std::uint64_t request_id,
                          const arrival& reply) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    auto found = calls_.end();
    if (mode_ == correlation::in_order) {
      const auto owner = by_connection_.find(connection_id);
      if (owner == by_connection_.end()) {
        return false;  // no call waits: a push
      }
      found = calls_.find(*owner->second.begin());  // its oldest call
    } else {
      if (request_id == 0) {
        return false;  // a push
      }
      found = calls_.find(request_id);
      if (found == calls_.end() || found->second.connection_id != connection_id) {
        return true;  // the late reply of a call that ended: dropped
      }
    }
    // A call past its deadline leaves only its mark, which this late reply
    // clears.
    done = std::move(found->second.done);
    erase(found);
  }
  if (done) {
    done({}, &reply);
  }
  return true;
}

void call_table::finish(std::uint64_t key, std::error_code ec) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(key);
    if (found == calls_.end()) {
      return;
    }
    done = std::move(found->second.done);
    erase(found);
  }
  if (done) {
    done(ec, nullptr);
  }
}

void call_table::expire(std::uint64_t key, std::uint64_t serial,
                        std::chrono::milliseconds deadline) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(key);
    if (found == calls_.end() || found->second.serial != serial) {
      return;  // ended already; its key may hold a newer call
    }
    if (!found->second.done) {
      // By id: the mark held the id for one more deadline and no late reply
      // came. The id is free again.
      erase(found);
      return;
    }
    done = std::move(found->second.done);
    // The entry stays, without a completion, to swallow the late reply
    // (in order, the next reply of its connection, which then closes). By
    // id, for one more deadline: the id is not reused before then.
    if (mode_ == correlation::request_id) {
      arm_locked(key, found->second, deadline);
    }
  }
  done(error::deadline_exceeded, nullptr);
}

void call_table::fail_connection(std::uint64_t connection_id, std::error_code why) {
  std::vector<completion> ended;
  {
    std::lock_guard lock(mutex_);
    const auto owner = by_connection_.find(connection_id);
    if (owner == by_connection_.end()) {
      return;
    }
    for (const std::uint64_t key : owner->second) {
      auto& entry = calls_.at(key);
      if (entry.timer) {
        entry.timer->cancel();
      }
      if (entry.done) {
        ended.push_back(std::move(entry.done));
      }
      calls_.erase(key);
    }
    by_connection_.erase(owner);
  }
  for (auto& done : ended) {
    done(why, nullptr);
  }
}

std::size_t call_table::pending() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

}  // namespace wiregen
