#include "wiregen/byte_buffer.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

TEST_CASE("byte_buffer: prepare/commit/consume keep the readable bytes in order",
          "[runtime][buffer]") {
  wiregen::byte_buffer buffer;
  std::string expected;
  for (int round = 0; round < 50; ++round) {
    const std::string chunk(static_cast<std::size_t>(round * 13 % 97 + 1),
                            static_cast<char>('a' + round % 26));
    std::memcpy(buffer.prepare(chunk.size()), chunk.data(), chunk.size());
    buffer.commit(chunk.size());
    expected += chunk;
    const std::size_t take = expected.size() / 3;
    buffer.consume(take);
    expected.erase(0, take);
    const auto readable = buffer.readable();
    REQUIRE(std::string(reinterpret_cast<const char*>(readable.data()), readable.size()) ==
            expected);
  }
}

TEST_CASE("byte_buffer: consumed space is reused instead of growing", "[runtime][buffer]") {
  wiregen::byte_buffer buffer;
  buffer.prepare(1000);
  buffer.commit(1000);
  const auto capacity = buffer.capacity();
  for (int i = 0; i < 100; ++i) {
    buffer.consume(600);
    buffer.prepare(600);
    buffer.commit(600);
  }
  CHECK(buffer.capacity() == capacity);
  CHECK(buffer.size() == 1000);
}
