#include "wiregen/call_table.hpp"

#include <algorithm>
#include <vector>

namespace wiregen {

std::uint64_t call_table::next_key() {
  // Request ids go round within the field's range; by order, keys only
  // order the calls and never reach the wire.
  const std::uint64_t limit =
      mode_ == correlation::request_id ? max_request_id_ : ~std::uint64_t{0};
  do {
    last_key_ = last_key_ >= limit ? 1 : last_key_ + 1;
  } while (calls_.count(last_key_) != 0);
  return last_key_;
}

std::uint64_t call_table::add(std::uint64_t connection_id, completion done,
                              asio::io_context& context, std::chrono::milliseconds deadline) {
  std::lock_guard lock(mutex_);
  const std::uint64_t key = next_key();
  auto& entry = calls_[key];
  entry.connection_id = connection_id;
  entry.done = std::move(done);
  if (deadline.count() > 0) {
    // Armed and later cancelled under the lock: a timer is never used from
    // two threads at once. The handler holds the table.
    entry.timer = std::make_unique<asio::steady_timer>(context, deadline);
    entry.timer->async_wait([self = shared_from_this(), key](std::error_code ec) {
      if (!ec) {
        self->expire(key);
      }
    });
  }
  return key;
}

bool call_table::complete(std::uint64_t connection_id, std::uint64_t request_id,
                          const arrival& reply) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    auto found = calls_.end();
    if (mode_ == correlation::in_order) {
      found = std::find_if(calls_.begin(), calls_.end(), [&](const auto& entry) {
        return entry.second.connection_id == connection_id;
      });
      if (found == calls_.end()) {
        return false;  // no call waits: a push
      }
    } else {
      if (request_id == 0) {
        return false;  // a push
      }
      found = calls_.find(request_id);
      if (found == calls_.end() || found->second.connection_id != connection_id) {
        return true;  // the late reply of a call that ended: dropped
      }
    }
    done = std::move(found->second.done);
    if (found->second.timer) {
      found->second.timer->cancel();
    }
    calls_.erase(found);
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
    if (found->second.timer) {
      found->second.timer->cancel();
    }
    calls_.erase(found);
  }
  if (done) {
    done(ec, nullptr);
  }
}

void call_table::expire(std::uint64_t key) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(key);
    if (found == calls_.end() || !found->second.done) {
      return;
    }
    done = std::move(found->second.done);
    if (mode_ == correlation::request_id) {
      calls_.erase(found);
    }
    // In order, the entry stays (without a completion) to swallow the late
    // reply: otherwise it would complete the next call.
  }
  done(error::deadline_exceeded, nullptr);
}

void call_table::fail_connection(std::uint64_t connection_id, std::error_code why) {
  std::vector<completion> ended;
  {
    std::lock_guard lock(mutex_);
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.connection_id != connection_id) {
        ++it;
        continue;
      }
      if (it->second.timer) {
        it->second.timer->cancel();
      }
      if (it->second.done) {
        ended.push_back(std::move(it->second.done));
      }
      it = calls_.erase(it);
    }
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
