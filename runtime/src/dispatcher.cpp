#include "wiregen/dispatcher.hpp"

#include "wiregen/error.hpp"

namespace wiregen {

std::error_code datagram_dispatcher::on_datagram(const std::shared_ptr<datagram_peer>& /*peer*/,
                                                 std::span<const std::uint8_t> /*datagram*/) {
  return error::datagrams_unsupported;
}

bool is_skippable(std::error_code ec) noexcept {
  return ec == error::unknown_message_id || ec == error::unexpected_message ||
         ec == error::payload_parse_failed || ec == error::frame_too_large;
}

}  // namespace wiregen
