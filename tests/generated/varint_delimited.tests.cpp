// protobuf's delimited format (format: VARINT_DELIMITED, schema/examples/
// tally): byte-exact with protobuf's own delimited utilities, split at every
// byte, oversized and malformed prefixes, and a peer that uses
// google::protobuf::util's delimited functions over loopback.
#include "tally.wiregen.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/detached_connection.hpp"
#include "support/options.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

class tally_server final : public tally::server_handler {
 public:
  void on_message(tally::server_session& session, const tally::Count& count) override {
    tally::Total total;
    total.set_key(count.key());
    std::int64_t value = 0;
    events.update([&] {
      value = totals[count.key()] += count.delta();
      keys.push_back(count.key());
    });
    total.set_value(value);
    (void)session.send(total);
  }
  wiregen::error_action on_error(tally::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return wiregen::error_action::disconnect;
  }
  wiregen::test::waiter events;
  std::map<std::string, std::int64_t> totals;
  std::vector<std::string> keys;
  std::vector<std::error_code> errors;
};

tally::Count count_of(const std::string& key, std::int64_t delta) {
  tally::Count count;
  count.set_key(key);
  count.set_delta(delta);
  return count;
}

/// What protobuf's own delimited writer produces for `message`.
std::string protobuf_delimited(const google::protobuf::MessageLite& message) {
  std::ostringstream out;
  REQUIRE(google::protobuf::util::SerializeDelimitedToOstream(message, &out));
  return out.str();
}

}  // namespace

TEST_CASE("varint delimited: frames are byte for byte protobuf's delimited format",
          "[generated][varint]") {
  // Payloads whose length prefixes take 1 and 2 bytes (127 | 128 is where it grows).
  for (const std::size_t key_size : {0, 10, 124, 125, 300, 1000}) {
    const auto count = count_of(std::string(key_size, 'k'), -7);
    std::string ours;
    const auto ec = tally::codec::append_frame(ours, 0, count);
    if (count.ByteSizeLong() > tally::framing::max_payload_size) {
      CHECK(ec == wiregen::error::message_too_large);
      continue;
    }
    REQUIRE_FALSE(ec);
    INFO("payload " << count.ByteSizeLong());
    CHECK(ours == protobuf_delimited(count));
  }
}

TEST_CASE("varint delimited: a stream split at every byte boundary delivers every frame once",
          "[generated][varint]") {
  std::string stream;
  for (int i = 0; i < 6; ++i) {
    // Keys long enough for two-byte prefixes now and then.
    stream += protobuf_delimited(count_of(std::string(static_cast<std::size_t>(i * 40), 'a'), i));
  }
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    tally_server handler;
    auto dispatcher = std::make_shared<tally::server_dispatcher>(handler);
    auto conn = wiregen::test::detached_connection(dispatcher);
    std::string buffered;
    std::size_t frames = 0;
    wiregen::frame_loop loop(conn->gate());
    for (const auto& chunk : {stream.substr(0, cut), stream.substr(cut)}) {
      buffered += chunk;
      const auto result = dispatcher->on_input(
          *conn, loop, {reinterpret_cast<const std::uint8_t*>(buffered.data()), buffered.size()});
      REQUIRE_FALSE(result.error);
      buffered.erase(0, result.consumed);
      frames += result.frames;
    }
    CHECK(frames == 6);
    CHECK(buffered.empty());
    conn->context().poll();
  }
}

TEST_CASE("varint delimited: an oversized or malformed prefix closes the connection at once",
          "[generated][varint]") {
  const auto [bytes, expected] = GENERATE(
      // 2000 > max_frame_size 1024, announced in two bytes; no payload follows.
      std::make_pair(std::string("\xd0\x0f", 2), wiregen::error::frame_too_large),
      // A varint whose continuation bit never stops within 5 bytes.
      std::make_pair(std::string("\xff\xff\xff\xff\xff\x01", 6),
                     wiregen::error::malformed_length_prefix));
  tally_server handler;
  tally::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());
  peer.write(bytes);
  CHECK(peer.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 1; }));
  CHECK(handler.errors[0] == expected);
}

TEST_CASE("varint delimited: a peer using protobuf's own delimited utilities talks to the server",
          "[generated][varint][interop]") {
  tally_server handler;
  tally::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  // The peer writes with SerializeDelimitedToOstream...
  std::ostringstream requests;
  for (int i = 1; i <= 20; ++i) {
    REQUIRE(google::protobuf::util::SerializeDelimitedToOstream(
        count_of(i % 2 ? "apples" : "pears", i), &requests));
  }
  peer.write(requests.str());
  REQUIRE(handler.events.wait([&] { return handler.keys.size() == 20; }));

  // ...and reads the replies with ParseDelimitedFromZeroCopyStream.
  std::string replies;
  std::vector<std::int64_t> apples;
  std::vector<std::int64_t> pears;
  std::error_code ec;
  while (apples.size() + pears.size() < 20) {
    replies += peer.read(1, ec);
    REQUIRE_FALSE(ec);
    google::protobuf::io::ArrayInputStream input(replies.data(), static_cast<int>(replies.size()));
    tally::Total total;
    bool clean_eof = false;
    std::vector<std::int64_t> seen_apples;
    std::vector<std::int64_t> seen_pears;
    while (google::protobuf::util::ParseDelimitedFromZeroCopyStream(&total, &input, &clean_eof)) {
      (total.key() == "apples" ? seen_apples : seen_pears).push_back(total.value());
    }
    apples = seen_apples;
    pears = seen_pears;
  }
  // Running totals: 1, 1+3, 1+3+5, ... and 2, 2+4, ...
  CHECK(apples.back() == 1 + 3 + 5 + 7 + 9 + 11 + 13 + 15 + 17 + 19);
  CHECK(pears.back() == 2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18 + 20);
  CHECK(apples.size() == 10);
}
