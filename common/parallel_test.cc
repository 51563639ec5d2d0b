#include "common/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "common/error.h"

namespace cimsim {
namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (std::ptrdiff_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.ParallelFor(n, [&](std::ptrdiff_t b, std::ptrdiff_t e, int worker) {
        EXPECT_GE(worker, 0);
        EXPECT_LT(worker, threads);
        for (std::ptrdiff_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, RethrowsAndStaysUsable) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.ParallelFor(10, [](std::ptrdiff_t b, std::ptrdiff_t, int) {
    if (b > 0) throw std::runtime_error("boom");
  }), std::runtime_error);
  std::atomic<int> sum{0};
  pool.ParallelFor(10, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) { sum += static_cast<int>(e - b); });
  EXPECT_EQ(sum.load(), 10);
}

TEST(ThreadPool, RejectsBadThreadCount) {
  EXPECT_THROW(ThreadPool(0), InputError);
  EXPECT_THROW(ThreadPool(-3), InputError);
  EXPECT_GE(ThreadPool::HardwareThreads(), 1);
}

TEST(ThreadPool, AvailableCpusTakesTheAffinityMaskAndTheCgroupQuotaRoundedUp) {
  EXPECT_EQ(ThreadPool::AvailableCpus(1, 64, 0, 0), 1);             // taskset -c 0
  EXPECT_EQ(ThreadPool::AvailableCpus(0, 8, 0, 0), 8);              // no mask: the hardware
  EXPECT_EQ(ThreadPool::AvailableCpus(16, 64, 250000, 100000), 3);  // 2.5 CPUs of quota → 3
  EXPECT_EQ(ThreadPool::AvailableCpus(2, 64, 800000, 100000), 2);   // the mask is smaller
  EXPECT_EQ(ThreadPool::AvailableCpus(4, 64, 10000, 100000), 1);    // a tenth of a CPU → 1
  EXPECT_EQ(ThreadPool::AvailableCpus(0, 0, 0, 0), 1);
  EXPECT_GE(ThreadPool::HardwareThreads(), 1);
}

}  // namespace
}  // namespace cimsim
