#include "common/parallel.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

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

namespace {

// The cgroup CPU quota of this process as (quota, period) µs, or (0, 0) when there is none or it
// cannot be read. cgroup v2: /sys/fs/cgroup/<group>/cpu.max "max 100000" or "200000 100000"; v1:
// cpu.cfs_quota_us (−1: none) and cpu.cfs_period_us under the cpu controller's mount.
std::pair<int64_t, int64_t> CgroupQuota() {
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    // "hierarchy-id:controllers:path"
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {   // v2
      std::ifstream max("/sys/fs/cgroup" + path + "/cpu.max");
      std::string quota;
      int64_t period = 0;
      if (max >> quota >> period && quota != "max") return {std::atoll(quota.c_str()), period};
    } else if (("," + controllers + ",").find(",cpu,") != std::string::npos) {   // v1
      for (const std::string root : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
        std::ifstream q(root + path + "/cpu.cfs_quota_us"), p(root + path + "/cpu.cfs_period_us");
        int64_t quota = 0, period = 0;
        if (q >> quota && p >> period) return {quota, period};
      }
    }
  }
  return {0, 0};
}

}  // namespace

int ThreadPool::AvailableCpus(int affinity, int hardware, int64_t quota, int64_t period) {
  int cpus = affinity > 0 ? affinity : hardware;
  if (quota > 0 && period > 0) cpus = static_cast<int>(std::min<int64_t>(cpus, (quota + period - 1) / period));
  return std::max(1, cpus);
}

int ThreadPool::HardwareThreads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  const auto [quota, period] = CgroupQuota();
  return AvailableCpus(affinity, static_cast<int>(std::thread::hardware_concurrency()), quota, period);
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
