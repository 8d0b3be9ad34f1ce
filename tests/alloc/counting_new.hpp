#pragma once

#include <atomic>
#include <cstddef>

namespace wiregen::test {

/// While true, every operator new in the process is counted in allocations.
extern std::atomic<bool> counting_allocations;
extern std::atomic<std::size_t> allocations;
/// The largest single allocation made while counting, in bytes.
extern std::atomic<std::size_t> largest_allocation;

}  // namespace wiregen::test
