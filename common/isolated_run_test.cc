#include "common/isolated_run.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "common/error.h"

namespace cimsim {
namespace {

using std::chrono::milliseconds;

// The message of the InputError RunIsolated throws for `body` (fails the test when none is thrown).
std::string FailureOf(const std::function<void()>& body, IsolationLimits limits = {}) {
  try {
    RunIsolated("file.h5", body, limits);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "RunIsolated returned normally";
  return "";
}

TEST(RunIsolated, ReturnsWhenTheBodyReturnsAndLeavesTheParentUntouched) {
  int changed_in_child = 0;
  RunIsolated("file.h5", [&] { changed_in_child = 1; });
  EXPECT_EQ(changed_in_child, 0);  // the body ran in another address space
}

TEST(RunIsolated, AnInputErrorOfTheBodyReachesTheParentWordForWord) {
  EXPECT_EQ(FailureOf([] { throw InputError("file.h5: dataset /x has the wrong shape"); }),
            "file.h5: dataset /x has the wrong shape");
}

TEST(RunIsolated, AnyOtherExceptionBecomesAnInputErrorNamingTheInput) {
  const std::string m = FailureOf([] { throw std::runtime_error("odd"); });
  EXPECT_NE(m.find("file.h5: reading it failed (odd)"), std::string::npos) << m;
}

TEST(RunIsolated, ACrashOfTheBodyBecomesAnInputErrorNamingTheSignal) {
  const std::string segv = FailureOf([] { ::raise(SIGSEGV); });
  EXPECT_NE(segv.find("file.h5: reading it crashed the reader (signal 11"), std::string::npos) << segv;
  const std::string abrt = FailureOf([] { std::abort(); });
  EXPECT_NE(abrt.find("signal 6"), std::string::npos) << abrt;
  const std::string code = FailureOf([] { ::_exit(7); });
  EXPECT_NE(code.find("exit code 7"), std::string::npos) << code;
}

TEST(RunIsolated, AHangIsStoppedAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  const std::string m = FailureOf(
      [] {
        for (;;) ::pause();
      },
      IsolationLimits{milliseconds(300)});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(m.find("file.h5: reading it did not finish within 0.3"), std::string::npos) << m;
  EXPECT_LT(took, std::chrono::seconds(20));  // generous: a loaded CI machine; the point is "not forever"
}

TEST(RunIsolated, AHugeAllocationFailsInTheChildNotInTheParent) {
  // Outside the sanitizer builds the child's address space is capped (bad_alloc → "reading it failed");
  // under ASan the allocator reports and ends the child. Either way one InputError naming the input.
  const std::string m = FailureOf([] {
    volatile char* p = new char[uint64_t{1} << 44];
    p[0] = 1;
  });
  EXPECT_NE(m.find("file.h5: reading it"), std::string::npos) << m;
}

}  // namespace
}  // namespace cimsim
