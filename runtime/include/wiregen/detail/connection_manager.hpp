#pragma once

#include <asio/ip/address.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/server_metrics.hpp"

namespace wiregen::detail {

/// The connections a server serves: who is open, how many each source
/// address holds, and stopping them all. Thread-safe: the accept thread adds,
/// each connection's thread removes its own, stop() runs anywhere. It is the
/// observer of every connection it starts: a closed connection is forgotten,
/// and one that was never served is reported to `accepts` as refused.
class connection_manager final : public connection_observer {
 public:
  /// `drained` runs (under the manager's lock, so it must not call back)
  /// when the last connection closes after begin_stop(), or at once when
  /// none was open.
  connection_manager(accept_events& accepts, std::function<void()> drained)
      : accepts_(accepts), drained_(std::move(drained)) {}
  connection_manager(const connection_manager&) = delete;
  connection_manager& operator=(const connection_manager&) = delete;
  ~connection_manager();

  /// Registers `conn` and starts it, unless a stop began; then false and
  /// `conn` is left alone. Under the lock begin_stop() takes its snapshot
  /// under, so a stop sees every connection that was started.
  bool start(const std::shared_ptr<connection>& conn);

  /// Counts `conn` against its remote address: too_many_from_address once
  /// that address holds `limit` connections (0: no limit).
  std::error_code admit_address(const connection& conn, std::size_t limit);

  /// Forgets a closed connection and its address count.
  void connection_closed(connection& conn, std::error_code reason) override;

  /// From now on start() refuses; returns the connections open now.
  std::vector<std::shared_ptr<connection>> begin_stop();
  /// Waits up to `timeout` for every connection to close; whether they did.
  bool wait_empty(std::chrono::milliseconds timeout);
  /// The connections open now.
  std::vector<std::shared_ptr<connection>> snapshot() const;
  /// How many closed with stop_timeout (forced by their own deadline)
  /// since begin_stop(), counted once.
  std::size_t take_timed_out();
  /// The same, without taking them.
  std::size_t timed_out() const;
  std::size_t size() const;

  /// Counts a connection turned away before it was ever started.
  void count_refused(std::error_code reason);
  /// Fills in the refusals and closes by reason, and the frame and byte
  /// counts of every connection, closed or open.
  void fill(server_metrics& metrics) const;

 private:
  accept_events& accepts_;
  std::function<void()> drained_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // The open connections, linked through the connections themselves
  // (connection::managed_*): no allocation per connection.
  void link_locked(const std::shared_ptr<connection>& conn);
  void unlink_locked(connection& conn);
  template <class Visit>
  void for_each_locked(Visit&& visit) const;
  bool is_linked_locked(const connection& conn) const noexcept;
  static void count_locked(std::map<std::string_view, std::uint64_t>& counts,
                           std::error_code reason) noexcept;
  std::shared_ptr<connection> first_;
  std::size_t open_count_ = 0;
  // Admitted connections per source address, for max_connections_per_address.
  std::map<asio::ip::address, std::size_t> per_address_;
  std::unordered_map<std::uint64_t, asio::ip::address> counted_;
  std::size_t timed_out_ = 0;
  bool stopping_ = false;
  // Since the server was made; the names are error_name()'s, static.
  std::map<std::string_view, std::uint64_t> refused_;
  std::map<std::string_view, std::uint64_t> closed_;
  connection_stats closed_totals_;  // the closed connections' counts, summed
};

}  // namespace wiregen::detail
