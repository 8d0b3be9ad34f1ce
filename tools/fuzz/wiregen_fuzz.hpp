#pragma once

// What every protocol's libFuzzer target checks, whatever its layout. The
// generated <name>.wiregen.fuzz.cc has only what differs per protocol (its
// handlers, one method per message) and calls fuzz_frames() or fuzz_lines().
// Each run checks invariants, not just "did not crash":
//   - a header is never larger than its input, an accepted one fits
//     max_frame_size, every shorter prefix of it is incomplete, and writing
//     its fields back gives a header of at most max_header_size (a received
//     one may pad its varints) that scans to the same fields;
//   - the frames delivered, the errors reported and the bytes consumed are
//     the same however the stream is split into reads, with handlers that
//     stop, throw or fail a call at a frame the input chooses, and with the
//     skip policy on or off; nothing is delivered after a stop; what is left
//     buffered is less than one frame;
//   - a datagram decodes to the stream's first frame; a frame with a checksum
//     trailer is refused when any bit of its payload or trailer flips;
//   - lines hold no delimiter and fit the limit.
// A violation aborts with the invariant's text, which libFuzzer reports as a
// crash and keeps the input for.

#include <fuzzer/FuzzedDataProvider.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <wiregen/call_result.hpp>
#include <wiregen/datagram_peer.hpp>
#include <wiregen/error.hpp>
#include <wiregen/frame_loop.hpp>
#include <wiregen/frame_meta.hpp>
#include <wiregen/protocol_info.hpp>
#include <wiregen/typed_session.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace wiregen::fuzz {

// protobuf logs every string field that is not UTF-8: millions of lines in
// a campaign, saying nothing the invariants do not.
inline const bool protobuf_quiet = (google::protobuf::SetLogHandler(nullptr), true);

[[noreturn]] inline void violated(const char* invariant, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: wiregen fuzz invariant violated: %s\n", file, line, invariant);
  std::abort();
}

#define WIREGEN_FUZZ_EXPECT(condition) \
  ((condition) ? void() : ::wiregen::fuzz::violated(#condition, __FILE__, __LINE__))

/// How the input is read and what the handlers do: taken from the input's
/// last bytes (FuzzedDataProvider reads integers from the end), so a seed
/// made of real frames stays real frames at the front.
struct plan {
  bool client_side = false;  // decode what the server sends
  bool skip_bad_frames = false;
  std::size_t stop_at = SIZE_MAX;   // the handler stops the connection at this frame
  std::size_t throw_at = SIZE_MAX;  // ... throws at this one
  std::size_t fail_at = SIZE_MAX;   // ... answers this call with a failure
  std::uint32_t split_seed = 0;     // where reads end
  std::uint32_t flipped_bit = 0;    // the bit flipped in a checksummed frame

  static plan from(FuzzedDataProvider& input) {
    plan p;
    const auto flags = input.ConsumeIntegral<std::uint8_t>();
    p.client_side = (flags & 1) != 0;
    p.skip_bad_frames = (flags & 2) != 0;
    const auto at = [&input] {
      const auto index = input.ConsumeIntegral<std::uint8_t>();
      return index >= 64 ? SIZE_MAX : std::size_t{index};
    };
    p.stop_at = at();
    p.throw_at = at();
    p.fail_at = at();
    p.split_seed = input.ConsumeIntegral<std::uint32_t>();
    p.flipped_bit = input.ConsumeIntegral<std::uint32_t>();
    return p;
  }
};

/// One thing a decode did, in order: a frame handed to a handler, or a bad
/// frame reported.
struct event {
  enum class kind : std::uint8_t { frame, message, error } what = kind::frame;
  std::uint64_t message_id = 0;
  std::uint64_t request_id = 0;
  std::uint64_t flags = 0;
  std::size_t size = 0;
  std::uint64_t digest = 0;  // of the frame's bytes; the error's value
  bool operator==(const event&) const = default;
};

inline std::uint64_t digest_of(std::span<const std::uint8_t> bytes) noexcept {
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (const auto byte : bytes) {
    hash = (hash ^ byte) * 1099511628211ull;
  }
  return hash;
}

/// What the generated handlers call for every message they receive: records
/// it and does what the plan says at its index.
class script {
 public:
  explicit script(const plan& p) : plan_(p) {}

  void on_message(std::uint64_t message_id, std::size_t size, const frame_meta& meta) {
    WIREGEN_FUZZ_EXPECT(!stopping_.load());  // nothing is delivered after a stop
    events_.push_back({event::kind::message, message_id, meta.request_id, meta.flags, size, 0});
    const std::size_t index = handled_++;
    if (index == plan_.stop_at) {
      stopping_.store(true);
    }
    if (index == plan_.throw_at) {
      throw std::runtime_error("wiregen fuzz: the handler throws as planned");
    }
  }

  /// An rpc's answer: a default reply, or a failure where the plan says.
  template <class Reply>
  call_result<Reply> answer(std::uint64_t message_id, std::size_t size, const frame_meta& meta) {
    const bool fails = handled_ == plan_.fail_at;
    on_message(message_id, size, meta);
    if (fails) {
      return call_result<Reply>::failure(13, "wiregen fuzz: the call fails as planned");
    }
    return Reply{};
  }

  void record(event e) { events_.push_back(e); }
  const std::vector<event>& events() const noexcept { return events_; }
  const std::atomic<bool>& stopping() const noexcept { return stopping_; }

 private:
  const plan& plan_;
  std::atomic<bool> stopping_{false};
  std::size_t handled_ = 0;
  std::vector<event> events_;
};

/// The session handlers reply through: a datagram peer whose socket sends to
/// a loopback socket nobody reads (the kernel drops what does not fit), so
/// replies are encoded and sent like real ones.
inline std::shared_ptr<datagram_peer> reply_sink() {
  struct sink {
    std::shared_ptr<asio::io_context> context = std::make_shared<asio::io_context>();
    asio::ip::udp::socket unread{*context, {asio::ip::make_address("127.0.0.1"), 0}};
    std::shared_ptr<datagram_peer> peer;
  };
  // Never destroyed: sessions may still hold the peer while statics go.
  static sink* const made = [] {
    auto* s = new sink;
    auto socket = std::make_shared<detail::datagram_socket>(s->context, 65507);
    socket->socket.open(asio::ip::udp::v4());
    s->peer = std::make_shared<datagram_peer>(socket, s->unread.local_endpoint());
    return s;
  }();
  return made->peer;
}

/// Both sides of a binary protocol over its fuzzing handlers (generated,
/// calling the script); the input picks the side that decodes.
template <class ServerDispatcher, class ServerHandler, class ServerSession, class ClientDispatcher,
          class ClientHandler, class ClientSession>
class both_sides {
 public:
  both_sides(script& handlers, bool client_side)
      : client_side_(client_side), server_handler_(handlers), client_handler_(handlers) {}
  both_sides(const both_sides&) = delete;
  both_sides& operator=(const both_sides&) = delete;

  template <class Header>
  std::error_code dispatch(const Header& header, std::span<const std::uint8_t> frame,
                           std::size_t header_size) {
    return client_side_ ? client_.dispatch(client_session_, header, frame, header_size)
                        : server_.dispatch(server_session_, header, frame, header_size);
  }

 private:
  bool client_side_;
  ServerHandler server_handler_;
  ClientHandler client_handler_;
  ServerDispatcher server_{server_handler_};
  ClientDispatcher client_{client_handler_};
  ServerSession server_session_{reply_sink()};
  ClientSession client_session_{reply_sink()};
};

/// The server's side of a text-line protocol: its handler gets the lines.
template <class Handler, class Session>
class line_side {
 public:
  explicit line_side(script& handlers) : handler_(handlers) {}
  void deliver(std::string_view line) { handler_.on_line(session_, line); }

 private:
  Handler handler_;
  Session session_{reply_sink()};
};

/// Where the reads of a stream end: 1 to 64 bytes, or up to 4 KiB, as a
/// small generator seeded by the input says.
class splitter {
 public:
  explicit splitter(std::uint32_t seed) noexcept : state_(seed | 1u) {}
  std::size_t next() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return (state_ & 0x100) != 0 ? 1 + (state_ >> 20) % 4096 : 1 + state_ % 64;
  }

 private:
  std::uint32_t state_;
};

/// What one pass over a stream ended with.
struct outcome {
  std::vector<event> events;
  std::error_code error;
  std::size_t consumed = 0;  // of a bad frame, as far as it had arrived
  std::size_t frames = 0;
  std::size_t skipped = 0;
  /// The same events, frames and end; the bytes consumed too, unless the
  /// stream ended in an error (the connection closes, and how much of the
  /// bad frame had arrived depends on the reads).
  bool operator==(const outcome& other) const {
    return events == other.events && error == other.error && frames == other.frames &&
           skipped == other.skipped && (error || consumed == other.consumed);
  }
};

/// Prints what a pass did, to explain a mismatch.
inline void describe(const char* name, const outcome& o) {
  std::fprintf(stderr, "%s: consumed %zu, %zu frames, %zu skipped, error '%s'\n", name, o.consumed,
               o.frames, o.skipped, o.error.message().c_str());
  for (const event& e : o.events) {
    std::fprintf(stderr, "  %s id %llu request %llu flags %llu size %zu digest %llx\n",
                 e.what == event::kind::frame     ? "frame"
                 : e.what == event::kind::message ? "message"
                                                  : "error",
                 static_cast<unsigned long long>(e.message_id),
                 static_cast<unsigned long long>(e.request_id),
                 static_cast<unsigned long long>(e.flags), e.size,
                 static_cast<unsigned long long>(e.digest));
  }
}

/// Both passes over a stream, read at once and in pieces, must agree.
inline void expect_same(const outcome& whole, const outcome& split) {
  if (!(whole == split)) {
    describe("read at once", whole);
    describe("read in pieces", split);
    expect_same(whole, split);
  }
}

/// Feeds `stream` to a fresh frame loop the way a connection does: appends
/// what a read brought to what is buffered, decodes, drops what was
/// consumed, and stops at an error or a stop. `whole` reads it at once.
/// `Decoder(script&, plan)` runs the loop over the input with the handlers;
/// `largest` is the most a stream may leave buffered (below one frame).
template <class Decoder>
outcome feed(std::span<const std::uint8_t> stream, const plan& p, bool whole, std::size_t largest) {
  script handlers(p);
  Decoder decode(handlers, p);
  frame_loop loop(frame_gate{&handlers.stopping(), nullptr});
  splitter reads(p.split_seed);
  std::vector<std::uint8_t> buffered;
  outcome result;
  std::size_t offset = 0;
  while (offset < stream.size() && !handlers.stopping().load()) {
    const std::size_t read = whole ? stream.size() : std::min(reads.next(), stream.size() - offset);
    buffered.insert(buffered.end(), stream.begin() + static_cast<std::ptrdiff_t>(offset),
                    stream.begin() + static_cast<std::ptrdiff_t>(offset + read));
    offset += read;
    const decode_result r = decode(loop, std::span<const std::uint8_t>(buffered));
    WIREGEN_FUZZ_EXPECT(r.consumed <= buffered.size());
    WIREGEN_FUZZ_EXPECT(r.wanted <= largest);
    WIREGEN_FUZZ_EXPECT(!r.throttled);  // no message rate here
    buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(r.consumed));
    result.consumed += r.consumed;
    result.frames += r.frames;
    result.skipped += r.skipped;
    if (r.error) {
      result.error = r.error;
      break;
    }
    if (!handlers.stopping().load()) {
      // Every complete frame was taken: less than the next one is left.
      WIREGEN_FUZZ_EXPECT(buffered.size() < std::max<std::size_t>(r.wanted, 1));
      WIREGEN_FUZZ_EXPECT(buffered.size() < largest);
    }
  }
  result.events = handlers.events();
  return result;
}

/// The largest header: a fixed header's size, or a variable one's most.
template <class Framing>
constexpr std::size_t max_header_size() {
  if constexpr (requires { Framing::max_header_size; }) {
    return Framing::max_header_size;
  } else {
    return Framing::header_size;
  }
}

/// Checks the header at the front of `input` as `Protocol::scan_header`
/// reads it.
template <class Protocol, class Framing>
void check_header(std::span<const std::uint8_t> input) {
  typename Protocol::header header;
  std::size_t header_size = 0;
  const std::error_code ec = Protocol::scan_header(input, header, header_size);
  if (ec && ec != error::frame_too_large) {
    return;
  }
  if (header_size == 0) {
    WIREGEN_FUZZ_EXPECT(!ec);
    return;
  }
  WIREGEN_FUZZ_EXPECT(header_size <= input.size());
  WIREGEN_FUZZ_EXPECT(header_size >= Protocol::min_header_size);
  const std::uint64_t extent =
      detail::frame_extent(header_size, header.payload_size, Protocol::trailer_size);
  WIREGEN_FUZZ_EXPECT((extent <= Framing::max_frame_size) == !ec);
  if (ec) {
    return;
  }
  for (std::size_t prefix = 0; prefix < header_size; ++prefix) {
    typename Protocol::header partial;
    std::size_t partial_size = 1;
    const std::error_code partial_ec =
        Protocol::scan_header(input.first(prefix), partial, partial_size);
    WIREGEN_FUZZ_EXPECT(!partial_ec && partial_size == 0);
  }
  if (header.payload_size > Protocol::max_payload_size) {
    return;  // a smaller header would carry it; this one cannot be written
  }
  const auto payload = static_cast<std::size_t>(header.payload_size);
  const std::size_t size = Protocol::header_size_for(header.message_id, payload, header.meta);
  WIREGEN_FUZZ_EXPECT(size >= Protocol::min_header_size);
  const bool known_id =
      !Protocol::info.ids_on_wire ||
      std::any_of(Protocol::messages.begin(), Protocol::messages.end(),
                  [&](const message_info& m) { return m.id == header.message_id; });
  if (known_id) {  // what this side could send: written within the bound
    WIREGEN_FUZZ_EXPECT(size <= max_header_size<Framing>());
  }
  std::vector<std::uint8_t> written(size);
  Protocol::write_header(written.data(), header.message_id, payload, header.meta);
  typename Protocol::header again;
  std::size_t again_size = 0;
  WIREGEN_FUZZ_EXPECT(!Protocol::scan_header(written, again, again_size));
  WIREGEN_FUZZ_EXPECT(again_size == size);
  WIREGEN_FUZZ_EXPECT(again.message_id == header.message_id);
  WIREGEN_FUZZ_EXPECT(again.payload_size == header.payload_size);
  WIREGEN_FUZZ_EXPECT(again.meta.request_id == header.meta.request_id);
  WIREGEN_FUZZ_EXPECT(again.meta.flags == header.meta.flags);
}

/// Decodes frames with a generated dispatcher. `Side(script&, bool
/// client_side)`, generated per protocol, holds both dispatchers over
/// handlers that call the script, and dispatches to the side asked for.
template <class Protocol, class Framing, class Side>
class frames_decoder {
 public:
  frames_decoder(script& handlers, const plan& p)
      : handlers_(handlers), plan_(p), side_(handlers, p.client_side) {}

  decode_result operator()(frame_loop& loop, std::span<const std::uint8_t> input) {
    return loop.template decode<typename Protocol::header, Protocol::min_header_size,
                                Protocol::trailer_size>(
        input, Protocol::scan_header,
        [this](const typename Protocol::header& header, std::span<const std::uint8_t> frame,
               std::size_t header_size) {
          check_header<Protocol, Framing>(frame);
          handlers_.record({event::kind::frame, header.message_id, header.meta.request_id,
                            header.meta.flags, frame.size(), digest_of(frame)});
          return side_.dispatch(header, frame, header_size);
        },
        [this](std::error_code ec) {
          handlers_.record(
              {event::kind::error, 0, 0, 0, 0, static_cast<std::uint64_t>(ec.value())});
          return plan_.skip_bad_frames;
        });
  }

  /// One datagram, one frame.
  std::error_code decode_one(std::span<const std::uint8_t> datagram) {
    return frame_loop::decode_one<typename Protocol::header, Protocol::trailer_size>(
        datagram, Protocol::scan_header,
        [this](const typename Protocol::header& header, std::span<const std::uint8_t> frame,
               std::size_t header_size) { return side_.dispatch(header, frame, header_size); });
  }

 private:
  script& handlers_;
  const plan& plan_;
  Side side_;
};

/// The target of a protocol with a binary layout.
template <class Protocol, class Framing, class Side>
int fuzz_frames(const std::uint8_t* data, std::size_t size) {
  using decoder = frames_decoder<Protocol, Framing, Side>;
  FuzzedDataProvider provider(data, size);
  const plan p = plan::from(provider);
  const std::vector<std::uint8_t> bytes = provider.ConsumeRemainingBytes<std::uint8_t>();
  const std::span<const std::uint8_t> stream(bytes);
  check_header<Protocol, Framing>(stream);

  const outcome whole = feed<decoder>(stream, p, true, Framing::max_frame_size);
  const outcome split = feed<decoder>(stream, p, false, Framing::max_frame_size);
  expect_same(whole, split);

  // One datagram, one frame: what decode_one accepts is exactly the
  // stream's first frame.
  script handlers(p);
  decoder datagram(handlers, p);
  if (datagram.decode_one(stream)) {
    return 0;
  }
  WIREGEN_FUZZ_EXPECT(!whole.events.empty() && whole.events.front().size == stream.size());
  if constexpr (Protocol::trailer_size > 0) {
    // The checksum covers the payload (and the header, where the spec says
    // so): CRC32C catches every single-bit error in what it covers.
    typename Protocol::header header;
    std::size_t header_size = 0;
    (void)Protocol::scan_header(stream, header, header_size);
    const std::size_t covered = stream.size() - header_size;
    std::vector<std::uint8_t> flipped(bytes);
    const std::size_t bit = p.flipped_bit % (covered * 8);
    flipped[header_size + bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    script again(p);
    decoder checker(again, p);
    WIREGEN_FUZZ_EXPECT(checker.decode_one(flipped) == error::checksum_mismatch);
  }
  return 0;
}

/// Decodes lines with the generated line handler. `Side(script&)` holds it
/// and delivers to it.
template <class Framing, class Side>
class lines_decoder {
 public:
  lines_decoder(script& handlers, const plan& p) : handlers_(handlers), plan_(p), side_(handlers) {}

  decode_result operator()(frame_loop& loop, std::span<const std::uint8_t> input) {
    return loop.decode_lines(
        input, Framing::delimiter, Framing::max_line_length,
        [this](std::string_view line) -> std::error_code {
          WIREGEN_FUZZ_EXPECT(line.size() <= Framing::max_line_length);
          WIREGEN_FUZZ_EXPECT(line.find(Framing::delimiter) == std::string_view::npos);
          const auto* bytes = reinterpret_cast<const std::uint8_t*>(line.data());
          handlers_.record(
              {event::kind::frame, 0, 0, 0, line.size(), digest_of({bytes, line.size()})});
          try {
            side_.deliver(line);
          } catch (...) {
            return error::handler_failed;
          }
          return {};
        },
        [this](std::error_code ec) {
          handlers_.record(
              {event::kind::error, 0, 0, 0, 0, static_cast<std::uint64_t>(ec.value())});
          return plan_.skip_bad_frames;
        });
  }

 private:
  script& handlers_;
  const plan& plan_;
  Side side_;
};

/// The target of a text-line protocol.
template <class Framing, class Side>
int fuzz_lines(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const plan p = plan::from(provider);
  const std::vector<std::uint8_t> bytes = provider.ConsumeRemainingBytes<std::uint8_t>();
  const std::size_t window = Framing::max_line_length + Framing::delimiter.size();
  const outcome whole = feed<lines_decoder<Framing, Side>>(bytes, p, true, window);
  const outcome split = feed<lines_decoder<Framing, Side>>(bytes, p, false, window);
  expect_same(whole, split);
  return 0;
}

/// The target of a RAW protocol, which has no decoder: the input, in reads
/// it chooses, goes through the dispatcher (its datagram path: no socket
/// needed) to a handler that echoes each read; what the handler received is
/// the input, whole, in order, never an empty read.
template <class Dispatcher, class Handler, class Session>
int fuzz_raw(const std::uint8_t* data, std::size_t size) {
  struct recorder final : Handler {
    std::vector<std::uint8_t> received;
    void on_data(Session& session, std::span<const std::uint8_t> bytes) override {
      WIREGEN_FUZZ_EXPECT(!bytes.empty());
      received.insert(received.end(), bytes.begin(), bytes.end());
      (void)session.send(bytes);
    }
  };
  FuzzedDataProvider provider(data, size);
  splitter reads(provider.ConsumeIntegral<std::uint32_t>());
  const std::vector<std::uint8_t> bytes = provider.ConsumeRemainingBytes<std::uint8_t>();
  recorder handler;
  Dispatcher dispatcher(handler);
  const std::shared_ptr<datagram_peer> peer = reply_sink();
  for (std::size_t offset = 0; offset < bytes.size();) {
    const std::size_t read = std::min(reads.next(), bytes.size() - offset);
    WIREGEN_FUZZ_EXPECT(!dispatcher.on_datagram(peer, {bytes.data() + offset, read}));
    offset += read;
  }
  WIREGEN_FUZZ_EXPECT(handler.received == bytes);
  return 0;
}

/// The seed corpus of a protocol: real frames of every message, with its
/// fields set, one file per frame and one stream of them all, for each side
/// (with the plan's bytes after them: no stop, throw or failure).
class seed_writer {
 public:
  explicit seed_writer(std::string directory) : directory_(std::move(directory)) {}

  template <class Role, class Message>
  void frame(bool to_client) {
    Message message;
    fill(message);
    frame_meta meta;
    meta.request_id = ++written_;
    const std::vector<std::uint8_t> bytes = frame_writer<Role, Message>(message, meta).to_bytes();
    add(to_client, std::string(bytes.begin(), bytes.end()));
  }

  void line(std::string text) {
    ++written_;
    add(false, std::move(text));
  }

  /// Writes the streams; returns the number of files written.
  int finish() {
    for (const bool to_client : {false, true}) {
      if (!streams_[to_client].empty()) {
        write(name(to_client, "stream"), streams_[to_client], to_client);
      }
    }
    return files_;
  }

 private:
  void add(bool to_client, std::string bytes) {
    streams_[to_client] += bytes;
    write(name(to_client, std::to_string(written_)), bytes, to_client);
  }

  std::string name(bool to_client, const std::string& what) const {
    return directory_ + "/" + (to_client ? "to-client-" : "to-server-") + what;
  }

  void write(const std::string& path, const std::string& bytes, bool to_client) {
    // The plan, read from the end: flags, stop_at, throw_at, fail_at (none),
    // a split seed, a bit to flip.
    const char plan[] = {0, 0, 0,      0,      42,     0,
                         0, 0, '\xff', '\xff', '\xff', static_cast<char>(to_client ? 1 : 0)};
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    out.write(plan, sizeof plan);
    ++files_;
  }

  /// Every singular scalar and string field set, so payloads are not empty.
  static void fill(google::protobuf::MessageLite& lite, int depth = 0) {
    auto* message = dynamic_cast<google::protobuf::Message*>(&lite);
    if (message == nullptr || depth > 3) {
      return;
    }
    using field = google::protobuf::FieldDescriptor;
    const auto* reflection = message->GetReflection();
    const auto* descriptor = message->GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const field* f = descriptor->field(i);
      if (f->is_repeated() || f->containing_oneof() != nullptr) {
        continue;
      }
      switch (f->cpp_type()) {
        case field::CPPTYPE_INT32:
          reflection->SetInt32(message, f, -7);
          break;
        case field::CPPTYPE_INT64:
          reflection->SetInt64(message, f, 1234567890123);
          break;
        case field::CPPTYPE_UINT32:
          reflection->SetUInt32(message, f, 300);
          break;
        case field::CPPTYPE_UINT64:
          reflection->SetUInt64(message, f, 70000);
          break;
        case field::CPPTYPE_DOUBLE:
          reflection->SetDouble(message, f, 2.5);
          break;
        case field::CPPTYPE_FLOAT:
          reflection->SetFloat(message, f, 0.5f);
          break;
        case field::CPPTYPE_BOOL:
          reflection->SetBool(message, f, true);
          break;
        case field::CPPTYPE_STRING:
          reflection->SetString(message, f, "wiregen");
          break;
        case field::CPPTYPE_ENUM:
          if (f->enum_type()->value_count() > 1) {
            reflection->SetEnum(message, f, f->enum_type()->value(1));
          }
          break;
        case field::CPPTYPE_MESSAGE:
          fill(*reflection->MutableMessage(message, f), depth + 1);
          break;
      }
    }
  }

  std::string directory_;
  std::string streams_[2];
  std::uint64_t written_ = 0;
  int files_ = 0;
};

/// With WIREGEN_FUZZ_SEEDS=<directory> set, writes the seed corpus there
/// with `write(seed_writer&)` and ends the process; else does nothing.
template <class Write>
int write_seeds_if_asked(Write&& write) {
  const char* directory = std::getenv("WIREGEN_FUZZ_SEEDS");
  if (directory == nullptr) {
    return 0;
  }
  seed_writer seeds(directory);
  write(seeds);
  std::fprintf(stderr, "wiregen fuzz: wrote %d seeds to %s\n", seeds.finish(), directory);
  std::exit(0);
}

}  // namespace wiregen::fuzz
