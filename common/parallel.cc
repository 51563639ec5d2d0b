#include "common/parallel.h"

#include <algorithm>

#include "common/error.h"

namespace cimsim {
namespace {

// Chunk w of a static split of [0, n) into `parts` nearly equal pieces.
std::pair<std::ptrdiff_t, std::ptrdiff_t> Chunk(std::ptrdiff_t n, int parts, int w) {
  const std::ptrdiff_t base = n / parts, extra = n % parts;
  const std::ptrdiff_t begin = w * base + std::min<std::ptrdiff_t>(w, extra);
  return {begin, begin + base + (w < extra ? 1 : 0)};
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads) {
  if (threads < 1 || threads > 1024) {
    throw InputError("thread count " + std::to_string(threads) + " is not allowed: use 1..1024");
  }
  for (int w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

int ThreadPool::HardwareThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void ThreadPool::WorkerLoop(int worker) {
  long seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    const auto* job = job_;
    const std::ptrdiff_t n = job_n_;
    lock.unlock();
    const auto [b, e] = Chunk(n, threads_, worker);
    std::exception_ptr err;
    if (b < e) {
      try {
        (*job)(b, e, worker);
      } catch (...) {
        err = std::current_exception();
      }
    }
    lock.lock();
    if (err && !error_) error_ = err;
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

void ThreadPool::ParallelFor(std::ptrdiff_t n,
                             const std::function<void(std::ptrdiff_t, std::ptrdiff_t, int)>& fn) {
  if (n <= 0) return;
  if (threads_ == 1) {
    fn(0, n, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    job_n_ = n;
    pending_ = threads_ - 1;
    error_ = nullptr;
    ++generation_;
  }
  start_cv_.notify_all();
  std::exception_ptr err;
  const auto [b, e] = Chunk(n, threads_, 0);
  if (b < e) {
    try {
      fn(b, e, 0);
    } catch (...) {
      err = std::current_exception();
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  if (!err) err = error_;
  job_ = nullptr;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace cimsim
