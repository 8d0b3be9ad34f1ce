#pragma once

#include <array>
#include <cstddef>

namespace wiregen::detail {

/// A thread's stack of spare objects of one small type, so that parts a
/// connection holds only while bytes move cost no allocation once warm.
/// Objects come back as their users left them; users reset what matters.
template <class T, std::size_t Kept>
class thread_object_cache {
 public:
  static T* take() {
    if (alive_) {
      auto& cache = instance();
      if (cache.count_ > 0) {
        return cache.kept_[--cache.count_];
      }
    }
    return new T;
  }

  static void give_back(T* object) noexcept {
    if (object == nullptr) {
      return;
    }
    if (alive_) {
      auto& cache = instance();
      if (cache.count_ < Kept) {
        cache.kept_[cache.count_++] = object;
        return;
      }
    }
    delete object;
  }

 private:
  ~thread_object_cache() {
    alive_ = false;
    for (std::size_t i = 0; i < count_; ++i) {
      delete kept_[i];
    }
  }

  static thread_object_cache& instance() noexcept {
    static thread_local thread_object_cache cache;
    return cache;
  }

  // Whether this thread's cache still exists: an object given back while
  // the thread's storage is torn down (by a static object's destructor,
  // say) is deleted instead. Trivially destructible, so it outlives the cache.
  static thread_local inline bool alive_ = true;

  std::array<T*, Kept> kept_{};
  std::size_t count_ = 0;
};

}  // namespace wiregen::detail
