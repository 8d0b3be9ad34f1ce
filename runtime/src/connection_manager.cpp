#include "wiregen/detail/connection_manager.hpp"

#include "peer_group.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/error.hpp"

namespace wiregen::detail {

namespace {

// The counters that add up across connections (not queued_bytes, a level).
void add_counts(connection_stats& into, const connection_stats& from) {
  into.frames_received += from.frames_received;
  into.frames_sent += from.frames_sent;
  into.bytes_received += from.bytes_received;
  into.bytes_sent += from.bytes_sent;
  into.frames_dropped += from.frames_dropped;
  into.frames_skipped += from.frames_skipped;
}

}  // namespace

connection_manager::~connection_manager() {
  // Connections still listed (their loop stopped before they closed) are
  // let go one by one: the links hold them, and a chain of destructors
  // would go as deep as the list is long.
  std::lock_guard lock(mutex_);
  while (first_) {
    unlink_locked(*first_);
  }
}

bool connection_manager::is_linked_locked(const connection& conn) const noexcept {
  return conn.managed_prev_ != nullptr || first_.get() == &conn;
}

void connection_manager::link_locked(const std::shared_ptr<connection>& conn) {
  conn->managed_prev_ = nullptr;
  if (first_) {
    first_->managed_prev_ = conn.get();
  }
  conn->managed_next_ = std::move(first_);
  first_ = conn;
  ++open_count_;
}

void connection_manager::unlink_locked(connection& conn) {
  if (!is_linked_locked(conn)) {
    return;  // never started, or already let go
  }
  auto next = std::move(conn.managed_next_);
  if (next) {
    next->managed_prev_ = conn.managed_prev_;
  }
  auto& link_to_conn = conn.managed_prev_ != nullptr ? conn.managed_prev_->managed_next_ : first_;
  conn.managed_prev_ = nullptr;
  --open_count_;
  // Dropped last: it may be the last reference to `conn`.
  auto released = std::exchange(link_to_conn, std::move(next));
}

template <class Visit>
void connection_manager::for_each_locked(Visit&& visit) const {
  for (const auto* link = &first_; *link; link = &(*link)->managed_next_) {
    visit(*link);
  }
}

bool connection_manager::start(const std::shared_ptr<connection>& conn) {
  std::lock_guard lock(mutex_);
  if (stopping_) {
    return false;
  }
  link_locked(conn);
  conn->start();  // only posts; under the lock, so a stop sees it started
  return true;
}

std::error_code connection_manager::admit_address(const connection& conn, std::size_t limit) {
  const auto peer = conn.peer_.load(std::memory_order_relaxed);
  if (limit == 0 ||
      (peer != connection::peer_kind::ip && peer != connection::peer_kind::ip_over_unix)) {
    return {};  // a Unix-domain peer has no address to count by
  }
  const auto address = peer_group(conn.remote_endpoint().address());
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
  const bool served = conn.was_opened();
  const auto final_stats = conn.stats();  // before the lock: it takes the queue's
  {
    std::lock_guard lock(mutex_);
    unlink_locked(conn);
    if (served) {
      count_locked(closed_, reason);
      add_counts(closed_totals_, final_stats);
    } else {
      count_locked(refused_, reason);
    }
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
      if (open_count_ == 0) {
        drained_();  // a graceful stop that did not wait ends here, with the last close
      }
    }
  }
  changed_.notify_all();
  if (!conn.was_opened()) {
    // Never served: it was refused, not closed. Told once the server has
    // forgotten it, so connection_count() no longer counts it.
    try {
      accepts_.on_refused(conn.remote_endpoint(), reason);
    } catch (...) {
      // The connection is gone either way; the server goes on.
    }
  }
}

std::vector<std::shared_ptr<connection>> connection_manager::begin_stop() {
  std::vector<std::shared_ptr<connection>> open;
  std::lock_guard lock(mutex_);
  stopping_ = true;
  open.reserve(open_count_);
  for_each_locked([&](const std::shared_ptr<connection>& conn) { open.push_back(conn); });
  if (open_count_ == 0) {
    drained_();
  }
  return open;
}

bool connection_manager::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return open_count_ == 0; });
}

std::vector<std::shared_ptr<connection>> connection_manager::snapshot() const {
  std::vector<std::shared_ptr<connection>> open;
  std::lock_guard lock(mutex_);
  open.reserve(open_count_);
  for_each_locked([&](const std::shared_ptr<connection>& conn) { open.push_back(conn); });
  return open;
}

std::size_t connection_manager::take_timed_out() {
  std::lock_guard lock(mutex_);
  return std::exchange(timed_out_, 0);
}

std::size_t connection_manager::timed_out() const {
  std::lock_guard lock(mutex_);
  return timed_out_;
}

std::size_t connection_manager::size() const {
  std::lock_guard lock(mutex_);
  return open_count_;
}

void connection_manager::count_refused(std::error_code reason) {
  std::lock_guard lock(mutex_);
  count_locked(refused_, reason);
}

void connection_manager::count_locked(std::map<std::string_view, std::uint64_t>& counts,
                                      std::error_code reason) noexcept {
  try {
    ++counts[error_name(reason)];  // a new reason's node is the only allocation
  } catch (...) {
    // Out of memory: one count is lost, the bookkeeping around it is not.
  }
}

void connection_manager::fill(server_metrics& metrics) const {
  std::vector<std::shared_ptr<connection>> open;
  connection_stats totals;
  {
    // The open list and the closed totals in one critical section: a
    // connection is in exactly one of them, so counters never go back.
    std::lock_guard lock(mutex_);
    open.reserve(open_count_);
    for_each_locked([&](const std::shared_ptr<connection>& conn) { open.push_back(conn); });
    for (const auto& [reason, count] : refused_) {
      metrics.refused.push_back({reason, count});
    }
    for (const auto& [reason, count] : closed_) {
      metrics.closed.push_back({reason, count});
    }
    totals = closed_totals_;
  }
  // Outside the lock: stats() takes each connection's queue lock. One that
  // closes meanwhile reports its final counts here and joins the totals
  // for the next snapshot.
  for (const auto& conn : open) {
    add_counts(totals, conn->stats());
  }
  metrics.frames_received = totals.frames_received;
  metrics.frames_sent = totals.frames_sent;
  metrics.bytes_received = totals.bytes_received;
  metrics.bytes_sent = totals.bytes_sent;
  metrics.frames_dropped = totals.frames_dropped;
  metrics.frames_skipped = totals.frames_skipped;
  metrics.open_connections = open.size();
}

}  // namespace wiregen::detail
