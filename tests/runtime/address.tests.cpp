#include "wiregen/address.hpp"

#include <catch2/catch.hpp>

#include "wiregen/error.hpp"

TEST_CASE("address: host:port, [v6]:port and :port parse, anything else is bad_address",
          "[runtime][address]") {
  wiregen::host_port out;
  REQUIRE_FALSE(wiregen::parse_host_port("127.0.0.1:7000", out));
  CHECK(out.host == "127.0.0.1");
  CHECK(out.port == 7000);
  REQUIRE_FALSE(wiregen::parse_host_port("[::1]:0", out));
  CHECK(out.host == "::1");
  CHECK(out.port == 0);
  REQUIRE_FALSE(wiregen::parse_host_port(":65535", out));
  CHECK(out.host == "0.0.0.0");
  for (const char* bad :
       {"", "localhost", "host:", "host:65536", "host:12x", "::1:80", "[::1]80"}) {
    CHECK(wiregen::parse_host_port(bad, out) == wiregen::error::bad_address);
  }
}
