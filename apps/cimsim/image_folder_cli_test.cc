// cimsim train, qat and experiment on an ImageNet-format folder the test writes (JPEG and PNG, two
// sizes): a tiny VGG and an ImageNet-stem ResNet-18 train (the loss falls), the result does not depend
// on the decoding thread count, W4A4 QAT exports a model the integer engine runs with the QAT
// network's predictions, and the experiment runs it on an ideal chip equal to the integer engine and on
// a PCM chip; bad files in the folder stop the run naming the file (exit 2) or, with "bad_images":
// "skip", are left out and counted.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"
#include "common/rng.h"
#include "data/image_encode.h"

namespace cimsim {
namespace {

class ImageFolderCliTest : public CliTest {
 protected:
  // ROOT/{train,val}/class{0..3}/: class k is a square of colour k on a noisy grey background at a random
  // place (learnable in a few epochs); train 8 per class, val 4; 40 × 40 JPEGs and some 48 × 36 PNGs.
  std::string MakeFolder(const std::string& name) {
    const std::string root = Path(name);
    const uint8_t colours[4][3] = {{220, 30, 30}, {30, 200, 40}, {40, 60, 230}, {230, 220, 40}};
    Rng rng(7);
    for (const auto& [split, count] : {std::pair<std::string, int>{"train", 8}, {"val", 4}}) {
      for (int k = 0; k < 4; ++k) {
        const std::string dir = root + "/" + split + "/class" + std::to_string(k);
        fs::create_directories(dir);
        for (int i = 0; i < count; ++i) {
          const bool png = i % 4 == 3;
          RgbImage im;
          im.width = png ? 48 : 40;
          im.height = png ? 36 : 40;
          im.pixels.resize(static_cast<size_t>(3 * im.width * im.height));
          for (uint8_t& p : im.pixels) p = static_cast<uint8_t>(100 + rng.Below(56));
          const int side = 14, top = static_cast<int>(rng.Below(static_cast<uint64_t>(im.height - side))),
                    left = static_cast<int>(rng.Below(static_cast<uint64_t>(im.width - side)));
          for (int y = top; y < top + side; ++y)
            for (int x = left; x < left + side; ++x)
              for (int c = 0; c < 3; ++c) im.pixels[static_cast<size_t>((y * im.width + x) * 3 + c)] = colours[k][c];
          const std::string file = dir + "/" + std::to_string(i) + (png ? ".png" : ".JPEG");
          if (png) {
            WritePngFile(file, im);
          } else {
            WriteJpegFile(file, im, 92);
          }
        }
      }
    }
    return root;
  }

  std::string TrainConfig(const std::string& root, const std::string& model, int epochs, const std::string& extra = "") {
    return Config("train_" + std::to_string(++configs_) + ".json",
                  R"({"model": )" + model + R"(, "data": ")" + root +
                      R"(", "image_folder": {"crop": 32, "resize": 36, "scale": [0.5, 1])" + extra +
                      R"(}, "epochs": )" + std::to_string(epochs) +
                      R"(, "batch_size": 8, "optimizer": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
                         "schedule": {"kind": "cosine"}})");
  }

  std::vector<nlohmann::json> Log(const std::string& dir) {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir + "/log.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::vector<double> Params(const std::string& file) {
    const H5File f = H5File::OpenRead(file);
    std::vector<double> all;
    const std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
        {"features.0.weight", {8, 3, 3, 3}}, {"features.4.weight", {16, 8, 3, 3}}, {"classifier.weight", {4, 16}}};
    for (const auto& [name, shape] : tensors) {
      const std::vector<double> v = f.ReadFiniteArray("/params/" + name, shape);
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }

  int configs_ = 0;
};

constexpr const char* kTinyVgg = R"({"arch": "vgg", "vgg_config": "8,M,16,M", "num_classes": 4,
                                     "input_mean": [0.485, 0.456, 0.406], "input_std": [0.229, 0.224, 0.225]})";

TEST_F(ImageFolderCliTest, TinyVggTrainsQuantizesAndRunsOnChips) {
  const std::string root = MakeFolder("set");
  const RunResult trained = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 6, R"(, "decode_threads": 2)") + " --out " +
                                      Path("vgg") + " --threads 2");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("32 training images of 3x32x32"), std::string::npos) << trained.output;
  const std::vector<nlohmann::json> log = Log(Path("vgg"));
  ASSERT_EQ(log.size(), 6u);
  EXPECT_LT(log.back()["loss"].get<double>(), log.front()["loss"].get<double>());

  // One decoding thread: the same batches, so the same weights.
  const RunResult one = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 6, R"(, "decode_threads": 1)") +
                                  " --out " + Path("vgg1") + " --threads 2");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(Params(Path("vgg/model.h5")), Params(Path("vgg1/model.h5")));

  // W4A4 QAT from it (first conv and classifier at 8 bits), exported exactly.
  const RunResult qat = RunCimsim("qat --model " + Path("vgg/model.h5") + " --config " +
                                  Config("qat.json", R"({"data": ")" + root + R"(", "image_folder": {"crop": 32, "resize": 36},
                                      "epochs": 1, "batch_size": 8,
                                      "quant": {"default": {"weight_bits": 4, "activation_bits": 4, "mode": "qat", "qat_method": "lsq"},
                                                "layers": [{"match": "features.0", "weight_bits": 8, "activation_bits": 8, "mode": "ptq"},
                                                           {"match": "classifier", "weight_bits": 8, "activation_bits": 8, "mode": "ptq"}],
                                                "calibration": {"images": 20}}})") +
                                  " --out " + Path("qat") + " --threads 2");
  ASSERT_EQ(qat.exit_code, 0) << qat.output;
  std::ifstream in(Path("qat/qat_summary.json"));
  const nlohmann::json summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["images"].get<int64_t>(), 16);
  EXPECT_EQ(summary["prediction_mismatches"].get<int64_t>(), 0);

  // infer and eval read the folder too, with the folder's class names in the report.
  const RunResult infer = RunCimsim("infer --qmodel " + Path("qat/model_q.h5") + " --data " + root + "/val --resize 36 --json " +
                                    Path("infer.json"));
  ASSERT_EQ(infer.exit_code, 0) << infer.output;
  std::ifstream iin(Path("infer.json"));
  const nlohmann::json report = nlohmann::json::parse(iin);
  EXPECT_EQ(report["top1"].get<double>(), summary["integer_top1"].get<double>());
  ASSERT_EQ(report["per_class"].size(), 4u);
  EXPECT_EQ(report["per_class"][2]["name"], "class2");
  EXPECT_EQ(report["per_class"][2]["total"], 4);
  const RunResult eval = RunCimsim("eval --model " + Path("vgg/model.h5") + " --data " + root + "/val --crop 32 --resize 36");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("(" + std::to_string(static_cast<int>(std::lround(log.back()["test_accuracy"].get<double>() * 16 / 100))) +
                             " / 16)"),
            std::string::npos)
      << eval.output;

  // The experiment reads the val folder at the model's input size: an ideal chip gives the integer
  // engine's accuracy exactly; a PCM chip runs.
  const std::string experiment = Config("run.json", R"({"model": {"qmodel": ")" + Path("qat/model_q.h5") +
                                                        R"("}, "data": {"test": ")" + root + R"(/val", "count": 16, "resize": 36},
      "xbar": {"device": {"preset": "ideal"}, "crossbar": {"rows_max": 64, "cols_max": 64, "adc": {"bits": 14}}},
      "sweep": [{"param": "device.preset", "values": ["ideal", "pcm"]}]})");
  const RunResult run = RunCimsim("experiment --config " + experiment + " --out " + Path("exp"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::ifstream sin(Path("exp/summary.json"));
  const nlohmann::json points = nlohmann::json::parse(sin)["points"];
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0]["accuracy"][0].get<double>(), summary["integer_top1"].get<double>() / 100.0);
}

// A validation set that comes flat, labelled by a list file (as ImageNet's often does).
TEST_F(ImageFolderCliTest, AFlatValidationSetWithALabelsFile) {
  const std::string root = MakeFolder("set");
  fs::create_directories(Path("flat"));
  std::ofstream list(Path("labels.txt"));
  list << "# path label\n";
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 4; ++i) {
      const std::string from = root + "/val/class" + std::to_string(k) + "/" + std::to_string(i) + (i % 4 == 3 ? ".png" : ".JPEG");
      const std::string name = "v" + std::to_string(k) + "_" + std::to_string(i) + (i % 4 == 3 ? ".png" : ".JPEG");
      fs::copy_file(from, Path("flat/" + name));
      list << name << " " << k << "\n";
    }
  list.close();
  const std::string extra = R"(, "val_list": ")" + Path("labels.txt") + R"(")";
  const RunResult flat = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 2, extra) + " --test-data " + Path("flat") +
                                   " --out " + Path("flat_run") + " --threads 1");
  ASSERT_EQ(flat.exit_code, 0) << flat.output;
  const RunResult folders = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 2) + " --out " + Path("folder_run") + " --threads 1");
  ASSERT_EQ(folders.exit_code, 0) << folders.output;
  // The same images and labels in another layout: the same test accuracy after every epoch.
  const std::vector<nlohmann::json> a = Log(Path("flat_run")), b = Log(Path("folder_run"));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t e = 0; e < 2; ++e) EXPECT_EQ(a[e]["test_accuracy"], b[e]["test_accuracy"]) << e;
  ExpectInputError(RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 1, R"(, "val_list": "")") + " --out " + Path("bad")),
                   {"image_folder.val_list"});
}

TEST_F(ImageFolderCliTest, ImageNetStemResNet18Trains) {
  const std::string root = MakeFolder("set");
  const RunResult r = RunCimsim("train --config " +
                                TrainConfig(root, R"({"arch": "resnet", "depth": 18, "stem": "imagenet", "num_classes": 4})", 2) +
                                " --out " + Path("r18") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resnet18 (ImageNet stem, shortcut B, 4 classes)"), std::string::npos) << r.output;
  const H5File f = H5File::OpenRead(Path("r18/model.h5"));
  EXPECT_EQ(f.ReadStringAttribute("/", "stem"), "imagenet");
  EXPECT_TRUE(f.Exists("/params/layer2.0.downsample.0.weight"));
  EXPECT_EQ(Log(Path("r18")).size(), 2u);
}

TEST_F(ImageFolderCliTest, BadFilesStopTheRunOrAreSkippedAndCounted) {
  const std::string root = MakeFolder("set");
  std::ofstream(root + "/train/class1/empty.jpg").close();                                   // zero bytes
  std::ofstream(root + "/train/class2/notes.png") << "not a PNG at all";                    // not an image
  {
    std::ifstream good(root + "/train/class3/0.JPEG", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(good)), {});
    std::ofstream(root + "/train/class3/cut.jpeg", std::ios::binary) << bytes.substr(0, bytes.size() / 3);  // truncated
  }
  std::ofstream(root + "/train/class0/readme.txt") << "ignored: not an image by name";

  const RunResult stopped = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 1) + " --out " + Path("err"));
  EXPECT_EQ(stopped.exit_code, 2) << stopped.output;
  EXPECT_TRUE(stopped.output.find("empty.jpg") != std::string::npos || stopped.output.find("notes.png") != std::string::npos ||
              stopped.output.find("cut.jpeg") != std::string::npos)
      << stopped.output;
  EXPECT_FALSE(fs::exists(Path("err/checkpoint.h5")));

  const RunResult skipped = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 1, R"(, "bad_images": "skip")") +
                                      " --out " + Path("skip"));
  ASSERT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("35 training images"), std::string::npos) << skipped.output;   // 32 + 3 named like images
  EXPECT_NE(skipped.output.find("3 unreadable training images skipped"), std::string::npos) << skipped.output;
}

TEST_F(ImageFolderCliTest, BadImageFolderSettingsExit2NamingTheKey) {
  const std::string root = MakeFolder("set");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(, "bad_images": "ignore")", "image_folder.bad_images"},
      {R"(, "decode_threads": 0)", "image_folder.decode_threads"},
      {R"(, "scale": [0.5])", "image_folder.scale"},
      {R"(, "colour": true)", "image_folder.colour"},
  };
  for (const auto& [extra, key] : cases) {
    const RunResult r = RunCimsim("train --config " + TrainConfig(root, kTinyVgg, 1, extra) + " --out " + Path("bad"));
    ExpectInputError(r, {key});
  }
  // A model with fewer classes than the folder.
  const RunResult few = RunCimsim(
      "train --config " + TrainConfig(root, R"({"arch": "vgg", "vgg_config": "8,M", "num_classes": 3})", 1) + " --out " + Path("few"));
  ExpectInputError(few, {"3 classes", "label 3"});
}

}  // namespace
}  // namespace cimsim
