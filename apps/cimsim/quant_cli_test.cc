// End-to-end tests of `cimsim quantize` and `cimsim infer`: a quantize → infer round trip whose
// integer engine agrees with its reference and the fake-quantized network, and bad input (configs,
// quantized files, data) that must give one clear message and exit code 2.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <nlohmann/json.hpp>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim {
namespace {

using QuantCliTest = CliTest;

TEST_F(QuantCliTest, QuantizeThenInferAgreesWithReferenceAndFakeQuant) {
  const std::string q = Quantize();
  ASSERT_TRUE(fs::exists(q));
  const RunResult r =
      RunCimsim("infer --qmodel " + q + " --data " + WriteData("test.bin", 30) + " --check --json " + Path("i.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("i.json")));
  EXPECT_EQ(j["total"], 30);
  EXPECT_EQ(j["precision"], "integer");
  EXPECT_EQ(j["check"]["images"], 30);
  EXPECT_EQ(j["check"]["reference_logit_mismatches"], 0);
  EXPECT_EQ(j["check"]["fake_quant_prediction_mismatches"], 0);
  // The file records its config.
  EXPECT_NE(H5File::OpenRead(q).ReadStringAttribute("/", "quant_config").find("\"weight_bits\":8"), std::string::npos);
}

TEST_F(QuantCliTest, BadConfigs) {
  const std::string model = WriteModel(), data = WriteData("train.bin", 60);
  auto run = [&](const std::string& json) {
    return RunCimsim("quantize --model " + model + " --config " + Config("bad.json", json) + " --data " + data +
                     " --out " + Path("out.h5"));
  };
  ExpectInputError(run(R"({"default": {"weight_bits": 9}})"), {"bad.json", "default.weight_bits", "9", "2..8"});
  ExpectInputError(run(R"({"default": {"activation_bits": 1}})"), {"default.activation_bits", "1"});
  ExpectInputError(run(R"({"layers": [{"match": "layer9.0.conv1", "weight_bits": 6}]})"), {"layers[0]", "layer9.0.conv1"});
  ExpectInputError(run(R"({"defaults": {}})"), {"defaults", "unknown key"});
  ExpectInputError(run(R"({"default": {"weight_bits": 3}})"), {"below 4 bits", "quantization-aware training", "\"ptq\""});
  ExpectInputError(run(R"({"default": {"weight_bits": 8})"), {"bad.json"});
  EXPECT_FALSE(fs::exists(Path("out.h5")));
  // Forcing PTQ below 4 bits is allowed.
  const RunResult forced = run(R"({"default": {"weight_bits": 3, "mode": "ptq"}, "calibration": {"images": 20}})");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
}

TEST_F(QuantCliTest, BadQuantizedFiles) {
  const std::string data = WriteData("test.bin", 5);
  // A float model where a quantized one belongs.
  ExpectInputError(RunCimsim("infer --qmodel " + WriteModel() + " --data " + data), {"not a cimsim quantized model"});
  ExpectInputError(RunCimsim("infer --qmodel " + Path("absent.h5") + " --data " + data), {"absent.h5"});
  // A quantized file with one dataset removed.
  const std::string q = Quantize();
  fs::copy_file(q, Path("missing.h5"));
  {
    const hid_t f = H5Fopen(Path("missing.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    ASSERT_GE(H5Ldelete(f, "/nodes/0002/multiplier", H5P_DEFAULT), 0);
    ASSERT_GE(H5Adelete(f, "content_checksum"), 0);  // as from another tool: the loader's own check speaks
    H5Fclose(f);
  }
  ExpectInputError(RunCimsim("infer --qmodel " + Path("missing.h5") + " --data " + data),
                   {"missing.h5", "missing dataset /nodes/0002/multiplier"});
  // An integer model for 16×16 images paired with CIFAR-10's 32×32.
  QuantizedModel m = LoadQuantizedModel(q);
  m.input_chw = {3, 16, 16};
  SaveQuantizedModel(m, Path("small.h5"));
  ExpectInputError(RunCimsim("infer --qmodel " + Path("small.h5") + " --data " + data), {"[3, 16, 16]", "[3, 32, 32]"});
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --json " + Path("no/dir/i.json")),
                   {"does not exist"});
}

// Crossbar inference and calibration end to end: an ideal chip with a wide ADC predicts exactly what
// the integer engine predicts; a PCM chip calibrates, and its calibration only fits its own chip.
TEST_F(QuantCliTest, CrossbarInferAndCalibrate) {
  const std::string q = Quantize(), data = WriteData("test.bin", 20);
  const std::string ideal = Config("ideal.json", R"({"seed": 1, "device": {"preset": "ideal"},
      "crossbar": {"rows_max": 64, "cols_max": 64, "input": {"mode": "bit_serial"}, "adc": {"bits": 16}}})");
  auto chip = [](int seed) {
    return R"({"seed": )" + std::to_string(seed) + R"(, "device": {"preset": "pcm"}, "crossbar": {"rows_max": 64,
      "cols_max": 64, "slice_bits": 4, "adc": {"bits": 8, "range": "calibrated"}, "read_time": 1}})";
  };
  const std::string pcm_chip = chip(3);
  const std::string pcm = Config("pcm.json", pcm_chip);
  ASSERT_EQ(RunCimsim("infer --qmodel " + q + " --data " + data + " --json " + Path("int.json")).exit_code, 0);
  const RunResult xb = RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + ideal + " --json " + Path("xb.json"));
  ASSERT_EQ(xb.exit_code, 0) << xb.output;
  const nlohmann::json a = nlohmann::json::parse(std::ifstream(Path("int.json"))),
                       b = nlohmann::json::parse(std::ifstream(Path("xb.json")));
  EXPECT_EQ(a["per_class"], b["per_class"]);
  EXPECT_EQ(b["mvm_core"], "crossbar");
  const std::string cal = Config("cal.json", R"({"qmodel": ")" + q + R"(", "xbar": )" + pcm_chip +
                                                 R"(, "fit_vectors": 16, "holdout_vectors": 16})");
  const RunResult c = RunCimsim("calibrate --config " + cal + " --out " + Path("cal.h5"));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("rmse before"), std::string::npos);
  const RunResult run = RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + pcm + " --calibration " +
                                  Path("cal.h5"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // Calibration on real activations of 10 class-balanced "training" images (the test file stands in).
  const std::string act = Config("act.json", R"({"qmodel": ")" + q + R"(", "xbar": )" + pcm_chip +
                                                 R"(, "inputs": "activations", "data": ")" + data +
                                                 R"(", "images": 10, "fit_vectors": 16, "holdout_vectors": 16})");
  const RunResult ca = RunCimsim("calibrate --config " + act + " --out " + Path("act.h5"));
  ASSERT_EQ(ca.exit_code, 0) << ca.output;
  EXPECT_EQ(RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + pcm + " --calibration " +
                      Path("act.h5")).exit_code, 0);
  // The same calibration on another chip instance (another seed) is refused.
  const std::string other = Config("other.json", chip(4));
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + other + " --calibration " +
                             Path("cal.h5")),
                   {"belongs to another chip"});
}

TEST_F(QuantCliTest, BadCrossbarAndCalibrationInput) {
  const std::string q = Quantize(), data = WriteData("test.bin", 5);
  auto calibrate = [&](const std::string& json) {
    return RunCimsim("calibrate --config " + Config("bad.json", json) + " --out " + Path("cal.h5"));
  };
  ExpectInputError(calibrate(R"({"bogus": 1, "qmodel": "q.h5"})"), {"bad.json: bogus: unknown key"});
  ExpectInputError(calibrate(R"({"xbar": {}})"), {"bad.json: qmodel: required"});
  ExpectInputError(calibrate(R"({"qmodel": 3})"), {"qmodel: expected a string"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "mode": "row"})"), {"mode: \"row\" is not a correction mode"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "fit_vectors": 0})"), {"fit_vectors: 0 is out of range"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "adc_percentile": 101})"), {"adc_percentile: 101"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "layers": ["layer9.conv"]})"), {"layer9.conv"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "xbar": {"seed": -1}})"), {"xbar: seed: -1 is out of range"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "xbar": {"crossbar": {"adc": {"bits": 40}}}})"),
                   {"crossbar.adc.bits: 40 is out of range"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "xbar": {"device": {"g_min": 30, "g_max": 25}}})"),
                   {"device.g_min"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + Path("absent.h5") + R"("})"), {"absent.h5"});
  ExpectInputError(calibrate("{"), {"bad.json"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "images": 20})"),
                   {"bad.json: images: only allowed with \"inputs\": \"activations\""});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "activations", "images": 15})"),
                   {"bad.json: images: 15 is not a multiple of 10"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "trace"})"),
                   {"bad.json: inputs: \"trace\" is not an input kind"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "traces"})"),
                   {"bad.json: traces: required with \"inputs\": \"traces\""});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "traces": {"file": "r.h5"}})"),
                   {"bad.json: traces: only allowed with \"inputs\": \"traces\""});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "traces", "traces": {"file": "r.h5", "pt": 1}})"),
                   {"bad.json: traces.pt"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "traces", "traces": {"file": "r.h5", "point": -1}})"),
                   {"bad.json: traces.point: -1 is out of range"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "traces", "traces": {"file": ")" + Path("none.h5") + R"("}})"),
                   {"none.h5"});
  ExpectInputError(calibrate(R"({"qmodel": ")" + q + R"(", "inputs": "activations", "data": ")" + Path("none.bin") + "\"}"),
                   {"none.bin"});
  EXPECT_FALSE(fs::exists(Path("cal.h5")));
  const std::string xbar = Config("x.json", R"({"crossbar": {"rows_max": 0}})");
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + xbar), {"crossbar.rows_max: 0"});
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + Path("none.json")), {"none.json"});
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --calibration " + Path("c.h5")),
                   {"needs --crossbar"});
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --check --crossbar " + xbar),
                   {"cannot be combined with --crossbar"});
  ExpectInputError(RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + Config("ok.json", "{}") +
                             " --calibration " + q),
                   {"not a cimsim chip calibration"});
}

// The real pretrained model, W8A8 with ACIQ, on the first 300 lossless test images: the fast engine
// equals the reference and the fake-quantized network on every image.
TEST_F(QuantCliTest, PretrainedResnet20W8A8) {
  const char* data = std::getenv("CIMSIM_DATA");
  const char* model = std::getenv("CIMSIM_MODEL");
  if (data == nullptr || model == nullptr || !fs::exists(model)) {
    GTEST_SKIP() << "needs CIMSIM_DATA and CIMSIM_MODEL (the pretrained resnet20_cifar10.h5); CIMSIM_MODEL="
                 << (model ? model : "(unset)") << (model && !fs::exists(model) ? " does not exist" : "");
  }
  const RunResult q = RunCimsim("quantize --model " + std::string(model) + " --config " +
                                    Config("q.json", R"({"calibration": {"images": 500}})") + " --data " + data +
                                    " --out " + Path("q.h5"),
                                "");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const RunResult r = RunCimsim("infer --qmodel " + Path("q.h5") + " --data " + std::string(data) +
                                    "/test_batch_exact.bin --limit 300 --check --json " + Path("i.json"),
                                "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("i.json")));
  EXPECT_EQ(j["check"]["reference_logit_mismatches"], 0);
  EXPECT_EQ(j["check"]["fake_quant_prediction_mismatches"], 0);
}

}  // namespace
}  // namespace cimsim
