// cimsim train and cimsim qat from the command line: a short from-scratch run lowers the loss;
// SIGTERM + --resume ends with exactly the weights of an uninterrupted run; bad configs exit 2 naming
// the key and leave what was written intact; a QAT run exports a model the integer engine runs with
// the QAT network's predictions; a hardware-aware epoch at strength factor 0 is a plain epoch;
// distillation from a teacher changes the weights, gives the same weights for 1 and 2 threads, and its
// settings are part of what a resume must match.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"
#include "data/cifar10.h"

namespace cimsim {
namespace {

class TrainCliTest : public CliTest {
 protected:
  std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<double> Losses(const std::string& dir) {
    std::vector<double> out;
    std::ifstream in(dir + "/log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"loss\":");
      out.push_back(std::stod(line.substr(at + 7)));
    }
    return out;
  }
  // log.csv of a run: its header, and the same epochs as log.jsonl (experiments/training_log.h).
  void ExpectCsvMatchesLog(const std::string& dir) {
    std::ifstream in(dir + "/log.csv");
    std::string line;
    ASSERT_TRUE(std::getline(in, line)) << dir;
    EXPECT_EQ(line, "epoch,loss,train_accuracy,test_accuracy,lr,seconds,images_per_s");
    std::vector<double> loss;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string epoch, value;
      std::getline(fields, epoch, ',');
      EXPECT_EQ(epoch, std::to_string(loss.size() + 1)) << line;
      std::getline(fields, value, ',');
      loss.push_back(std::stod(value));
    }
    EXPECT_EQ(loss, Losses(dir)) << Read(dir + "/log.csv");
  }
  // A from-scratch ResNet-8 config on `images` synthetic training images.
  std::string TrainConfig(const std::string& name, const std::string& data, int epochs, const std::string& extra = "") {
    return Config(name, R"({"model": {"arch": "resnet", "depth": 8}, "data": ")" + data +
                            R"(", "epochs": )" + std::to_string(epochs) +
                            R"(, "batch_size": 16, "test_images": 20, "optimizer": {"lr": 0.05}, "schedule": {"kind": "cosine"})" +
                            extra + "}");
  }
  // Starts `cimsim args` (its --out is `dir`, its output in dir.log), sends SIGTERM once the first
  // checkpoint exists, and expects the run to stop with exit code 143.
  void StopAtFirstCheckpoint(const std::vector<std::string>& args, const std::string& dir) {
    const pid_t pid = SpawnCimsim(args, Path(dir + ".log"));
    const std::string checkpoint = Path(dir + "/checkpoint.h5");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!fs::exists(checkpoint) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(fs::exists(checkpoint));
    kill(pid, SIGTERM);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << Read(Path(dir + ".log"));
    ASSERT_EQ(WEXITSTATUS(status), 143) << Read(Path(dir + ".log"));
  }
  // Every /params dataset of two model files, compared bit for bit.
  void ExpectSameParams(const std::string& a, const std::string& b) {
    const H5File fa = H5File::OpenRead(a), fb = H5File::OpenRead(b);
    const std::vector<std::string> names = fa.ListDatasets("/params");
    ASSERT_EQ(names, fb.ListDatasets("/params"));
    ASSERT_FALSE(names.empty());
    for (const std::string& n : names) EXPECT_EQ(fa.ReadArray(n).values, fb.ReadArray(n).values) << n;
  }
};

TEST_F(TrainCliTest, FromScratchTheLossFalls) {
  const std::string data = WriteData("train.bin", 160);
  const RunResult r = RunCimsim("train --config " + TrainConfig("t.json", data, 4) + " --out " + Path("run") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<double> loss = Losses(Path("run"));
  ASSERT_EQ(loss.size(), 4u) << Read(Path("run/log.jsonl"));
  EXPECT_LT(loss.back(), loss.front()) << Read(Path("run/log.jsonl"));
  ExpectCsvMatchesLog(Path("run"));
  EXPECT_TRUE(fs::exists(Path("run/model.h5")));
  // The final model is a float model cimsim eval reads.
  const RunResult e = RunCimsim("eval --model " + Path("run/model.h5") + " --data " + data + " --limit 20");
  EXPECT_EQ(e.exit_code, 0) << e.output;
}

// train_ranges trains on exactly those records: the same weights and log as a run on a file holding only them.
TEST_F(TrainCliTest, TrainRangesTrainAsAFileOfThoseRecordsWould) {
  const std::string data = WriteData("train.bin", 160);
  const std::string all = Read(data);
  ASSERT_EQ(all.size(), 160u * kCifarRecordBytes);
  const std::string part_path = Path("part.bin");
  {
    std::ofstream part(part_path, std::ios::binary);
    part << all.substr(0, 40 * kCifarRecordBytes) << all.substr(100 * kCifarRecordBytes, 40 * kCifarRecordBytes);
  }
  const std::string test = R"(, "test_data": ")" + data + R"(")";
  const RunResult ranged = RunCimsim(
      "train --config " + TrainConfig("r.json", data, 2, test + R"(, "train_ranges": [[0, 40], [100, 140]])") + " --out " +
      Path("ranged") + " --threads 2");
  ASSERT_EQ(ranged.exit_code, 0) << ranged.output;
  const RunResult file = RunCimsim("train --config " + TrainConfig("f.json", part_path, 2, test) + " --out " + Path("file") +
                                   " --threads 1");
  ASSERT_EQ(file.exit_code, 0) << file.output;
  ExpectSameParams(Path("ranged/model.h5"), Path("file/model.h5"));
  EXPECT_EQ(Losses(Path("ranged")), Losses(Path("file")));
  // The ranges are part of the resume check.
  ExpectInputError(RunCimsim("train --config " + TrainConfig("r2.json", data, 2, test + R"(, "train_ranges": [[0, 80]])") +
                             " --out " + Path("ranged") + " --resume"),
                   {"train_ranges"});
}

// train_repeat without augmentation trains as a file holding the records and, after them, the copies would:
// the same weights and log.
TEST_F(TrainCliTest, TrainRepeatTrainsAsAFileWithTheCopiesAppendedWould) {
  const std::string data = WriteData("train.bin", 160);
  const std::string all = Read(data);
  const std::string copied_path = Path("copied.bin");
  {
    std::ofstream copied(copied_path, std::ios::binary);
    copied << all << all.substr(0, 40 * kCifarRecordBytes) << all.substr(100 * kCifarRecordBytes, 40 * kCifarRecordBytes);
  }
  const std::string test = R"(, "augment": false, "test_data": ")" + data + R"(")";
  const RunResult repeated = RunCimsim(
      "train --config " + TrainConfig("r.json", data, 2, test + R"(, "train_repeat": {"ranges": [[0, 40], [100, 140]], "times": 2})") +
      " --out " + Path("repeated") + " --threads 2");
  ASSERT_EQ(repeated.exit_code, 0) << repeated.output;
  const RunResult file = RunCimsim("train --config " + TrainConfig("f.json", copied_path, 2, test) + " --out " + Path("file") +
                                   " --threads 1");
  ASSERT_EQ(file.exit_code, 0) << file.output;
  ExpectSameParams(Path("repeated/model.h5"), Path("file/model.h5"));
  EXPECT_EQ(Losses(Path("repeated")), Losses(Path("file")));
  // The repeat is part of the resume check.
  ExpectInputError(RunCimsim("train --config " +
                             TrainConfig("r2.json", data, 2, test + R"(, "train_repeat": {"ranges": [[0, 40], [100, 140]], "times": 3})") +
                             " --out " + Path("repeated") + " --resume"),
                   {"train_repeat"});
}

TEST_F(TrainCliTest, SigtermThenResumeGivesTheWeightsOfAnUninterruptedRun) {
  const std::string data = WriteData("train.bin", 320);
  const std::string config = TrainConfig("t.json", data, 3);
  const RunResult whole = RunCimsim("train --config " + config + " --out " + Path("whole") + " --threads 2");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  ASSERT_NO_FATAL_FAILURE(StopAtFirstCheckpoint({"train", "--config", config, "--out", Path("cut"), "--threads", "1"}, "cut"));
  EXPECT_NE(Read(Path("cut.log")).find("--resume"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("cut/model.h5")));
  // Without --resume the directory is refused (its checkpoint kept); with it the run completes,
  // on another thread count.
  ExpectInputError(RunCimsim("train --config " + config + " --out " + Path("cut")), {"--resume"});
  const RunResult resumed = RunCimsim("train --config " + config + " --out " + Path("cut") + " --resume --threads 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  ExpectSameParams(Path("whole/model.h5"), Path("cut/model.h5"));
  EXPECT_EQ(Losses(Path("whole")), Losses(Path("cut")));
  ExpectCsvMatchesLog(Path("cut"));  // truncated to the checkpoint, then appended: 3 epochs, as log.jsonl
  EXPECT_EQ(Losses(Path("cut")).size(), 3u);
}

// One live run per output directory: while a run trains, a second into the same --out is refused naming
// the first's pid, and nothing it would write appears; after the first is killed (SIGKILL: no cleanup),
// the directory is free again and --resume continues it.
TEST_F(TrainCliTest, ASecondRunIntoALiveRunsDirectoryIsRefused) {
  const std::string data = WriteData("train.bin", 320);
  const std::string config = TrainConfig("t.json", data, 50);
  const pid_t pid = SpawnCimsim({"train", "--config", config, "--out", Path("live"), "--threads", "1"}, Path("live.log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!fs::exists(Path("live/checkpoint.h5")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(fs::exists(Path("live/checkpoint.h5")));
  const RunResult second = RunCimsim("train --config " + config + " --out " + Path("live") + " --resume --threads 1");
  ExpectInputError(second, {"--out", "in use by another cimsim run", "pid " + std::to_string(pid)});
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const RunResult resumed = RunCimsim("train --config " + config + " --out " + Path("live") + " --resume --epochs 2 --threads 2");
  // --epochs changes the config: refused by the resume check, no longer by the lock.
  ExpectInputError(resumed, {"epochs"});
  EXPECT_EQ(resumed.output.find("in use"), std::string::npos) << resumed.output;
}

TEST_F(TrainCliTest, BadConfigsExitTwoNamingTheKey) {
  const std::string data = WriteData("train.bin", 40);
  // The base config with `extra`'s keys merged in (RFC 7386: an object's keys replace the base's).
  auto bad = [&](const std::string& extra, const std::vector<std::string>& fragments) {
    SCOPED_TRACE(extra);
    nlohmann::json j = nlohmann::json::parse(Read(TrainConfig("base.json", data, 1)));
    j.merge_patch(nlohmann::json::parse("{" + extra.substr(1) + "}"));
    ExpectInputError(RunCimsim("train --config " + Config("bad.json", j.dump()) + " --out " + Path("bad")), fragments);
    EXPECT_FALSE(fs::exists(Path("bad/checkpoint.h5")));
  };
  bad(R"(, "optimizer": {"lr": -0.1})", {"optimizer.lr", "-0.1"});
  bad(R"(, "batch_size": 0)", {"batch_size", "0"});
  bad(R"(, "schedule": {"kind": "exponential"})", {"schedule.kind", "exponential", "cosine"});
  bad(R"(, "optimizer": {"momentum": 1.5})", {"optimizer.momentum"});
  bad(R"(, "epochs": 0)", {"epochs"});
  bad(R"(, "train_images": 15)", {"train_images"});
  bad(R"(, "train_ranges": [[5, 3]])", {"train_ranges[0]", "[5, 3]", "begin < end"});
  bad(R"(, "train_ranges": [[0, 10], [5, 20]])", {"train_ranges[1]", "overlaps"});
  bad(R"(, "train_ranges": [[0, 50]])", {"train_ranges[0]", "[0, 50]", "beyond the 40 records"});
  bad(R"(, "train_ranges": [[0, 10, 20]])", {"train_ranges[0]", "[begin, end]"});
  bad(R"(, "train_ranges": [[0, 20]], "train_images": 30)", {"train_images", "30", "20 records of train_ranges"});
  bad(R"(, "train_repeat": {"ranges": [[0, 10]], "times": 0})", {"train_repeat.times", "0", "1..100"});
  bad(R"(, "train_repeat": {"ranges": [[0, 10]]})", {"train_repeat.times", "required"});
  bad(R"(, "train_repeat": {"ranges": [[0, 50]], "times": 2})", {"train_repeat.ranges[0]", "[0, 50]", "beyond the 40 records"});
  bad(R"(, "train_repeat": {"ranges": [[0, 10]], "times": 2}, "train_ranges": [[0, 20]])", {"train_repeat", "train_ranges"});
  bad(R"(, "train_repeat": {"ranges": [[0, 10]], "times": 2, "weight": 1})", {"train_repeat", "weight", "unknown key"});
  bad(R"(, "learning_rate": 0.1)", {"learning_rate", "unknown key"});
  // A key given twice (JSON would keep the last one silently), and a number beyond a double.
  ExpectInputError(RunCimsim("train --config " + TrainConfig("dup.json", data, 1, R"(, "epochs": 2)") + " --out " + Path("bad")),
                   {"dup.json", "epochs", "duplicate key"});
  ExpectInputError(RunCimsim("train --config " + TrainConfig("big.json", data, 1, R"(, "seed": 1e999)") + " --out " + Path("bad")),
                   {"big.json", "not valid JSON", "1e999"});
  ExpectInputError(RunCimsim("train --config " + TrainConfig("t.json", data, 1) + " --out " + Path("bad") + " --lr -1"),
                   {"optimizer.lr"});
  ExpectInputError(RunCimsim("qat --model " + WriteModel() + " --w-bits 9 --a-bits 4 --data " + data + " --out " + Path("bad")),
                   {"--w-bits", "9", "2..8"});
  ExpectInputError(RunCimsim("qat --model " + WriteModel() + " --w-bits 4 --a-bits 4 --method xnor --data " + data +
                             " --out " + Path("bad")),
                   {"--method", "xnor"});
  ExpectInputError(RunCimsim("qat --model " + WriteModel() + " --w-bits 4 --a-bits 4 --batch-norm frozen --data " + data +
                             " --out " + Path("bad")),
                   {"--batch-norm", "frozen", "folded, train"});
  ExpectInputError(RunCimsim("qat --config " +
                             Config("bn.json", R"({"model": {"init": ")" + WriteModel() + R"("}, "data": ")" + data +
                                                   R"(", "batch_norm": "running", "quant": {"default": {"weight_bits": 4}}})") +
                             " --out " + Path("bad")),
                   {"batch_norm", "running", "folded, train"});
  // Hardware-aware training settings.
  const std::string chip = Config("chip.json", R"({"device": {"preset": "pcm"}, "crossbar": {"slice_bits": 1}})");
  auto bad_hw = [&](const std::string& hw, const std::vector<std::string>& fragments) {
    SCOPED_TRACE(hw);
    ExpectInputError(RunCimsim("qat --config " +
                               Config("hw.json", R"({"model": {"init": ")" + WriteModel() + R"("}, "data": ")" + data +
                                                     R"(", "quant": {"default": {"weight_bits": 4}}, "hardware_aware": )" + hw + "}") +
                               " --out " + Path("bad")),
                     fragments);
    EXPECT_FALSE(fs::exists(Path("bad/checkpoint.h5")));
  };
  bad_hw(R"({"xbar": ")" + chip + R"(", "layers": ["conv1", "layer9.conv"]})", {"hardware_aware.layers[1]", "layer9.conv", "not a conv/linear"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "layers": ["conv1"], "layer_strength": {"linear": 0.5}})",
         {"hardware_aware.layer_strength.linear", "digital layer"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "strength": -1})", {"hardware_aware.strength", "-1"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "epoch_strength": [1, -0.5]})", {"hardware_aware.epoch_strength[1]", "-0.5", ">= 0"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "epoch_strength": []})", {"hardware_aware.epoch_strength", "non-empty array"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "epoch_strength": 0.5})", {"hardware_aware.epoch_strength", "0.5", "non-empty array"});
  bad_hw(R"({"layers": "all"})", {"hardware_aware.xbar", "required"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "noise": 1})", {"hardware_aware.noise", "unknown key"});
  bad_hw(R"({"xbar": {"device": {"preset": "flash"}}})", {"hardware_aware.xbar", "device.preset", "flash"});
  const std::string late = Config("late.json", R"({"device": {"preset": "pcm"}, "crossbar": {"read_time": 3600}})");
  bad_hw(R"({"xbar": ")" + late + R"(", "read_times": {"min": 60, "max": 1e7}})", {"hardware_aware.read_times.min", "60", "3600"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": {"min": -1, "max": 1e7}})", {"hardware_aware.read_times.min", "-1", "> 0"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": {"min": 3600, "max": 60}})", {"hardware_aware.read_times.max", "60", ">= read_times.min"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": {"max": 60}})", {"hardware_aware.read_times.min", "required"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": {"min": 1, "max": 60, "compensation": "reprogram"}})",
         {"hardware_aware.read_times.compensation", "reprogram", "global, per_column"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": {"min": 1, "max": 60, "at": 5}})", {"hardware_aware.read_times.at", "unknown key"});
  bad_hw(R"({"xbar": ")" + chip + R"(", "read_times": [1, 60]})", {"hardware_aware.read_times"});

  const std::string teacher = WriteModel();
  bad(R"(, "distill": {"temperature": 2})", {"distill.teacher", "required when training from scratch"});
  bad(R"(, "distill": {"teacher": ")" + teacher + R"(", "weight": 1.5})", {"distill.weight: 1.5", "0..1"});
  bad(R"(, "distill": {"teacher": ")" + teacher + R"(", "temperature": 0})", {"distill.temperature: 0", "> 0"});
  bad(R"(, "distill": {"teacher": ")" + teacher + R"(", "alpha": 0.5})", {"distill.alpha", "unknown key"});
  // The from-scratch student normalises its input with the default statistics, the teacher file with others.
  bad(R"(, "distill": {"teacher": ")" + teacher + R"("})", {"distill.teacher", teacher, "input normalisation"});

  // A resume with another config, or of another architecture, names the difference and keeps the
  // checkpoint as it was.
  const std::string good = TrainConfig("good.json", data, 2);
  ASSERT_EQ(RunCimsim("train --config " + good + " --out " + Path("run") + " --epochs 1").exit_code, 0);
  const std::string before = Read(Path("run/checkpoint.h5"));
  ExpectInputError(RunCimsim("train --config " + good + " --out " + Path("run") + " --resume --epochs 1 --lr 0.2"),
                   {"optimizer.lr", "differs"});
  ExpectInputError(RunCimsim("train --config " +
                             Config("other.json", R"({"model": {"arch": "resnet", "depth": 14}, "data": ")" + data +
                                                      R"(", "epochs": 1, "batch_size": 16, "optimizer": {"lr": 0.05}, "schedule": {"kind": "cosine"}})") +
                             " --out " + Path("run") + " --resume --epochs 1"),
                   {"model.depth", "differs"});
  EXPECT_EQ(before, Read(Path("run/checkpoint.h5")));
}

TEST_F(TrainCliTest, QatExportRunsOnTheIntegerEngineWithTheSamePredictions) {
  const std::string data = WriteData("train.bin", 100), model = WriteModel();
  const RunResult r = RunCimsim("qat --model " + model + " --w-bits 3 --a-bits 3 --method lsq --epochs 1 --batch-size 20 --data " +
                                data + " --out " + Path("qat") + " --threads 2",
                                "env -u CIMSIM_DATA ");
  ASSERT_EQ(r.exit_code, 2) << r.output;  // the plan's 500 calibration images exceed the 100 here
  EXPECT_NE(r.output.find("calibration"), std::string::npos) << r.output;
  const std::string config = Config("qat.json", R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
                                                    R"(", "epochs": 1, "batch_size": 20, "quant": {"default": {"weight_bits": 3, "activation_bits": 3,
                                                    "mode": "qat"}, "layers": [{"match": "conv1", "weight_bits": 8, "activation_bits": 8, "mode": "ptq"},
                                                    {"match": "layer1.0.conv*", "qat_method": "dsq"}], "calibration": {"images": 50}}})");
  const RunResult q = RunCimsim("qat --config " + config + " --out " + Path("qat2") + " --threads 2");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find(" 0 prediction mismatches"), std::string::npos) << q.output;
  const RunResult check = RunCimsim("infer --qmodel " + Path("qat2/model_q.h5") + " --data " + data + " --check");
  ASSERT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("reference logits differ on 0, fake-quantized float64 predicts differently on 0"),
            std::string::npos)
      << check.output;
  // BatchNorm kept in training mode: the export folds it exactly, too.
  const RunResult bn = RunCimsim("qat --config " + config + " --batch-norm train --out " + Path("qat3") + " --threads 2");
  ASSERT_EQ(bn.exit_code, 0) << bn.output;
  EXPECT_NE(bn.output.find(" 0 prediction mismatches"), std::string::npos) << bn.output;
  EXPECT_NE(Read(Path("qat3/log.jsonl")).find("\"epoch\":1"), std::string::npos);
}

// BatchNorm kept: recalibration after the last epoch is reported and exported exactly; a finished run
// resumes with another image count (a post-training step); too few images, or no BatchNorm to
// recalibrate, exit 2 before any training. The latent float model starts a second QAT run at 2 bits.
TEST_F(TrainCliTest, QatRecalibratesBatchNormAndItsLatentFloatModelStartsAnotherRun) {
  const std::string data = WriteData("train.bin", 100), model = WriteModel();
  auto config = [&](const std::string& name, const std::string& extra, int bits = 3) {
    const std::string b = std::to_string(bits);
    return Config(name, R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
                            R"(", "epochs": 1, "batch_size": 20, "test_images": 20, "batch_norm": "train",
                            "quant": {"default": {"weight_bits": )" + b + R"(, "activation_bits": )" + b + R"(, "mode": "qat"},
                            "calibration": {"images": 30}})" + extra + "}");
  };
  const RunResult r = RunCimsim("qat --config " + config("a.json", R"(, "bn_recalibration_images": 40)") + " --out " + Path("a") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
  EXPECT_NE(Read(Path("a/qat_summary.json")).find(R"("images": 40)"), std::string::npos) << Read(Path("a/qat_summary.json"));
  const RunResult again = RunCimsim("qat --config " + config("b.json", R"(, "bn_recalibration_images": 20)") + " --out " + Path("a") +
                                    " --threads 2 --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(Read(Path("a/qat_summary.json")).find(R"("images": 20)"), std::string::npos);
  EXPECT_NE(again.output.find(" 0 prediction mismatches"), std::string::npos) << again.output;
  ASSERT_EQ(RunCimsim("eval --model " + Path("a/model_float.h5") + " --data " + data).exit_code, 0);
  const RunResult next = RunCimsim("qat --config " + config("c.json", R"(, "bn_recalibration_images": 40)", 2) + " --model " +
                                   Path("a/model_float.h5") + " --out " + Path("c") + " --threads 2");
  ASSERT_EQ(next.exit_code, 0) << next.output;
  EXPECT_NE(next.output.find(" 0 prediction mismatches"), std::string::npos) << next.output;
  ExpectInputError(RunCimsim("qat --config " + config("d.json", R"(, "bn_recalibration_images": 10)") + " --out " + Path("d")),
                   {"bn_recalibration_images", "10", "batch_size 20"});
  ExpectInputError(RunCimsim("qat --config " + config("e.json", R"(, "bn_recalibration_images": 40)") + " --batch-norm folded --out " +
                             Path("e")),
                   {"bn_recalibration_images", "no BatchNorm"});
  EXPECT_FALSE(std::filesystem::exists(Path("e/log.jsonl")));
}

// bn_recalibration_ranges: recalibrating on records [0, 40) of a run that trains on train_ranges
// [[0, 40]] draws what recalibrating on its training batches draws (the same records, shuffle and
// augmentation: the same exported model), other records give another model, and a finished run
// resumes with the ranges (a post-training step). Ranges without recalibration, or outside the file,
// exit 2 naming the key.
TEST_F(TrainCliTest, BatchNormRecalibrationDrawsFromTheGivenRecords) {
  const std::string data = WriteData("train.bin", 100), model = WriteModel();
  auto config = [&](const std::string& name, const std::string& extra) {
    return Config(name, R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
                            R"(", "train_ranges": [[0, 40]], "epochs": 1, "batch_size": 20, "test_images": 20, "batch_norm": "train",
                            "quant": {"default": {"weight_bits": 3, "activation_bits": 3, "mode": "qat"},
                            "calibration": {"images": 30}})" + extra + "}");
  };
  auto run = [&](const std::string& name, const std::string& extra, const std::string& more = "") {
    const RunResult r = RunCimsim("qat --config " + config(name + ".json", extra) + " --out " + Path(name) + " --threads 2" + more);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
    return Path(name + "/model_q.h5");
  };
  const std::string own = run("own", R"(, "bn_recalibration_images": 40)");
  const std::string same = run("same", R"(, "bn_recalibration_images": 40, "bn_recalibration_ranges": [[0, 40]])");
  const std::string other = run("other", R"(, "bn_recalibration_images": 40, "bn_recalibration_ranges": [[40, 100]])");
  EXPECT_EQ(std::system(("h5diff -q " + own + " " + same + " /nodes /nodes").c_str()), 0);
  EXPECT_NE(std::system(("h5diff -q " + own + " " + other + " /nodes /nodes > /dev/null").c_str()), 0);
  // A finished run resumed with other ranges recalibrates again, from the same trained weights.
  const std::string resumed = run("other", R"(, "bn_recalibration_images": 40, "bn_recalibration_ranges": [[0, 40]])", " --resume");
  EXPECT_EQ(std::system(("h5diff -q " + own + " " + resumed + " /nodes /nodes").c_str()), 0);
  ExpectInputError(RunCimsim("qat --config " + config("n.json", R"(, "bn_recalibration_ranges": [[0, 40]])") + " --out " + Path("n")),
                   {"bn_recalibration_ranges", "bn_recalibration_images is 0"});
  ExpectInputError(RunCimsim("qat --config " + config("f.json", R"(, "bn_recalibration_images": 40, "bn_recalibration_ranges": [[50, 140]])") +
                             " --out " + Path("f")),
                   {"bn_recalibration_ranges"});
  ExpectInputError(RunCimsim("qat --config " + config("g.json", R"(, "bn_recalibration_images": 40, "bn_recalibration_ranges": [])") +
                             " --out " + Path("g")),
                   {"bn_recalibration_ranges", "not a non-empty array"});
}

// Fine-tuning with distillation from a teacher (here the starting model itself): the run ends with
// other weights than plain fine-tuning, with the same weights on 1 and 2 threads, and a resume with
// another temperature is refused naming distill.temperature.
TEST_F(TrainCliTest, DistillationChangesTheWeightsReproduciblyAndIsPartOfTheResumeCheck) {
  const std::string data = WriteData("train.bin", 60), model = WriteModel();
  auto config = [&](const std::string& name, const std::string& extra) {
    return Config(name, R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
                            R"(", "epochs": 1, "batch_size": 20, "test_images": 20, "optimizer": {"lr": 0.05})" + extra + "}");
  };
  // No teacher named: the model being fine-tuned is the teacher.
  const std::string kd = config("kd.json", R"(, "distill": {"temperature": 2, "weight": 0.7})");
  for (const char* threads : {"1", "2"}) {
    const RunResult r = RunCimsim("train --config " + kd + " --out " + Path(std::string("kd") + threads) + " --threads " + threads);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  ExpectSameParams(Path("kd1/model.h5"), Path("kd2/model.h5"));
  ASSERT_EQ(RunCimsim("train --config " + config("plain.json", "") + " --out " + Path("plain")).exit_code, 0);
  EXPECT_NE(H5File::OpenRead(Path("kd1/model.h5")).ReadArray("/params/conv1.weight").values,
            H5File::OpenRead(Path("plain/model.h5")).ReadArray("/params/conv1.weight").values);
  const std::string other = config("kd4.json", R"(, "distill": {"teacher": ")" + model + R"(", "temperature": 4, "weight": 0.7})");
  ExpectInputError(RunCimsim("train --config " + other + " --out " + Path("kd1") + " --resume --epochs 2"),
                   {"distill.temperature", "differs"});
}

// A one-epoch QAT config (JSON text) from `model` on `data` with BatchNorm kept, every layer at `bits`
// with LSQ, 20-image batches, 30 calibration images, 20 test images, plus the keys in `extra`
// (", \"key\": value" or empty).
std::string KeptBatchNormQat(const std::string& model, const std::string& data, int bits, const std::string& extra) {
  const std::string b = std::to_string(bits);
  return R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
         R"(", "epochs": 1, "batch_size": 20, "test_images": 20, "batch_norm": "train", "quant": {"default": {"weight_bits": )" + b +
         R"(, "activation_bits": )" + b + R"(, "mode": "qat"}, "calibration": {"images": 30}})" + extra + "}";
}

// batch_norm_freeze_after: frozen from the start, a kept BatchNorm's running statistics leave the run
// as they came in (the QAT checkpoint's equal the input model's) while γ still trains; with batch
// statistics they move. The export stays exact. Without "batch_norm": "train", or with as many epochs
// as the freeze point, exit 2 naming the key.
TEST_F(TrainCliTest, FrozenBatchNormStatisticsStayAsTheyCameWhileGammaTrains) {
  const std::string data = WriteData("train.bin", 60), model = WriteModel();
  auto config = [&](const std::string& name, const std::string& extra) { return Config(name, KeptBatchNormQat(model, data, 4, extra)); };
  for (const char* name : {"frozen", "batch"}) {
    const std::string extra = std::string(name) == "frozen" ? R"(, "batch_norm_freeze_after": 0)" : "";
    const RunResult r = RunCimsim("qat --config " + config(std::string(name) + ".json", extra) + " --out " + Path(name) + " --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
  }
  const H5File in = H5File::OpenRead(model), frozen = H5File::OpenRead(Path("frozen/checkpoint.h5")),
               batch = H5File::OpenRead(Path("batch/checkpoint.h5"));
  for (const char* stat : {"running_mean", "running_var"}) {
    const std::vector<double> start = in.ReadArray(std::string("/params/layer1.0.bn1.") + stat).values;
    const std::string trained = std::string("/params/layer1.0.conv1.bn_") + stat;
    EXPECT_EQ(frozen.ReadArray(trained).values, start) << stat;
    EXPECT_NE(batch.ReadArray(trained).values, start) << stat;
  }
  EXPECT_NE(frozen.ReadArray("/params/layer1.0.conv1.bn_weight").values, in.ReadArray("/params/layer1.0.bn1.weight").values);
  ExpectInputError(RunCimsim("qat --config " + config("folded.json", R"(, "batch_norm_freeze_after": 0)") +
                             " --batch-norm folded --out " + Path("folded")),
                   {"batch_norm_freeze_after = 0", "batch_norm \"train\""});
  ExpectInputError(RunCimsim("qat --config " + config("late.json", R"(, "batch_norm_freeze_after": 1)") + " --out " + Path("late")),
                   {"batch_norm_freeze_after = 1", "out of range", "0..0"});
  ExpectInputError(RunCimsim("qat --config " + config("neg.json", R"(, "batch_norm_freeze_after": -1)") + " --out " + Path("neg")),
                   {"batch_norm_freeze_after", "-1"});
}

// oscillation_dampening: at weight 0 the run trains exactly the weights of a run without the key; at
// weight 1 other latent weights (the export still exact); bad settings exit 2 naming the key, and a
// resume with another weight names the key that differs.
TEST_F(TrainCliTest, OscillationDampeningAtWeightZeroTrainsAsWithoutIt) {
  const std::string data = WriteData("train.bin", 60), model = WriteModel();
  auto config = [&](const std::string& name, const std::string& extra) { return Config(name, KeptBatchNormQat(model, data, 2, extra)); };
  const std::pair<const char*, const char*> runs[] = {{"plain", ""},
                                                      {"zero", R"(, "oscillation_dampening": {"weight": 0})"},
                                                      {"damped", R"(, "oscillation_dampening": {"weight": 1, "start_weight": 0.5})"}};
  for (const auto& [name, extra] : runs) {
    const RunResult r = RunCimsim("qat --config " + config(std::string(name) + ".json", extra) + " --out " + Path(name));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
  }
  const std::string w = "/params/layer1.0.conv1.weight";
  const H5File plain = H5File::OpenRead(Path("plain/checkpoint.h5")), zero = H5File::OpenRead(Path("zero/checkpoint.h5")),
               damped = H5File::OpenRead(Path("damped/checkpoint.h5"));
  EXPECT_EQ(zero.ReadArray(w).values, plain.ReadArray(w).values);
  EXPECT_NE(damped.ReadArray(w).values, plain.ReadArray(w).values);
  ExpectInputError(RunCimsim("qat --config " + config("neg.json", R"(, "oscillation_dampening": {"weight": -0.1})") + " --out " + Path("neg")),
                   {"oscillation_dampening.weight", "-0.1", ">= 0"});
  ExpectInputError(RunCimsim("qat --config " + config("none.json", R"(, "oscillation_dampening": {"start_weight": 0.1})") + " --out " + Path("none")),
                   {"oscillation_dampening.weight", "required"});
  ExpectInputError(RunCimsim("qat --config " + config("key.json", R"(, "oscillation_dampening": {"weight": 1, "lambda": 2})") + " --out " + Path("key")),
                   {"oscillation_dampening.lambda", "unknown key"});
  ExpectInputError(RunCimsim("qat --config " + config("str.json", R"(, "oscillation_dampening": "strong")") + " --out " + Path("str")),
                   {"oscillation_dampening"});
  ExpectInputError(RunCimsim("qat --config " + config("other.json", R"(, "oscillation_dampening": {"weight": 2})") + " --out " +
                             Path("damped") + " --resume"),
                   {"oscillation_dampening", "differs"});
}

// weight_freezing: a 2-bit run at a high learning rate freezes oscillating weights (counted in every log
// line), its export runs on the integer engine with 0 mismatches and deploys each frozen weight's frozen
// code (up to the BatchNorm fold's sign) and its latent float model the value of that code, and SIGTERM + --resume gives the parameters and tracker state
// of an uninterrupted run; bad settings exit 2 naming the key.
TEST_F(TrainCliTest, WeightFreezingFreezesDeploysTheFrozenCodesAndResumes) {
  const std::string data = WriteData("train.bin", 400), model = WriteModel();
  const std::string config = Config("f.json", KeptBatchNormQat(model, data, 2, R"(, "optimizer": {"lr": 0.2},
      "weight_freezing": {"threshold": 0.2, "momentum": 0.5})"));
  const RunResult whole = RunCimsim("qat --config " + config + " --epochs 3 --out " + Path("whole") + " --threads 2");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  EXPECT_NE(whole.output.find(" 0 prediction mismatches"), std::string::npos) << whole.output;
  std::ifstream log(Path("whole/log.jsonl"));
  std::string line;
  int64_t frozen = -1, tracked = -1;
  while (std::getline(log, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("frozen_weights") && j.contains("tracked_weights")) << line;
    EXPECT_GE(j["frozen_weights"].get<int64_t>(), frozen) << line;  // frozen weights stay frozen
    frozen = j["frozen_weights"].get<int64_t>();
    tracked = j["tracked_weights"].get<int64_t>();
  }
  EXPECT_GT(frozen, 0);
  EXPECT_LT(frozen, tracked);

  // The deployed codes of layer1.0.conv1 (node group found by name) against the checkpoint's tracker.
  const H5File ckpt = H5File::OpenRead(Path("whole/checkpoint.h5")), q = H5File::OpenRead(Path("whole/model_q.h5"));
  const std::vector<double> is_frozen = ckpt.ReadArray("/params/layer1.0.conv1.weight_osc_frozen").values;
  const std::vector<double> code = ckpt.ReadArray("/params/layer1.0.conv1.weight_osc_frozen_code").values;
  std::vector<double> deployed;
  for (int64_t i = 0; i < q.ReadIntAttribute("/", "node_count"); ++i) {
    char g[32];
    std::snprintf(g, sizeof g, "/nodes/%04lld", static_cast<long long>(i));
    if (q.ReadStringAttribute(g, "name") == "layer1.0.conv1") deployed = q.ReadArray(std::string(g) + "/weight").values;
  }
  ASSERT_EQ(deployed.size(), code.size());
  int64_t frozen_here = 0;
  for (size_t i = 0; i < code.size(); ++i)
    if (is_frozen[i] != 0) {
      EXPECT_EQ(std::abs(deployed[i]), std::abs(code[i])) << i;
      ++frozen_here;
    }
  EXPECT_GT(frozen_here, 0);
  // The latent float model holds each frozen weight at its frozen code's value: v / s = c.
  const std::vector<double> latent = H5File::OpenRead(Path("whole/model_float.h5")).ReadArray("/params/layer1.0.conv1.weight").values;
  const std::vector<double> step = ckpt.ReadArray("/params/layer1.0.conv1.weight_step").values;
  ASSERT_EQ(latent.size(), code.size());
  const size_t per_row = code.size() / step.size();
  for (size_t i = 0; i < code.size(); ++i) {
    if (is_frozen[i] != 0) {
      EXPECT_NEAR(latent[i] / step[i / per_row], code[i], 1e-4) << i;
    }
  }

  ASSERT_NO_FATAL_FAILURE(StopAtFirstCheckpoint({"qat", "--config", config, "--epochs", "3", "--out", Path("cut"), "--threads", "1"}, "cut"));
  const RunResult resumed = RunCimsim("qat --config " + config + " --epochs 3 --out " + Path("cut") + " --resume --threads 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  ExpectSameParams(Path("whole/checkpoint.h5"), Path("cut/checkpoint.h5"));  // weights, steps, BatchNorm, tracker state
  EXPECT_EQ(Losses(Path("whole")), Losses(Path("cut")));

  auto bad = [&](const std::string& name, const std::string& setting, std::initializer_list<std::string> parts) {
    ExpectInputError(RunCimsim("qat --config " + Config(name, KeptBatchNormQat(model, data, 2, ", \"weight_freezing\": " + setting)) +
                               " --out " + Path(name + ".out")),
                     parts);
  };
  bad("zero.json", R"({"threshold": 0})", {"weight_freezing.threshold", "0", "(0, 1]"});
  bad("big.json", R"({"threshold": 1.5})", {"weight_freezing.threshold", "1.5", "(0, 1]"});
  bad("start.json", R"({"threshold": 0.1, "start_threshold": -1})", {"weight_freezing.start_threshold", "-1", "> 0"});
  bad("mom.json", R"({"threshold": 0.1, "momentum": 2})", {"weight_freezing.momentum", "2", "(0, 1]"});
  bad("none.json", R"({"momentum": 0.1})", {"weight_freezing.threshold", "required"});
  bad("key.json", R"({"threshold": 0.1, "f_th": 2})", {"weight_freezing.f_th", "unknown key"});
  bad("str.json", R"("often")", {"weight_freezing"});
  ExpectInputError(RunCimsim("qat --config " + Config("other.json", KeptBatchNormQat(model, data, 2, R"(, "optimizer": {"lr": 0.2},
      "weight_freezing": {"threshold": 0.3, "momentum": 0.5})")) + " --epochs 3 --out " + Path("whole") + " --resume"),
                   {"weight_freezing", "differs"});
}

// "weight_grid": "full": a 2-bit LSQ run with BatchNorm kept exports codes in [−2, 1] (−2 used) with
// 0 prediction mismatches, `infer --check` agrees, and an ideal chip whose 12-bit ADC is exact gives
// the integer engine's accuracy (the layers take the 3-bit symmetric cells). The full grid on a
// post-training layer, or with oscillation dampening, exits 2 naming the keys.
TEST_F(TrainCliTest, FullWeightGridTrainsExportsAndRunsOnAChip) {
  const std::string data = WriteData("train.bin", 60), model = WriteModel();
  auto qat = [&](const std::string& rules, const std::string& extra) {
    return R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
           R"(", "epochs": 1, "batch_size": 20, "test_images": 20, "batch_norm": "train", "optimizer": {"lr": 0.2},
           "quant": {"default": {"weight_bits": 2, "activation_bits": 2, "mode": "qat", "weight_grid": "full"},
           "layers": [)" + rules + R"(], "calibration": {"images": 30}})" + extra + "}";
  };
  const std::string config = Config("full.json", qat("", ""));
  const RunResult r = RunCimsim("qat --config " + config + " --out " + Path("full") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(full weight grid)"), std::string::npos) << r.output;
  const std::string q = Path("full/model_q.h5");
  const H5File f = H5File::OpenRead(q);
  int64_t at_min = 0, mvm = 0;
  for (int64_t i = 0; i < f.ReadIntAttribute("/", "node_count"); ++i) {
    char g[32];
    std::snprintf(g, sizeof g, "/nodes/%04lld", static_cast<long long>(i));
    if (!f.HasAttribute(g, "weight_bits")) continue;
    ++mvm;
    EXPECT_EQ(f.ReadStringAttribute(g, "weight_grid"), "full") << g;
    for (double w : f.ReadArray(std::string(g) + "/weight").values) {
      EXPECT_GE(w, -2) << g;
      EXPECT_LE(w, 1) << g;
      at_min += w == -2;
    }
  }
  EXPECT_GT(mvm, 0);
  EXPECT_GT(at_min, 0);
  const RunResult check = RunCimsim("infer --qmodel " + q + " --data " + data + " --check --json " + Path("int.json"));
  ASSERT_EQ(check.exit_code, 0) << check.output;
  const double int_accuracy = nlohmann::json::parse(Read(Path("int.json")))["correct"].get<double>() / 60;
  const std::string run = Config("run.json", R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data + R"(", "count": 60},
      "xbar": {"device": {"preset": "ideal"}, "crossbar": {"rows_max": 64, "cols_max": 64, "slice_bits": 2, "adc": {"bits": 12}}}})");
  const RunResult e = RunCimsim("experiment --config " + run + " --out " + Path("chip"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const nlohmann::json summary = nlohmann::json::parse(Read(Path("chip/summary.json")));
  for (double a : summary["points"][0]["accuracy"].get<std::vector<double>>()) EXPECT_EQ(a, int_accuracy);

  ExpectInputError(RunCimsim("qat --config " + Config("ptq.json", qat(R"({"match": "conv1", "weight_bits": 8, "activation_bits": 8, "mode": "ptq"})", "")) +
                             " --out " + Path("ptq")),
                   {"conv1.weight_grid", "\"full\"", "quantized post-training", "allowed \"symmetric\""});
  ExpectInputError(RunCimsim("qat --config " + Config("damp.json", qat("", R"(, "oscillation_dampening": {"weight": 0.1})")) +
                             " --out " + Path("damp")),
                   {"oscillation_dampening", "weight_grid", "layer conv1"});
}

// Hardware-aware QAT with a strength schedule: epoch 1 at factor 0 is a noise-free epoch, so a one-epoch
// run exports the integer model of the same run without hardware_aware (h5diff of its nodes); a
// factor of 1 exports another model.
TEST_F(TrainCliTest, AnEpochAtStrengthFactorZeroTrainsAsWithoutHardwareNoise) {
  const std::string data = WriteData("train.bin", 60), model = WriteModel();
  const std::string chip = Config("chip.json", R"({"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "slice_bits": 2,
                                                   "read_noise": true, "read_time": 3600}})");
  auto run = [&](const std::string& name, const std::string& hw) {
    const std::string config = Config(name + ".json", R"({"model": {"init": ")" + model + R"("}, "data": ")" + data +
                                                          R"(", "epochs": 1, "batch_size": 20, "test_images": 20, "batch_norm": "train",
                                                          "quant": {"default": {"weight_bits": 4, "activation_bits": 4, "mode": "qat"},
                                                          "calibration": {"images": 30}})" + hw + "}");
    const RunResult r = RunCimsim("qat --config " + config + " --out " + Path(name) + " --threads 2");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" 0 prediction mismatches"), std::string::npos) << r.output;
    return Path(name + "/model_q.h5");
  };
  const std::string plain = run("plain", "");
  const std::string off = run("off", R"(, "hardware_aware": {"xbar": ")" + chip + R"(", "epoch_strength": [0, 1]})");
  const std::string on = run("on", R"(, "hardware_aware": {"xbar": ")" + chip + R"(", "epoch_strength": [1, 0]})");
  EXPECT_EQ(std::system(("h5diff " + plain + " " + off + " /nodes /nodes").c_str()), 0);
  EXPECT_NE(std::system(("h5diff -q " + plain + " " + on + " /nodes /nodes").c_str()), 0);
}

// weight_average: the final model is the average the checkpoint keeps (not the last step's weights),
// the last step's weights are those of a run without averaging,
// the log adds the averaged network's accuracy from start_epoch on, SIGTERM + --resume ends with the
// weights of an uninterrupted run, a QAT run exports the averaged network exactly, bad settings exit 2
// naming the key, and a resume with another decay names the key that differs.
TEST_F(TrainCliTest, WeightAverageIsTheFinalModelAndResumesExactly) {
  const std::string data = WriteData("train.bin", 320);
  const std::string config = TrainConfig("avg.json", data, 3, R"(, "weight_average": {"decay": 0.6, "start_epoch": 0})");
  ASSERT_EQ(RunCimsim("train --config " + config + " --out " + Path("whole") + " --threads 2").exit_code, 0);
  const H5File checkpoint = H5File::OpenRead(Path("whole/checkpoint.h5")), final_model = H5File::OpenRead(Path("whole/model.h5"));
  const std::vector<std::string> averaged = checkpoint.ListDatasets("/weight_average");
  ASSERT_FALSE(averaged.empty());
  int moved = 0;
  for (const std::string& dataset : averaged) {
    const std::string name = dataset.substr(std::string("/weight_average/").size());
    EXPECT_EQ(final_model.ReadArray("/params/" + name).values, checkpoint.ReadArray(dataset).values) << name;
    moved += checkpoint.ReadArray("/params/" + name).values != checkpoint.ReadArray(dataset).values;
  }
  EXPECT_GT(moved, 0) << "the average equals the last step's weights: the test would not see a missing swap";
  // Averaging (and evaluating the average each epoch) leaves training alone: the last step's weights
  // are those of a run without the key.
  ASSERT_EQ(RunCimsim("train --config " + TrainConfig("plain.json", data, 3) + " --out " + Path("plain") + " --threads 2").exit_code, 0);
  ExpectSameParams(Path("whole/checkpoint.h5"), Path("plain/checkpoint.h5"));
  const std::string log = Read(Path("whole/log.jsonl"));
  size_t lines = 0, with_average = 0;
  for (size_t at = 0; (at = log.find('\n', at)) != std::string::npos; ++at) ++lines;
  for (size_t at = 0; (at = log.find("test_accuracy_averaged", at)) != std::string::npos; ++at) ++with_average;
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(with_average, 3u) << log;

  ASSERT_NO_FATAL_FAILURE(StopAtFirstCheckpoint({"train", "--config", config, "--out", Path("cut"), "--threads", "1"}, "cut"));
  ASSERT_EQ(RunCimsim("train --config " + config + " --out " + Path("cut") + " --resume --threads 2").exit_code, 0);
  ExpectSameParams(Path("whole/model.h5"), Path("cut/model.h5"));
  EXPECT_EQ(Losses(Path("whole")), Losses(Path("cut")));

  // Averaging from epoch 2 of 3: only the last line has the averaged accuracy.
  const std::string late = TrainConfig("late.json", data, 3, R"(, "weight_average": {"decay": 0.6, "start_epoch": 2})");
  ASSERT_EQ(RunCimsim("train --config " + late + " --out " + Path("late")).exit_code, 0);
  const std::string late_log = Read(Path("late/log.jsonl"));
  EXPECT_EQ(late_log.find("test_accuracy_averaged"), late_log.rfind("test_accuracy_averaged")) << late_log;
  EXPECT_GT(late_log.find("test_accuracy_averaged"), late_log.find("\"epoch\":3")) << late_log;

  ExpectInputError(RunCimsim("train --config " + TrainConfig("d1.json", data, 3, R"(, "weight_average": {"decay": 1})") +
                             " --out " + Path("d1")),
                   {"weight_average.decay", "(0, 1)"});
  ExpectInputError(RunCimsim("train --config " + TrainConfig("s3.json", data, 3, R"(, "weight_average": {"start_epoch": 3})") +
                             " --out " + Path("s3")),
                   {"weight_average.start_epoch", "0..2"});
  ExpectInputError(RunCimsim("train --config " + TrainConfig("k.json", data, 3, R"(, "weight_average": {"every": 2})") +
                             " --out " + Path("k")),
                   {"weight_average", "every"});
  const std::string other = TrainConfig("avg9.json", data, 3, R"(, "weight_average": {"decay": 0.9, "start_epoch": 0})");
  ExpectInputError(RunCimsim("train --config " + other + " --out " + Path("whole") + " --resume"), {"weight_average.decay", "differs"});

  const std::string model = WriteModel();
  const std::string qat = Config("qat.json", KeptBatchNormQat(model, WriteData("qat.bin", 60), 4,
                                                              R"(, "weight_average": {"decay": 0.5, "start_epoch": 0})"));
  const RunResult q = RunCimsim("qat --config " + qat + " --out " + Path("qat") + " --threads 2");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find(" 0 prediction mismatches"), std::string::npos) << q.output;
  EXPECT_NE(q.output.find("final model: the weight average"), std::string::npos) << q.output;
}

}  // namespace
}  // namespace cimsim
