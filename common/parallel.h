// parallel.h — a fixed pool of worker threads for data-parallel loops.
//
// ParallelFor(n, fn) calls fn(begin, end, worker) over a static partition of [0, n) into at most
// Threads() contiguous chunks; worker in [0, Threads()) lets callers index per-worker scratch
// buffers (allocated once, reused: no allocation in the inner loops). The partition depends only on
// n and the thread count, and callers make each index's result independent of which worker computes
// it, so results are identical for any thread count.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cimsim {

class ThreadPool {
 public:
  // threads >= 1; threads == 1 runs everything on the calling thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int Threads() const { return threads_; }

  // Blocks until every chunk is done; rethrows the first exception a chunk threw.
  void ParallelFor(std::ptrdiff_t n,
                   const std::function<void(std::ptrdiff_t, std::ptrdiff_t, int)>& fn);

  // The CPUs this process may use (at least 1): the CPUs of its affinity mask (taskset, Slurm's
  // --cpus-per-task binding, cpusets), capped by a cgroup CPU quota rounded up (cgroup v2 cpu.max,
  // v1 cpu.cfs_quota_us / cpu.cfs_period_us; containers, Slurm's cgroup plugin). The default thread
  // count of every command.
  static int HardwareThreads();
  // The same from given facts (for tests): affinity CPUs (<= 0: unknown), hardware threads, and a
  // quota of `quota` µs per `period` µs (quota <= 0 or period <= 0: none).
  static int AvailableCpus(int affinity, int hardware, int64_t quota, int64_t period);

 private:
  void WorkerLoop(int worker);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(std::ptrdiff_t, std::ptrdiff_t, int)>* job_ = nullptr;
  std::ptrdiff_t job_n_ = 0;
  long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace cimsim
