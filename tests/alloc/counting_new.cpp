// Replaces the global operator new and delete for this test executable
// only, counting allocations while a test asks for it: the echo path must
// not allocate per message in steady state, and no allocation may follow a
// peer's length field.
#include "alloc/counting_new.hpp"

#include <cstdlib>
#include <new>

namespace wiregen::test {

std::atomic<bool> counting_allocations{false};
std::atomic<std::size_t> allocations{0};
std::atomic<std::size_t> largest_allocation{0};

}  // namespace wiregen::test

namespace {

void count(std::size_t size) {
  if (!wiregen::test::counting_allocations.load(std::memory_order_relaxed)) {
    return;
  }
  wiregen::test::allocations.fetch_add(1, std::memory_order_relaxed);
  auto largest = wiregen::test::largest_allocation.load(std::memory_order_relaxed);
  while (size > largest && !wiregen::test::largest_allocation.compare_exchange_weak(
                               largest, size, std::memory_order_relaxed)) {
  }
}

void* allocate(std::size_t size) {
  count(size);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) {
    return memory;
  }
  throw std::bad_alloc();
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
  count(size);
  const auto align = static_cast<std::size_t>(alignment);
  // aligned_alloc wants a size that is a multiple of the alignment.
  if (void* memory = std::aligned_alloc(align, (size + align - 1) / align * align)) {
    return memory;
  }
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) {
  return allocate(size);
}
void* operator new[](std::size_t size) {
  return allocate(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return allocate_aligned(size, alignment);
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete[](void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::align_val_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::align_val_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t, std::align_val_t) noexcept {
  std::free(memory);
}
