#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wiregen {

/// CRC-32C (Castagnoli, the polynomial iSCSI, ext4, Kafka and gRPC's
/// compression use): the checksum of a frame trailer. Uses the CPU's crc32
/// instruction when it has one (SSE 4.2), a table otherwise; both give the
/// same value. crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes) noexcept;

/// Continues a checksum over more bytes: crc32c(a + b) ==
/// crc32c_extend(crc32c(a), b).
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> bytes) noexcept;

namespace detail {
/// The table-driven path alone, so that tests cover it on any CPU.
std::uint32_t crc32c_extend_portable(std::uint32_t crc,
                                     std::span<const std::uint8_t> bytes) noexcept;
}  // namespace detail

}  // namespace wiregen
