#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <type_traits>
#include <utility>

#include "wiregen/call_result.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/frame_error.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/message_observer.hpp"

namespace wiregen {

/// What a generated server dispatcher does with a request of rpc number
/// `rpc` (its row in the protocol's table): runs `handler` (which calls the
/// user's method and returns its call_result), answers as answer_call does,
/// and, on a connection, counts the call by outcome and handler time for
/// metrics and shows it to the message observer.
template <class Status, class Session, class Handler>
std::error_code serve_call(const Session& session, std::size_t rpc, const frame_meta& request,
                           Handler&& handler) {
  using result_type = std::invoke_result_t<Handler&>;
  detail::message_meter* meter = session.connection() ? session.connection()->meter() : nullptr;
  result_type result;
  if (meter == nullptr) {
    try {
      result = handler();
    } catch (...) {
      return handler_threw();
    }
    return answer_call<Status>(session, std::move(result), request);
  }
  using clock = std::chrono::steady_clock;
  call_event call;
  call.connection_id = session.id();
  call.meta = request;
  meter->call_begins(rpc, call);
  const auto start = clock::now();
  try {
    result = handler();
  } catch (...) {
    const auto ec = handler_threw();
    call.outcome = call_outcome::threw;
    call.handler_time = clock::now() - start;
    meter->call_ends(rpc, call, call.handler_time);
    return ec;
  }
  call.handler_time = clock::now() - start;
  call.outcome = result.is_later() ? call_outcome::deferred
                 : result.ok()     ? call_outcome::ok
                                   : call_outcome::failed;
  if (call.outcome == call_outcome::failed) {
    call.status_code =
        result.error() == error::remote_error ? result.status_code() : result.error().value();
  }
  const auto ec = answer_call<Status>(session, std::move(result), request);
  if (ec) {
    call.outcome = call_outcome::unsent;
  }
  meter->call_ends(rpc, call, call.handler_time);
  return ec;
}

}  // namespace wiregen
