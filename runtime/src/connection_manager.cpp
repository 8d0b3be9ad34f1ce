#include "wiregen/detail/connection_manager.hpp"

#include "wiregen/connection.hpp"
#include "wiregen/error.hpp"

namespace wiregen::detail {

bool connection_manager::start(const std::shared_ptr<connection>& conn) {
  std::lock_guard lock(mutex_);
  if (stopping_) {
    return false;
  }
  conn->set_close_observer(this);
  open_.emplace(conn->id(), conn);
  conn->start();  // only posts; under the lock, so a stop sees it started
  return true;
}

std::error_code connection_manager::admit_address(const connection& conn, std::size_t limit) {
  if (limit == 0) {
    return {};
  }
  const auto address = conn.remote_endpoint().address();
  std::lock_guard lock(mutex_);
  auto& count = per_address_[address];
  if (count >= limit) {
    if (count == 0) {
      per_address_.erase(address);
    }
    return error::too_many_from_address;
  }
  ++count;
  counted_.emplace(conn.id(), address);
  return {};
}

void connection_manager::connection_closed(connection& conn, std::error_code reason) {
  if (!conn.was_opened()) {
    // Never served: it was refused, not closed.
    try {
      accepts_.on_refused(conn.remote_endpoint(), reason);
    } catch (...) {
      // The connection is gone either way; the server goes on.
    }
  }
  {
    std::lock_guard lock(mutex_);
    open_.erase(conn.id());
    if (const auto counted = counted_.find(conn.id()); counted != counted_.end()) {
      if (--per_address_[counted->second] == 0) {
        per_address_.erase(counted->second);
      }
      counted_.erase(counted);
    }
    if (stopping_) {
      if (reason == error::stop_timeout) {
        ++timed_out_;
      }
      if (open_.empty()) {
        drained_();  // a graceful stop that did not wait ends here, with the last close
      }
    }
  }
  changed_.notify_all();
}

std::vector<std::shared_ptr<connection>> connection_manager::begin_stop() {
  std::vector<std::shared_ptr<connection>> open;
  std::lock_guard lock(mutex_);
  stopping_ = true;
  open.reserve(open_.size());
  for (const auto& [id, conn] : open_) {
    open.push_back(conn);
  }
  if (open_.empty()) {
    drained_();
  }
  return open;
}

bool connection_manager::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return open_.empty(); });
}

std::vector<std::shared_ptr<connection>> connection_manager::snapshot() const {
  std::vector<std::shared_ptr<connection>> open;
  std::lock_guard lock(mutex_);
  open.reserve(open_.size());
  for (const auto& [id, conn] : open_) {
    open.push_back(conn);
  }
  return open;
}

std::size_t connection_manager::take_timed_out() {
  std::lock_guard lock(mutex_);
  return std::exchange(timed_out_, 0);
}

std::size_t connection_manager::size() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

}  // namespace wiregen::detail
