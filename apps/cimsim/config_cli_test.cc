// End-to-end tests of YAML configs and `cimsim config convert`: the shipped YAML twins are exactly what
// the converter writes, a YAML twin gives the same quantized model as its JSON config (h5diff), one file
// of sections drives several commands, and bad input to the converter is one clear message, exit 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"

namespace cimsim {
namespace {

using ConfigCliTest = CliTest;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every shipped JSON config converts to its committed YAML twin byte for byte, and back to a JSON
// document identical to the original (keys in order, every value of the same type).
TEST_F(ConfigCliTest, ConvertWritesTheShippedTwinsAndBack) {
  const fs::path root = CIMSIM_SOURCE_DIR;
  int converted = 0;
  for (const fs::path& dir : {root / "configs/qat", root / "configs/quant", root / "configs/train", root / "configs/sections",
                             root / "experiments/configs"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".json") continue;
      const std::string json = entry.path().string();
      fs::path twin = entry.path();
      twin.replace_extension(".yaml");
      const std::string yaml = Path("c.yaml"), back = Path("c.json");
      const RunResult to_yaml = RunCimsim("config convert " + json + " " + yaml);
      ASSERT_EQ(to_yaml.exit_code, 0) << to_yaml.output;
      EXPECT_EQ(ReadText(yaml), ReadText(twin.string())) << twin << " is not what `cimsim config convert " << json << "` writes";
      const RunResult to_json = RunCimsim("config convert " + yaml + " " + back);
      ASSERT_EQ(to_json.exit_code, 0) << to_json.output;
      EXPECT_EQ(nlohmann::ordered_json::parse(ReadText(back)).dump(), nlohmann::ordered_json::parse(ReadText(json)).dump())
          << json;
      ++converted;
    }
  }
  EXPECT_GE(converted, 23);
}

TEST_F(ConfigCliTest, AYamlTwinQuantizesToTheSameModel) {
  const std::string model = WriteModel(), data = WriteData("train.bin", 60);
  const std::string json = Config("q.json", R"({"default": {"weight_bits": 6, "activation_bits": 5, "per_channel": false},
      "layers": [{"match": "linear", "weight_bits": 8}], "calibration": {"images": 20, "seed": 3}})");
  const RunResult convert = RunCimsim("config convert " + json + " " + Path("q.yaml"));
  ASSERT_EQ(convert.exit_code, 0) << convert.output;
  const RunResult a = RunCimsim("quantize --model " + model + " --config " + json + " --data " + data + " --out " + Path("a.h5"));
  const RunResult b =
      RunCimsim("quantize --model " + model + " --config " + Path("q.yaml") + " --data " + data + " --out " + Path("b.h5"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  // Every group, dataset and their attributes the same; of the root's attributes, the description names
  // the config file (q.json, q.yaml) and the checksum covers it, the rest must match.
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance --exclude-attribute / " + Path("a.h5") + " " + Path("b.h5")).c_str()), 0);
  const H5File fa = H5File::OpenRead(Path("a.h5")), fb = H5File::OpenRead(Path("b.h5"));
  for (const char* attr : {"quant_config", "calibration_data", "source_model", "format"})
    EXPECT_EQ(fa.ReadStringAttribute("/", attr), fb.ReadStringAttribute("/", attr)) << attr;
}

// One YAML file with the quantize and chip sections: quantize reads one, infer --crossbar the other.
TEST_F(ConfigCliTest, OneFileOfSectionsDrivesSeveralCommands) {
  const std::string all = Config("all.yaml",
                                 "# one file for the whole pipeline\n"
                                 "quantize:\n"
                                 "  calibration: {images: 20}\n"
                                 "chip:\n"
                                 "  device: {preset: ideal}\n"
                                 "  crossbar:\n"
                                 "    rows_max: 64\n"
                                 "    cols_max: 64\n"
                                 "    adc: {bits: 16}\n"
                                 "experiment:\n"
                                 "  model: {qmodel: q.h5}\n");
  const std::string data = WriteData("test.bin", 10);
  const RunResult q =
      RunCimsim("quantize --model " + WriteModel() + " --config " + all + " --data " + WriteData("train.bin", 60) + " --out " + Path("q.h5"));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const RunResult ideal = RunCimsim("infer --qmodel " + Path("q.h5") + " --data " + data + " --crossbar " + all + " --json " + Path("x.json"));
  ASSERT_EQ(ideal.exit_code, 0) << ideal.output;
  EXPECT_EQ(nlohmann::json::parse(ReadText(Path("x.json")))["mvm_core"], "crossbar");
  // A command whose section is missing is refused by name.
  ExpectInputError(RunCimsim("train --config " + all + " --out " + Path("t")),
                   {"all.yaml", "has the sections chip, experiment, quantize but no \"train\" section"});
  // An error inside a section names the line and the section's key path.
  const std::string bad = Config("bad.yaml", "chip:\n  device: {preset: ideal}\n  crossbar:\n    adc: {bits: 99}\n");
  ExpectInputError(RunCimsim("infer --qmodel " + Path("q.h5") + " --data " + data + " --crossbar " + bad),
                   {"bad.yaml:4: chip.crossbar.adc.bits", "99"});
}

TEST_F(ConfigCliTest, ConvertRefusesBadInputAndKeepsAnExistingOutput) {
  const std::string keep = Config("keep.yaml", "precious: 1\n");
  ExpectInputError(RunCimsim("config convert " + Path("absent.json") + " " + keep), {"absent.json", "not found"});
  ExpectInputError(RunCimsim("config convert " + Config("bad.yaml", "a: 1\na: 2\n") + " " + keep),
                   {"bad.yaml:2: a: duplicate key"});
  ExpectInputError(RunCimsim("config convert " + Config("bad.json", "{\"a\": }") + " " + keep), {"bad.json", "not valid JSON"});
  ExpectInputError(RunCimsim("config convert " + Config("ok.json", "{}") + " -"), {"OUT", "'-'"});
  ExpectInputError(RunCimsim("config convert " + Config("ok2.json", "{}") + " " + Path("no_dir/x.yaml")), {"OUT", "does not exist"});
  ExpectInputError(RunCimsim("config convert " + Path("ok.json")), {"out"});
  ExpectInputError(RunCimsim("config frobnicate"), {"'frobnicate'", "config convert"});
  EXPECT_EQ(ReadText(keep), "precious: 1\n");
  // Converting within one format normalises it.
  const RunResult same = RunCimsim("config convert " + Config("messy.yaml", "{b: [1, 2], a: 'x'}") + " " + Path("tidy.yaml"));
  ASSERT_EQ(same.exit_code, 0) << same.output;
  EXPECT_EQ(ReadText(Path("tidy.yaml")), "b:\n  - 1\n  - 2\na: x\n");
}

}  // namespace
}  // namespace cimsim
