#pragma once

// The socket type is wiregen::stream_socket now; this header keeps code
// written against the old name building.
#include "wiregen/stream_socket.hpp"
