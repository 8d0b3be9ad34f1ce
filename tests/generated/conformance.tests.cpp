// One suite for every binary layout in schema/examples: frames made by the
// generated encoder decode to the same messages (round trip), whole or split
// at every byte, a header announcing more than max_frame_size fails before
// any payload is awaited, and a corrupted frame is reported with its reason.
// Each protocol is a case: its server handler, sample messages, and an
// oversized and a corrupted frame written by hand from its layout.
#include "beacon.wiregen.h"
#include "chat.wiregen.h"
#include "echo.wiregen.h"
#include "greeter.wiregen.h"
#include "kv.wiregen.h"
#include "mumble.wiregen.h"
#include "pulse.wiregen.h"
#include "relay.wiregen.h"
#include "riak.wiregen.h"
#include "tally.wiregen.h"
#include "telemetry.wiregen.h"
#include "thrift.wiregen.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "support/feeder.hpp"

namespace {

using wiregen::test::feeder;
using bytes = std::string;

/// What a handler saw: each message's type and serialized bytes, in order.
struct recorder {
  void record(const google::protobuf::MessageLite& message) {
    seen.push_back(message.GetTypeName() + "|" + message.SerializeAsString());
  }
  std::vector<std::string> seen;
};

/// Samples of one protocol: the frames, and what the handler must see.
struct samples {
  template <class Id, class Message>
  void add(std::error_code (*append)(std::string&, Id, const google::protobuf::MessageLite&,
                                     const wiregen::frame_meta&),
           std::uint64_t id, const Message& message, const wiregen::frame_meta& meta = {}) {
    REQUIRE_FALSE(append(stream, static_cast<Id>(id), message, meta));
    expected.push_back(message.GetTypeName() + "|" + message.SerializeAsString());
  }
  bytes stream;
  std::vector<std::string> expected;
};

wiregen::frame_meta with_request_id(std::uint64_t id) {
  wiregen::frame_meta meta;
  meta.request_id = id;
  return meta;
}

// --- the protocols ----------------------------------------------------------

struct bench_protocol {
  struct handler final : bench::server_handler, recorder {
    void on_message(bench::server_session&, const bench::EchoRequest& m) override { record(m); }
  };
  using dispatcher = bench::server_dispatcher;
  static void fill(samples& s) {
    bench::EchoRequest request;
    for (int i = 0; i < 3; ++i) {
      request.set_seq(static_cast<std::uint64_t>(i));
      request.set_payload(std::string(static_cast<std::size_t>(i * 100), 'p'));
      s.add(bench::codec::append_frame, 1, request);
    }
  }
  static bytes oversized() { return {"\xff\xff\xff\xff\x00\x01", 6}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    // A length of 1 cannot even hold the 2-byte type it counts.
    return {{"\x00\x00\x00\x01\x00\x01", 6}, wiregen::error::length_too_small};
  }
};

struct mumble_protocol {
  struct handler final : MumbleProto::server_handler, recorder {
    void on_message(MumbleProto::server_session&, const MumbleProto::Version& m) override {
      record(m);
    }
    void on_message(MumbleProto::server_session&, const MumbleProto::Ping& m) override {
      record(m);
    }
    void on_message(MumbleProto::server_session&, const MumbleProto::TextMessage& m) override {
      record(m);
    }
  };
  using dispatcher = MumbleProto::server_dispatcher;
  static void fill(samples& s) {
    MumbleProto::Version version;
    version.set_release("1.5.517");
    s.add(MumbleProto::codec::append_frame, 0, version);
    MumbleProto::Ping ping;
    ping.set_timestamp(123456789);
    s.add(MumbleProto::codec::append_frame, 3, ping);
    MumbleProto::TextMessage text;
    text.set_message(std::string(300, 't'));
    text.add_channel_id(4);
    s.add(MumbleProto::codec::append_frame, 11, text);
  }
  // A Ping announcing 8 MiB, past the limit of 8 MiB + 5 bytes.
  static bytes oversized() { return {"\x00\x03\x00\x80\x00\x00", 6}; }
  // A TextMessage without its required `message` field.
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00\x0b\x00\x00\x00\x00", 6}, wiregen::error::payload_parse_failed};
  }
};

struct riak_protocol {
  struct handler final : riak::server_handler, recorder {
    void on_message(riak::server_session&, const riak::RpbGetReq& m) override { record(m); }
  };
  using dispatcher = riak::server_dispatcher;
  static void fill(samples& s) {
    riak::RpbGetReq request;
    request.set_bucket("users");
    for (const char* key : {"alice", "bob"}) {
      request.set_key(key);
      s.add(riak::codec::append_frame, 9, request);
    }
  }
  static bytes oversized() { return {"\x7f\xff\xff\xff\x09", 5}; }
  // Message code 99 is not in the table.
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00\x00\x00\x01\x63", 5}, wiregen::error::unknown_message_id};
  }
};

struct chat_protocol {
  struct handler final : chat::server_handler, recorder {
    void on_message(chat::server_session&, const chat::LoginRequest& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
    void on_message(chat::server_session&, const chat::JoinRoom& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
    void on_message(chat::server_session&, const chat::Say& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
    void on_message(chat::server_session&, const chat::Notice& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
  };
  using dispatcher = chat::server_dispatcher;
  static void fill(samples& s) {
    chat::LoginRequest login;
    login.set_user("ada");
    s.add(chat::codec::append_frame, 1, login, with_request_id(1));
    chat::Say say;
    say.set_room("lobby");
    say.set_text("hello");
    s.add(chat::codec::append_frame, 5, say, with_request_id(2));
  }
  // Magic, version, Say, request id 0, then 1 MiB (little-endian) > 64 KiB.
  static bytes oversized() { return {"\x57\x01\x05\x00\x00\x00\x00\x00\x00\x10\x00", 11}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x58\x01\x05\x00\x00\x00\x00\x00\x00\x00\x00", 11}, wiregen::error::bad_constant};
  }
};

struct telemetry_protocol {
  struct handler final : fleet::telemetry::server_handler, recorder {
    void on_message(fleet::telemetry::server_session&, const fleet::telemetry::Report& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
  };
  using dispatcher = fleet::telemetry::server_dispatcher;
  static void fill(samples& s) {
    fleet::telemetry::Report report;
    report.set_device("pump-7");
    report.add_readings(1.5);
    report.add_readings(-2.25);
    s.add(fleet::telemetry::codec::append_frame, 0x100, report, with_request_id(99));
  }
  static bytes header(char version, const bytes& length) {
    return bytes("\x01\x70\xee\xf1", 4) + version + bytes("\x00\x00\x01", 3) + length +
           bytes(16, '\0');
  }
  // A whole-frame length of 2^40.
  static bytes oversized() { return header('\x02', bytes("\x00\x00\x00\x00\x00\x01\x00\x00", 8)); }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {header('\x03', bytes("\x24\x00\x00\x00\x00\x00\x00\x00", 8)),
            wiregen::error::bad_constant};
  }
};

struct greeter_protocol {
  struct handler final : greeter::server_handler, recorder {
    wiregen::call_result<greeter::HelloReply> SayHello(greeter::server_session&,
                                                       const greeter::HelloRequest& m,
                                                       const wiregen::frame_meta&) override {
      record(m);
      return greeter::HelloReply();
    }
  };
  using dispatcher = greeter::server_dispatcher;
  static void fill(samples& s) {
    greeter::HelloRequest request;
    for (const char* name : {"a", "", "grace"}) {
      request.set_name(name);
      s.add(greeter::codec::append_frame, 1, request);
    }
  }
  static bytes oversized() { return {"\x00\x7f\xff\xff\xff", 5}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00\x00\x00\x00\x02\xff\xff", 7}, wiregen::error::payload_parse_failed};
  }
};

struct pulse_protocol {
  struct handler final : pulse::server_handler, recorder {
    void on_message(pulse::server_session&, const pulse::Ping& m) override { record(m); }
    void on_message(pulse::server_session&, const pulse::Reading& m) override { record(m); }
  };
  using dispatcher = pulse::server_dispatcher;
  static void fill(samples& s) {
    s.add(pulse::codec::append_frame, 1, pulse::Ping());
    pulse::Reading reading;
    reading.set_seq(4);
    reading.set_sensor("t1");
    reading.set_value(21.5);
    s.add(pulse::codec::append_frame, 2, reading);
  }
  // 64 payload bytes: 68 with the header, past the 64-byte limit.
  static bytes oversized() { return {"\xa5\x02\x00\x40", 4}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\xa6\x02\x00\x00", 4}, wiregen::error::bad_constant};
  }
};

struct tally_protocol {
  struct handler final : tally::server_handler, recorder {
    void on_message(tally::server_session&, const tally::Count& m) override { record(m); }
  };
  using dispatcher = tally::server_dispatcher;
  static void fill(samples& s) {
    tally::Count count;
    count.set_key(std::string(200, 'k'));  // a two-byte prefix
    count.set_delta(-3);
    s.add(tally::codec::append_frame, 0, count);
    count.set_key("x");
    s.add(tally::codec::append_frame, 0, count);
  }
  static bytes oversized() { return {"\xd0\x0f", 2}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\xff\xff\xff\xff\xff\x01", 6}, wiregen::error::malformed_length_prefix};
  }
};

struct thrift_protocol {
  struct handler final : thrift_framed::server_handler, recorder {
    void on_message(thrift_framed::server_session&, const thrift_framed::Call& m) override {
      record(m);
    }
  };
  using dispatcher = thrift_framed::server_dispatcher;
  static void fill(samples& s) {
    thrift_framed::Call call;
    call.set_method("ping");
    s.add(thrift_framed::codec::append_frame, 0, call);
    call.set_args(std::string(1000, 'a'));
    s.add(thrift_framed::codec::append_frame, 0, call);
  }
  static bytes oversized() { return {"\x7f\xff\xff\xff", 4}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00\x00\x00\x02\xff\xff", 6}, wiregen::error::payload_parse_failed};
  }
};

struct beacon_protocol {
  struct handler final : fleet::beacon::server_handler, recorder {
    void on_message(fleet::beacon::server_session&, const fleet::beacon::Reading& m,
                    const wiregen::frame_meta&) override {
      record(m);
    }
  };
  using dispatcher = fleet::beacon::server_dispatcher;
  static fleet::beacon::Reading reading(std::size_t samples) {
    fleet::beacon::Reading reading;
    reading.set_device("b");
    reading.set_samples(std::string(samples, 's'));
    return reading;
  }
  static void fill(samples& s) {
    s.add(fleet::beacon::codec::append_frame, 1, reading(10), with_request_id(1));
    s.add(fleet::beacon::codec::append_frame, 1, reading(500), with_request_id(300));
  }
  static bytes oversized() { return {"\xb7\xe4\xff\xff\xff\x01\x01", 7}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    bytes frame;
    REQUIRE_FALSE(fleet::beacon::codec::append_frame(frame, 1, reading(10), with_request_id(1)));
    frame[9] = static_cast<char>(frame[9] ^ 0x10);
    return {frame, wiregen::error::checksum_mismatch};
  }
};

struct relay_protocol {
  struct handler final : relay::server_handler, recorder {
    void on_message(relay::server_session&, const relay::Hello& m) override { record(m); }
    void on_message(relay::server_session&, const relay::Publish& m) override { record(m); }
    void on_message(relay::server_session&, const relay::Ping& m) override { record(m); }
  };
  using dispatcher = relay::server_dispatcher;
  static void fill(samples& s) {
    relay::Hello hello;
    hello.set_client("c");
    s.add(relay::codec::append_frame, 1, hello);
    relay::Publish publish;
    publish.set_topic("t");
    publish.set_data(std::string(200, 'd'));
    s.add(relay::codec::append_frame, 3, publish);
  }
  // A varint length of 100000, past 65536.
  static bytes oversized() { return {"\xa0\x8d\x06", 3}; }
  // A Packet with no oneof field set.
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00", 1}, wiregen::error::unknown_message_id};
  }
};

struct kv_protocol {
  struct handler final : kv::server_handler, recorder {
    wiregen::call_result<kv::GetReply> Get(kv::server_session&, const kv::GetRequest& m,
                                           const wiregen::frame_meta&) override {
      record(m);
      return kv::GetReply();
    }
    wiregen::call_result<kv::PutReply> Put(kv::server_session&, const kv::PutRequest& m,
                                           const wiregen::frame_meta&) override {
      record(m);
      return kv::PutReply();
    }
  };
  using dispatcher = kv::server_dispatcher;
  static void fill(samples& s) {
    kv::PutRequest put;
    put.set_key("k");
    put.set_value("v");
    s.add(kv::codec::append_frame, 3, put, with_request_id(1));
    kv::GetRequest get;
    get.set_key("k");
    s.add(kv::codec::append_frame, 1, get, with_request_id(2));
  }
  static bytes oversized() { return {"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01", 10}; }
  static std::pair<bytes, wiregen::error> corrupted() {
    return {{"\x00\x00\x00\x00\x00\x09\x00\x00\x00\x01", 10}, wiregen::error::unknown_message_id};
  }
};

}  // namespace

#define WIREGEN_LAYOUTS                                                                   \
  bench_protocol, mumble_protocol, riak_protocol, chat_protocol, telemetry_protocol,      \
      greeter_protocol, pulse_protocol, tally_protocol, thrift_protocol, beacon_protocol, \
      relay_protocol, kv_protocol

TEMPLATE_TEST_CASE("conformance: frames decode to the messages encoded, whole or split anywhere",
                   "[generated][conformance]", WIREGEN_LAYOUTS) {
  samples s;
  TestType::fill(s);
  {
    typename TestType::handler handler;
    feeder f(std::make_shared<typename TestType::dispatcher>(handler));
    const auto result = f.feed(s.stream);
    REQUIRE_FALSE(result.error);
    CHECK(result.frames == s.expected.size());
    CHECK(handler.seen == s.expected);
  }
  for (std::size_t cut = 1; cut < s.stream.size(); ++cut) {
    typename TestType::handler handler;
    feeder f(std::make_shared<typename TestType::dispatcher>(handler));
    REQUIRE_FALSE(f.feed(s.stream.substr(0, cut)).error);
    REQUIRE_FALSE(f.feed(s.stream.substr(cut)).error);
    REQUIRE(handler.seen == s.expected);
    REQUIRE(f.buffered.empty());
  }
}

TEMPLATE_TEST_CASE("conformance: an oversized frame fails from its header alone",
                   "[generated][conformance][limits]", WIREGEN_LAYOUTS) {
  typename TestType::handler handler;
  feeder f(std::make_shared<typename TestType::dispatcher>(handler));
  const bytes header = TestType::oversized();
  const auto result = f.feed(header);
  CHECK(result.error == wiregen::error::frame_too_large);
  CHECK(result.consumed == header.size());
  CHECK(result.wanted == 0);  // the rest is never buffered
  CHECK(handler.seen.empty());
}

TEMPLATE_TEST_CASE("conformance: a corrupted frame is reported with its reason",
                   "[generated][conformance][errors]", WIREGEN_LAYOUTS) {
  typename TestType::handler handler;
  feeder f(std::make_shared<typename TestType::dispatcher>(handler));
  const auto [frame, expected] = TestType::corrupted();
  CHECK(f.feed(frame).error == expected);
  CHECK(handler.seen.empty());
}
