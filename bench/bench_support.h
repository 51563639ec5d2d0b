// bench_support.h — what every cimsim benchmark shares: console output plus the counters of each
// run kept for a closing summary that puts a throughput next to the peak it is measured against.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cimsim::bench {

// Keeps counter values by "<function>/<args>" (e.g. "EigenSgemm/2", "IntGemm/N:16/K:144/n:1024"):
// single runs, or the median when --benchmark_repetitions asks for several.
class CounterReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      const std::string key = run.run_name.function_name + (run.run_name.args.empty() ? "" : "/" + run.run_name.args);
      for (const auto& [name, counter] : run.counters) values_[key + " " + name] = counter.value;
    }
  }
  std::optional<double> Get(const std::string& run, const std::string& counter) const {
    const auto it = values_.find(run + " " + counter);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, double> values_;
};

// The body of a benchmark's main(): runs what the command line selects, then `summarize`.
inline int RunBenchmarks(int argc, char** argv, const std::function<void(const CounterReporter&)>& summarize) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  CounterReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  summarize(reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace cimsim::bench
