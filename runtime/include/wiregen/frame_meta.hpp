#pragma once

#include <cstdint>

namespace wiregen {

/// The header fields of a frame that are neither layout nor message id: what a
/// handler may read from a received frame and a sender may set on a sent one.
/// A field the spec's header does not have is always 0.
struct frame_meta {
  /// The REQUEST_ID header field.
  std::uint64_t request_id = 0;
  /// The FLAGS header field.
  std::uint64_t flags = 0;
};

}  // namespace wiregen
