// scratch_pool.h — reusable per-caller scratch for objects that are const and shared by threads.
//
// A const object (an MvmCore) called by several workers at once needs working memory per call.
// ScratchPool<T> keeps a mutex-guarded free list: Lease() takes a T (or makes one), and the lease
// gives it back when it ends, however the call ends. The list grows to the number of concurrent
// callers and then stops allocating; a T keeps its grown buffers from call to call.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

namespace cimsim {

template <typename T>
class ScratchPool {
 public:
  class Lease {
   public:
    Lease(ScratchPool& pool, std::unique_ptr<T> item) : pool_(&pool), item_(std::move(item)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_->Return(std::move(item_)); }
    T& operator*() const { return *item_; }
    T* operator->() const { return item_.get(); }

   private:
    ScratchPool* pool_;
    std::unique_ptr<T> item_;
  };

  ScratchPool() = default;
  // A pool is per object: copies of the object start with an empty pool.
  ScratchPool(const ScratchPool&) {}
  ScratchPool& operator=(const ScratchPool&) { return *this; }

  Lease Take() {
    std::unique_ptr<T> item;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        item = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!item) item = std::make_unique<T>();
    return Lease(*this, std::move(item));
  }

 private:
  void Return(std::unique_ptr<T> item) {
    const std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(item));
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace cimsim
