#pragma once

#include <google/protobuf/message_lite.h>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "wiregen/call_result.hpp"
#include "wiregen/detail/message_meter.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/message_observer.hpp"
#include "wiregen/stop_mode.hpp"

namespace wiregen {

/// A client's calls waiting for their replies, and how replies find them:
/// by the REQUEST_ID header field when the spec has one (replies may come
/// in any order; a frame with request id 0 is a push, not a reply), else
/// by order (the oldest call takes the next reply). Each call belongs to
/// the connection it was sent on: only that connection's replies complete
/// it, and only that connection's end fails it. Thread-safe: calls start on
/// any thread, replies arrive on the connection's.
///
/// A call whose deadline passed leaves a mark that swallows its late reply,
/// so the reply never completes another call. By id, the mark holds the id
/// for one more deadline, then frees it (a narrow field reuses ids; a call
/// finds none free fails with too_many_calls). In order, a reply that never
/// comes would shift every later reply by one, so async_call closes the
/// connection once a call's deadline passes (correlation_lost()).
class call_table : public std::enable_shared_from_this<call_table> {
 public:
  enum class correlation { request_id, in_order };

  /// A reply frame for a call, parsed: the message it carries (which the
  /// call may move from), or the server's error status.
  struct arrival {
    std::uint64_t message_id = 0;
    google::protobuf::MessageLite* message = nullptr;
    bool is_status = false;
    std::int64_t status_code = 0;
    std::string status_message;
  };
  static arrival reply(std::uint64_t message_id, google::protobuf::MessageLite* message) {
    return {message_id, message, false, 0, {}};
  }
  static arrival status(std::int64_t code, std::string message) {
    return {0, nullptr, true, code, std::move(message)};
  }
  /// Runs once per call: with an arrival, or with the error that ended it.
  using completion = std::function<void(std::error_code, const arrival*)>;

  /// `max_request_id` is the largest value the REQUEST_ID field holds: ids
  /// go round from 1 to it, skipping ids still waiting.
  explicit call_table(correlation mode, std::uint64_t max_request_id = ~std::uint64_t{0}) noexcept
      : mode_(mode), max_request_id_(max_request_id) {}

  /// Registers a call on connection `connection_id` and sends its request
  /// with `send(request_id)` under one lock, so that in-order calls are on
  /// the wire in table order. A failed send ends the call with its error;
  /// with every request id taken it ends with too_many_calls, unsent.
  /// `deadline` zero: none.
  template <class Send>
  void start(std::uint64_t connection_id, completion done, asio::io_context& context,
             std::chrono::milliseconds deadline, Send&& send) {
    std::lock_guard order(send_mutex_);
    const std::uint64_t key = add(connection_id, done, context, deadline);
    if (key == 0) {
      done(error::too_many_calls, nullptr);
      return;
    }
    if (const std::error_code ec = send(mode_ == correlation::request_id ? key : 0)) {
      finish(key, ec);
    }
  }

  /// A frame that may answer a call arrived on connection `connection_id`.
  /// Completes the call it answers and returns true; returns false when it
  /// is a push: request id 0, or, in order, no call of that connection
  /// waits. A nonzero request id that no call waits for (its deadline
  /// passed) is dropped: true.
  bool complete(std::uint64_t connection_id, std::uint64_t request_id, const arrival& reply);

  /// Ends every call waiting on connection `connection_id` with `why`.
  void fail_connection(std::uint64_t connection_id, std::error_code why);

  /// Calls still waiting, with the marks of those whose deadline passed.
  std::size_t pending() const;

  /// Whether a call ending with `ec` leaves its connection's replies
  /// unmatched: in order, a deadline passed. The connection must close.
  bool correlation_lost(std::error_code ec) const noexcept {
    return mode_ == correlation::in_order && ec == error::deadline_exceeded;
  }

 private:
  struct call {
    std::uint64_t connection_id = 0;
    // Which call holds the key: a deadline that fired for an earlier holder
    // of a reused key must not expire this one.
    std::uint64_t serial = 0;
    completion done;  // empty: expired, waiting only to swallow its late reply
    std::unique_ptr<asio::steady_timer> timer;
  };
  using call_map = std::map<std::uint64_t, call>;

  // Takes `done` unless every request id is taken: then 0.
  std::uint64_t add(std::uint64_t connection_id, completion& done, asio::io_context& context,
                    std::chrono::milliseconds deadline);
  void finish(std::uint64_t key, std::error_code ec);
  void expire(std::uint64_t key, std::uint64_t serial, std::chrono::milliseconds deadline);
  // With the lock held: waits `deadline` on the entry's timer, then expires it.
  void arm_locked(std::uint64_t key, call& entry, std::chrono::milliseconds deadline);
  // With the lock held: the next free key (the request id, by id), or 0.
  std::uint64_t next_key();
  // With the lock held: forgets the entry, its timer and its place in its
  // connection's list.
  void erase(call_map::iterator found);

  const correlation mode_;
  const std::uint64_t max_request_id_;
  std::mutex send_mutex_;
  mutable std::mutex mutex_;  // the calls and their timers
  std::uint64_t last_key_ = 0;
  std::uint64_t last_serial_ = 0;
  // By key: in order, keys only grow, so the first key of a connection is
  // its oldest call.
  call_map calls_;
  // Each connection's keys, so that a reply or a close finds its calls
  // without a scan of every call.
  std::unordered_map<std::uint64_t, std::set<std::uint64_t>> by_connection_;
};

namespace detail {

/// A client call as its connection's meter counts it and the message
/// observer sees it: it begins as the request goes out (with its request
/// id) and ends with what came back, its latency measured between. The call
/// is in the table before its request is sent, so its end (a close, a
/// deadline, on the connection's thread) may come before the caller has
/// told its begin: then the end waits for it, and the observer always sees
/// begin first.
class call_watch {
 public:
  call_watch(std::shared_ptr<message_meter> meter, std::size_t rpc, std::uint64_t connection_id)
      : meter_(std::move(meter)), rpc_(rpc), start_(std::chrono::steady_clock::now()) {
    begun_.connection_id = connection_id;
    ended_.connection_id = connection_id;
  }

  /// The caller's thread, as the request goes out.
  void begin(const frame_meta& meta) {
    begun_.meta = meta;
    began_ = true;
    meter_->call_begins(rpc_, begun_);
    auto expected = state::fresh;
    if (!state_.compare_exchange_strong(expected, state::begun, std::memory_order_acq_rel)) {
      tell_end();  // it ended meanwhile and left its end to be told here
    }
  }

  /// The caller's thread, once the table has the call or refused it: a
  /// call that ended before its request went out (too_many_calls) is told
  /// now.
  void settle() {
    if (!began_ && state_.load(std::memory_order_acquire) == state::ended) {
      meter_->call_begins(rpc_, begun_);
      tell_end();
    }
  }

  /// Any thread, once.
  void end(std::error_code ec, const call_table::arrival* reply, std::uint64_t reply_id) {
    ended_.outcome = call_outcome::ok;
    if (reply && reply->is_status) {
      ended_.outcome = call_outcome::failed;
      ended_.status_code = reply->status_code;
    } else if (!reply || reply->message_id != reply_id) {
      ended_.outcome = call_outcome::error;
      ended_.error = reply ? std::error_code(error::unexpected_message) : ec;
    }
    ended_.latency = std::chrono::steady_clock::now() - start_;
    auto expected = state::fresh;
    if (state_.compare_exchange_strong(expected, state::ended, std::memory_order_acq_rel)) {
      return;  // not begun yet: begin() or settle() tells it
    }
    tell_end();
  }

 private:
  enum class state { fresh, begun, ended };

  void tell_end() {
    auto call = ended_;
    call.meta = begun_.meta;
    meter_->call_ends(rpc_, call, call.latency);
  }

  std::shared_ptr<message_meter> meter_;
  std::size_t rpc_;
  std::chrono::steady_clock::time_point start_;
  call_event begun_;    // the caller's thread writes it before the state leaves fresh
  call_event ended_;    // end() writes it before its compare-exchange
  bool began_ = false;  // the caller's thread only
  std::atomic<state> state_{state::fresh};
};

}  // namespace detail

/// Starts a call: sends `request` through `session` and completes `token`
/// (a callback, asio::use_awaitable, asio::use_future...) with a
/// call_result<Reply> once the reply with id `reply_id` (or the spec's
/// error status) arrives, the deadline passes (deadline_exceeded), the
/// connection closes (connection_closed) or the send fails. Completions run
/// on the token's associated executor: by default the connection's thread
/// (without a connection, asio's system executor).
/// The request is copied: a token may start the call after this returns
/// (use_awaitable starts it when awaited).
template <class Reply, class Session, class Request, class Token>
auto async_call(call_table& calls, Session session, const Request& request, std::uint64_t reply_id,
                std::chrono::milliseconds deadline, Token&& token) {
  return asio::async_initiate<Token, void(call_result<Reply>)>(
      [calls = calls.shared_from_this(), session = std::move(session), request, reply_id,
       deadline](auto handler) {
        const auto conn = session.connection();
        if (!conn) {
          auto executor = asio::get_associated_executor(handler);
          asio::post(executor, [handler = std::move(handler)]() mutable {
            std::move(handler)(call_result<Reply>(error::not_connected));
          });
          return;
        }
        std::shared_ptr<detail::call_watch> watch;
        if (const auto& meter = conn->shared_meter()) {
          const auto rpc = meter->rpc_of_request(Session::role::template id<std::decay_t<Request>>);
          if (rpc < meter->calls().size()) {
            watch = std::make_shared<detail::call_watch>(meter, rpc, conn->id());
          }
        }
        auto executor = asio::get_associated_executor(handler, conn->context().get_executor());
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        // The caller's executor must not run out of work while the call waits.
        auto work = std::make_shared<asio::executor_work_guard<decltype(executor)>>(executor);
        auto done = [shared, executor, work, reply_id, watch, calls = calls.get(),
                     weak = std::weak_ptr(conn)](std::error_code ec,
                                                 const call_table::arrival* reply) {
          if (watch) {
            watch->end(ec, reply, reply_id);
          }
          if (calls->correlation_lost(ec)) {
            if (const auto lost = weak.lock()) {
              lost->stop(stop_mode::immediate);  // its other calls end connection_closed
            }
          }
          call_result<Reply> result(ec);
          if (reply && reply->is_status) {
            result = call_result<Reply>::failure(reply->status_code, reply->status_message);
          } else if (reply && reply->message_id != reply_id) {
            result = call_result<Reply>(error::unexpected_message);
          } else if (reply) {
            // The id says the message is a Reply: take it without a copy.
            result = call_result<Reply>(std::move(static_cast<Reply&>(*reply->message)));
          }
          asio::post(executor, [shared, work, result = std::move(result)]() mutable {
            std::move (*shared)(std::move(result));
            work->reset();
          });
        };
        calls->start(conn->id(), std::move(done), conn->context(), deadline,
                     [&](std::uint64_t request_id) {
                       frame_meta meta;
                       meta.request_id = request_id;
                       if (watch) {
                         watch->begin(meta);
                       }
                       return session.send(request, meta);
                     });
        if (watch) {
          watch->settle();
        }
      },
      token);
}

}  // namespace wiregen
