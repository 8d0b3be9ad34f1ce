// The call table under random operations on two connections, by request id
// with a field of 1 to 4 ids, and in order: every call completes exactly
// once, a reply completes only the call sent with its id on its connection
// (in order: that connection's oldest call), a full table fails a call at
// once with too_many_calls instead of hanging, and nothing is left at the
// end. Deadlines are 1 ms, run by the table's own timers.
#include <fuzzer/FuzzedDataProvider.h>
#include <wiregen_fuzz.hpp>

#include <wiregen/call_table.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace {

using wiregen::call_table;

struct call {
  std::uint64_t connection = 0;
  std::uint64_t request_id = 0;  // as sent; 0 in order
  int completions = 0;
  std::uint64_t answered_by = 0;  // the reply's token
  std::error_code ended_with;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool in_order = input.ConsumeBool();
  const auto max_request_id = input.ConsumeIntegralInRange<std::uint64_t>(1, 4);
  asio::io_context context;
  const auto table = std::make_shared<call_table>(
      in_order ? call_table::correlation::in_order : call_table::correlation::request_id,
      max_request_id);
  std::vector<call> calls;
  calls.reserve(64);
  std::uint64_t next_token = 1;
  int advances = 0;

  const auto fail = [&](std::uint64_t connection) {
    table->fail_connection(connection, wiregen::error::connection_closed);
  };
  while (input.remaining_bytes() > 0 && calls.size() < 64) {
    const std::uint64_t connection = input.ConsumeIntegralInRange<std::uint64_t>(1, 2);
    switch (input.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {  // a call
        const std::size_t index = calls.size();
        calls.push_back({connection, 0, 0, 0, {}});
        const bool send_fails = input.ConsumeIntegralInRange<int>(0, 7) == 0;
        const auto deadline = std::chrono::milliseconds(input.ConsumeBool() ? 1 : 0);
        table->start(
            connection,
            [&calls, index](std::error_code ec, const call_table::arrival* reply) {
              ++calls[index].completions;
              calls[index].ended_with = ec;
              calls[index].answered_by = reply != nullptr ? reply->message_id : 0;
            },
            context, deadline,
            [&](std::uint64_t request_id) -> std::error_code {
              calls[index].request_id = request_id;
              WIREGEN_FUZZ_EXPECT(in_order ? request_id == 0
                                           : request_id >= 1 && request_id <= max_request_id);
              return send_fails ? std::error_code(wiregen::error::send_queue_full)
                                : std::error_code();
            });
        break;
      }
      case 1: {  // a reply (or a push)
        const auto request_id = input.ConsumeIntegralInRange<std::uint64_t>(0, 5);
        const std::uint64_t token = next_token++;
        // Which call it must complete, if any: by id the one waiting with
        // that id on that connection; in order that connection's oldest.
        std::size_t expected = calls.size();
        for (std::size_t i = 0; i < calls.size(); ++i) {
          const call& c = calls[i];
          if (c.completions == 0 && c.connection == connection &&
              (in_order || (request_id != 0 && c.request_id == request_id))) {
            expected = i;
            break;
          }
        }
        const bool answered =
            table->complete(connection, request_id, call_table::reply(token, nullptr));
        if (expected < calls.size()) {
          WIREGEN_FUZZ_EXPECT(answered);
          WIREGEN_FUZZ_EXPECT(calls[expected].completions == 1);
          WIREGEN_FUZZ_EXPECT(calls[expected].answered_by == token);
        }
        for (std::size_t i = 0; i < calls.size(); ++i) {
          WIREGEN_FUZZ_EXPECT(i == expected || calls[i].answered_by != token);
        }
        break;
      }
      case 2:
        fail(connection);
        break;
      case 3:  // time passes: deadlines fire
        if (advances++ < 2) {
          context.restart();
          context.run_for(std::chrono::milliseconds(2));
          if (in_order) {
            // async_call closes a connection whose call expired in order
            // (call_table::correlation_lost): later replies would shift.
            for (const call& c : calls) {
              if (c.ended_with == wiregen::error::deadline_exceeded) {
                fail(c.connection);
              }
            }
          }
        }
        break;
      default:
        WIREGEN_FUZZ_EXPECT(table->pending() <= (in_order ? calls.size() : max_request_id));
        break;
    }
    for (const call& c : calls) {
      WIREGEN_FUZZ_EXPECT(c.completions <= 1);
    }
  }
  fail(1);
  fail(2);
  context.restart();
  context.run();
  WIREGEN_FUZZ_EXPECT(table->pending() == 0);
  for (const call& c : calls) {
    WIREGEN_FUZZ_EXPECT(c.completions == 1);
    WIREGEN_FUZZ_EXPECT(c.answered_by == 0 || !c.ended_with);
  }
  return 0;
}
