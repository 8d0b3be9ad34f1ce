#include "wiregen/byte_buffer.hpp"

#include <sys/mman.h>

#include <new>

namespace wiregen::detail {

namespace {

// From here on blocks are mapped: glibc would otherwise keep a freed block
// of this size in its heap (its mmap threshold rises with every large free).
constexpr std::size_t mapped_from = 64 * 1024;

}  // namespace

std::uint8_t* allocate_bytes(std::size_t size) {
  if (size < mapped_from) {
    return new std::uint8_t[size];
  }
  void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) {
    throw std::bad_alloc();
  }
  return static_cast<std::uint8_t*>(block);
}

void free_bytes(std::uint8_t* block, std::size_t size) noexcept {
  if (block == nullptr) {
    return;
  }
  if (size < mapped_from) {
    delete[] block;
  } else {
    ::munmap(block, size);
  }
}

}  // namespace wiregen::detail
