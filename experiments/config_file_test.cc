#include "experiments/config_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "experiments/calibrate_config.h"
#include "experiments/config_convert.h"
#include "experiments/experiment_config.h"
#include "experiments/json_reader.h"
#include "experiments/qat_config.h"
#include "experiments/quant_config_json.h"
#include "experiments/train_config.h"
#include "experiments/xbar_config.h"
#include "experiments/yaml_document.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigFile, FormatComesFromTheFileName) {
  EXPECT_EQ(FormatOfPath("a/run.yaml"), ConfigFormat::kYaml);
  EXPECT_EQ(FormatOfPath("RUN.YML"), ConfigFormat::kYaml);
  EXPECT_EQ(FormatOfPath("run.json"), ConfigFormat::kJson);
  EXPECT_EQ(FormatOfPath("run.yaml.json"), ConfigFormat::kJson);
  EXPECT_EQ(FormatOfPath("run"), ConfigFormat::kJson);
}

TEST(ConfigFile, EachCommandReadsItsSection) {
  const std::string text =
      "train:\n  epochs: 3\nquantize:\n  calibration:\n    images: 10\nchip:\n  device: {preset: pcm}\n";
  const ConfigDocument train = ParseConfigText(text, "all.yaml", ConfigKind::kTrain);
  EXPECT_EQ(train.section, "train");
  EXPECT_EQ(train.json.dump(), R"({"epochs":3})");
  const ConfigDocument chip = ParseConfigText(text, "all.yaml", ConfigKind::kChip);
  EXPECT_EQ(chip.json.dump(), R"({"device":{"preset":"pcm"}})");
  EXPECT_EQ(ParseXbarConfig(chip.json, "all.yaml").device.preset, "pcm");
  // JSON files may hold sections too.
  const ConfigDocument q = ParseConfigText(R"({"quantize": {"default": {"weight_bits": 4}}})", "all.json",
                                           ConfigKind::kQuantize);
  EXPECT_EQ(q.section, "quantize");
  EXPECT_EQ(ParseQuantConfig(q.json, "all.json").defaults.weight_bits, 4);
  // A file without sections is the config itself.
  const ConfigDocument whole = ParseConfigText("epochs: 3\n", "t.yaml", ConfigKind::kTrain);
  EXPECT_EQ(whole.section, "");
  EXPECT_EQ(whole.json.dump(), R"({"epochs":3})");
}

TEST(ConfigFile, SectionMistakesAreNamed) {
  EXPECT_EQ(ErrorOf([] { ParseConfigText("train: {}\n\nfrobnicate: {}\n", "all.yaml", ConfigKind::kTrain); }),
            "all.yaml:3: frobnicate: not a section; a file with sections holds only train, qat, quantize, calibrate, "
            "experiment, chip at its top level");
  EXPECT_EQ(ErrorOf([] { ParseConfigText("train: {}\nchip: {}\n", "all.yaml", ConfigKind::kExperiment); }),
            "all.yaml: has the sections chip, train but no \"experiment\" section, which the experiment config is "
            "read from");
}

// A validation error names the file, the line of the key and the key path (with the section).
TEST(ConfigFile, ValidationErrorsNameTheLineOfTheKey) {
  const std::string whole = "# training\nmodel:\n  arch: resnet\n  depth: 8\nepochs: -1\n";
  const ConfigDocument doc = ParseConfigText(whole, "t.yaml", ConfigKind::kTrain);
  const std::string e = ErrorOf([&] { AnnotatingErrors(doc, [&] { return ParseTrainConfig(doc.json, doc.file); }); });
  EXPECT_EQ(e.rfind("t.yaml:5: epochs: ", 0), 0u) << e;
  const std::string sections = "chip: {}\ntrain:\n  epochs: 2\n  optimizer:\n    momentum: x\n";
  const ConfigDocument s = ParseConfigText(sections, "all.yaml", ConfigKind::kTrain);
  const std::string e2 = ErrorOf([&] { AnnotatingErrors(s, [&] { return ParseTrainConfig(s.json, s.file); }); });
  EXPECT_EQ(e2, "all.yaml:5: train.optimizer.momentum: expected a number, got \"x\"");
  // An unknown key: its own line.
  const ConfigDocument q = ParseConfigText("default:\n  weight_bits: 4\n\n  no_such: 1\n", "q.yaml", ConfigKind::kQuantize);
  const std::string e3 = ErrorOf([&] { AnnotatingErrors(q, [&] { return ParseQuantConfig(q.json, q.file); }); });
  EXPECT_EQ(e3.rfind("q.yaml:4: default.no_such: unknown key", 0), 0u) << e3;
  // A missing key: the line of the object it is missing from.
  const ConfigDocument x2 = ParseConfigText("chip: {}\nexperiment:\n  data: {count: 5}\n", "all.yaml", ConfigKind::kExperiment);
  const std::string e5 = ErrorOf(
      [&] { AnnotatingErrors(x2, [&] { return ParseExperimentConfig(x2.json, x2.file, ConfigFiles::kMayBeAbsent); }); });
  EXPECT_EQ(e5.rfind("all.yaml:2: experiment.model: required", 0), 0u) << e5;
  // Messages about other files, and JSON files without sections, are left as they are.
  EXPECT_EQ(doc.Annotate("other.yaml: epochs: bad"), "other.yaml: epochs: bad");
  EXPECT_EQ(ParseConfigText("{}", "t.json", ConfigKind::kTrain).Annotate("t.json: epochs: bad"), "t.json: epochs: bad");
}

// A chip in a file of its own (YAML, or the chip section of a file of sections), named by an experiment.
TEST(ConfigFile, ANestedChipFileNamesItsOwnLines) {
  const fs::path dir = fs::path(testing::TempDir()) / "config_file_nested";
  fs::create_directories(dir);
  const std::string chip = (dir / "chip.yaml").string();
  std::ofstream(chip) << "device:\n  preset: pcm\ncrossbar:\n  rows_max: 64\n  no_such: 3\n";
  const ConfigDocument run = ParseConfigText("model: {qmodel: q.h5}\nxbar: " + chip + "\n", "run.yaml", ConfigKind::kExperiment);
  const std::string e = ErrorOf(
      [&] { AnnotatingErrors(run, [&] { return ParseExperimentConfig(run.json, run.file, ConfigFiles::kMayBeAbsent); }); });
  EXPECT_EQ(e.rfind(chip + ":5: crossbar.no_such: unknown key", 0), 0u) << e;
  const std::string all = (dir / "all.yaml").string();
  std::ofstream(all) << "experiment:\n  model: {qmodel: q.h5}\n  xbar: " << all << "\nchip:\n  device: {preset: rram}\n";
  const ConfigDocument exp = ReadConfigFile(all, ConfigKind::kExperiment);
  const ExperimentConfig c = ParseExperimentConfig(exp.json, exp.file, ConfigFiles::kMayBeAbsent);
  EXPECT_EQ(c.xbar.dump(), R"({"device":{"preset":"rram"}})");
}

// The shipped file of sections: each command's section reads (run from the source tree, as its chip
// file names are relative to it).
TEST(ConfigFile, TheShippedFileOfSectionsReadsForEachCommand) {
  const fs::path before = fs::current_path();
  fs::current_path(CIMSIM_SOURCE_DIR);
  for (const char* file : {"configs/sections/resnet20_w8a8_pcm.yaml", "configs/sections/resnet20_w8a8_pcm.json"}) {
    SCOPED_TRACE(file);
    const std::string problem = ErrorOf([&] {
      EXPECT_EQ(ParseQuantConfig(ReadConfigFile(file, ConfigKind::kQuantize).json, file).defaults.weight_bits, 8);
      EXPECT_EQ(LoadXbarConfig(file).device.preset, "pcm");
      EXPECT_EQ(LoadCalibrateConfig(file).xbar.device.preset, "pcm");
      const ConfigDocument exp = ReadConfigFile(file, ConfigKind::kExperiment);
      EXPECT_EQ(ParseExperimentConfig(exp.json, file, ConfigFiles::kMayBeAbsent).xbar["device"]["preset"], "pcm");
    });
    EXPECT_EQ(problem, "");
  }
  fs::current_path(before);
}

ConfigKind KindOfDirectory(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name == "qat") return ConfigKind::kQat;
  if (name == "quant") return ConfigKind::kQuantize;
  if (name == "train") return ConfigKind::kTrain;
  return ConfigKind::kExperiment;
}

// What a config of `kind` reads as, written back in its canonical JSON (every setting, defaults included).
std::string CanonicalConfig(const ConfigDocument& doc, ConfigKind kind) {
  return AnnotatingErrors(doc, [&] {
    switch (kind) {
      case ConfigKind::kQat: return QatConfigToJson(ParseQatConfig(doc.json, doc.file)).dump();
      case ConfigKind::kQuantize: return QuantPlanToJson(ParseQuantConfig(doc.json, doc.file)).dump();
      case ConfigKind::kTrain: return TrainConfigToJson(ParseTrainConfig(doc.json, doc.file)).dump();
      default: return ExperimentConfigToJson(ParseExperimentConfig(doc.json, doc.file, ConfigFiles::kMayBeAbsent)).dump();
    }
  });
}

// Every config shipped in JSON has a YAML twin that reads as the same document and the same settings
// (made with `cimsim config convert`, docs/configs.md), and the other way round.
TEST(ConfigFile, EveryShippedConfigHasAYamlTwinThatReadsTheSame) {
  const fs::path root = CIMSIM_SOURCE_DIR;
  int pairs = 0;
  for (const fs::path& dir : {root / "configs/qat", root / "configs/quant", root / "configs/train", root / "experiments/configs"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      const fs::path p = entry.path();
      if (p.extension() != ".json" && p.extension() != ".yaml") continue;
      fs::path twin = p;
      twin.replace_extension(p.extension() == ".json" ? ".yaml" : ".json");
      ASSERT_TRUE(fs::is_regular_file(twin)) << p << " has no twin " << twin;
      if (p.extension() != ".json") continue;
      SCOPED_TRACE(p.string());
      const std::string json_text = ReadConfigText(p.string(), "config");
      const std::string yaml_text = ReadConfigText(twin.string(), "config");
      EXPECT_TRUE(SameDocument(ParseYamlText(yaml_text, twin.string()).json, ParseOrderedJsonText(json_text, p.string())));
      const ConfigKind kind = KindOfDirectory(dir);
      EXPECT_EQ(CanonicalConfig(ParseConfigText(yaml_text, twin.string(), kind), kind),
                CanonicalConfig(ParseConfigText(json_text, p.string(), kind), kind));
      ++pairs;
    }
  }
  EXPECT_GE(pairs, 22);
}

}  // namespace
}  // namespace cimsim
