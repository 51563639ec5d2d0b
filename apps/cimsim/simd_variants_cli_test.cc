// The portable build's SIMD variants (apps/cimsim/simd_variant.h) give the same results: every variant
// this CPU runs, forced with CIMSIM_ISA, classifies the same images the same way (integer engine and
// float network) and writes an h5diff-identical results.h5 for a PCM experiment with read noise and
// traces (ADC codes, dot-product errors, accuracies). A variant the CPU cannot run, or a bad name, is
// refused with exit 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/cimsim/cli_test_support.h"

namespace cimsim {
namespace {

using SimdVariantsCliTest = CliTest;

std::string Env(const std::string& variant) { return "env -u CIMSIM_DATA CIMSIM_ISA=" + variant + " "; }

TEST_F(SimdVariantsCliTest, EveryVariantThisCpuRunsGivesTheSameResults) {
  if (std::string(CIMSIM_ISA_NAME) != "portable")
    GTEST_SKIP() << "built with CIMSIM_ISA=" << CIMSIM_ISA_NAME << ": one program, no variants to compare";
  if (!CIMSIM_OTHER_VARIANTS_BUILT)
    GTEST_SKIP() << "built with CIMSIM_OTHER_VARIANTS=OFF (scripts/test.sh quick mode): only this machine's "
                    "variant exists; `scripts/test.sh full` builds and compares them all";
  std::vector<std::string> runnable;
  for (const std::string v : {"avx512", "avx2", "scalar"}) {
    const RunResult r = RunCimsim("--version", Env(v));
    if (r.exit_code == 0) {
      EXPECT_NE(r.output.find("build "), std::string::npos) << r.output;
      EXPECT_NE(r.output.find(", " + v + " ("), std::string::npos) << v << ": " << r.output;
      runnable.push_back(v);
    } else {
      ExpectInputError(r, {"CIMSIM_ISA=" + v, "does not support"});
    }
  }
  ASSERT_GE(runnable.size(), 2u) << "scalar and at least one SIMD variant run on any x86-64 with AVX2";
  ExpectInputError(RunCimsim("--version", Env("sse9")), {"CIMSIM_ISA=sse9", "avx512, avx2, scalar"});

  const std::string q = Quantize(), model = WriteModel(), data = WriteData("test.bin", 24);
  const std::string run = Config("run.json", R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data +
                                                 R"(", "count": 24},
      "xbar": {"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64, "read_noise": true}},
      "calibration": {"auto": {"inputs": "random", "fit_vectors": 32, "holdout_vectors": 32}},
      "instances": 2, "sweep": [{"param": "crossbar.adc.bits", "values": [4, 8]}],
      "traces": {"layers": ["conv1", "layer1.0.conv2"], "vectors": 4}})");
  nlohmann::json first_infer, first_eval;
  for (const std::string& v : runnable) {
    const RunResult infer = RunCimsim("infer --qmodel " + q + " --data " + data + " --json " + Path("infer_" + v + ".json"), Env(v));
    ASSERT_EQ(infer.exit_code, 0) << v << ": " << infer.output;
    nlohmann::json ij = nlohmann::json::parse(std::ifstream(Path("infer_" + v + ".json")));
    const RunResult eval = RunCimsim("eval --model " + model + " --data " + data + " --json " + Path("eval_" + v + ".json"), Env(v));
    ASSERT_EQ(eval.exit_code, 0) << v << ": " << eval.output;
    nlohmann::json ej = nlohmann::json::parse(std::ifstream(Path("eval_" + v + ".json")));
    const RunResult x = RunCimsim("experiment --config " + run + " --out " + Path("x_" + v), Env(v));
    ASSERT_EQ(x.exit_code, 0) << v << ": " << x.output;
    if (v == runnable.front()) {
      first_infer = ij;
      first_eval = ej;
      continue;
    }
    EXPECT_EQ(ij["correct"], first_infer["correct"]) << v;
    EXPECT_EQ(ij["per_class"], first_infer["per_class"]) << v;
    EXPECT_EQ(ej["correct"], first_eval["correct"]) << v;
    EXPECT_EQ(ej["per_class"], first_eval["per_class"]) << v;
    EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("x_" + runnable.front() + "/results.h5") + " " +
                           Path("x_" + v + "/results.h5")).c_str()),
              0)
        << v << " vs " << runnable.front();
  }
}

}  // namespace
}  // namespace cimsim
