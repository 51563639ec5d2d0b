// A generated corpus of bad inputs through every subcommand (docs/hardening.md): each case must
// exit 2 with exactly one "cimsim: error:" line that names the file, flag or key, within a time
// limit (no hang), with no sanitizer report, and leave every output file that existed before it
// byte-identical. The cases are made here, not committed: every file-taking flag × every kind of bad
// file (missing, empty path, directory, FIFO, endless device, empty, garbage, truncated, another kind
// of file); every output flag × every kind of bad destination; malformed JSON for every config kind;
// bad option values and stray arguments for every command.
#include <hdf5.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"

namespace cimsim {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct BadCase {
  std::string label;
  std::string args;                    // the cimsim command line
  std::vector<std::string> fragments;  // each must appear in the message
  std::string shell_prefix = {};       // run first in the shell, e.g. a file-size limit
};

class HostileInputCliTest : public CliTest {
 protected:
  void SetUp() override {
    model_ = WriteModel();
    data_ = WriteData("test.bin", 40);
    train_data_ = WriteData("train.bin", 60);
    qmodel_ = Quantize();
    quant_config_ = Config("q_ok.json", R"({"calibration": {"images": 20}})");
    chip_ = Config("chip.json", R"({"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64}})");
    train_config_ = Config("train_ok.json", R"({"model": {"arch": "resnet", "depth": 8}, "data": ")" + train_data_ +
                                                R"(", "test_data": ")" + data_ + R"(", "epochs": 1, "batch_size": 20})");
    qat_config_ = Config("qat_ok.json", R"({"model": {"init": ")" + model_ + R"("}, "data": ")" + train_data_ +
                                            R"(", "test_data": ")" + data_ + R"(", "epochs": 1, "batch_size": 20,
                                            "quant": {"default": {"weight_bits": 4, "activation_bits": 4, "mode": "qat"},
                                            "calibration": {"images": 20}}})");
    experiment_config_ = Config("exp_ok.json", R"({"model": {"qmodel": ")" + qmodel_ + R"("}, "data": {"test": ")" + data_ +
                                                   R"(", "count": 10}})");
    calibrate_config_ = Config("cal_ok.json", R"({"model": {"qmodel": ")" + qmodel_ + R"("}, "xbar": ")" + chip_ +
                                                  R"(", "inputs": "activations", "images": 10, "data": ")" + train_data_ + R"("})");
    calibration_ = Path("cal_ok.h5");
    const RunResult cal = RunCimsim("calibrate --config " + calibrate_config_ + " --out " + calibration_);
    ASSERT_EQ(cal.exit_code, 0) << cal.output;
    // Outputs that exist before every case and must survive it unchanged.
    keep_file_ = Config("keep.h5", "precious bytes that no failed run may touch\n");
    keep_dir_ = Path("keep_dir");
    fs::create_directories(keep_dir_);
    std::ofstream(keep_dir_ + "/keep.txt") << "precious\n";
    fifo_ = Path("fifo");
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    fs::create_directories(Path("a_directory"));
    std::ofstream(Path("empty"), std::ios::binary);
    std::string garbage;
    uint32_t s = 7;
    for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((s = s * 1103515245u + 12345u) >> 24));
    std::ofstream(Path("garbage"), std::ios::binary) << garbage;
  }

  // (label, path, fragment the message must hold) for every kind of bad file standing in for `valid`
  // (a file of the expected kind) — `other` is a valid file of another kind.
  std::vector<std::tuple<std::string, std::string, std::string>> BadFiles(const std::string& valid, const std::string& other,
                                                                          const std::string& flag) {
    const std::string truncated = Path("truncated_" + fs::path(valid).filename().string());
    const std::string bytes = ReadAll(valid);
    // Cut inside a record, a header or a JSON value (not at a record boundary, which is a valid shorter file).
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2 - 7);
    return {{"missing", Path("absent_file"), "absent_file"},
            {"empty path", "''", flag},
            {"directory", Path("a_directory"), "a_directory"},
            {"fifo", fifo_, "fifo"},
            {"device", "/dev/zero", "/dev/zero"},
            {"empty file", Path("empty"), "empty"},
            {"garbage", Path("garbage"), "garbage"},
            {"truncated", truncated, "truncated_"},
            {"other kind", other, fs::path(other).filename().string()}};
  }

  void Check(const BadCase& c) {
    SCOPED_TRACE(c.label + ": cimsim " + c.args);
    const std::string keep_file = ReadAll(keep_file_), keep_dir = ReadAll(keep_dir_ + "/keep.txt");
    const RunResult r = RunCimsim(c.args, c.shell_prefix + "env -u CIMSIM_DATA timeout 60 ");
    ++cases_;
    EXPECT_EQ(r.exit_code, 2) << r.output;
    size_t errors = 0;
    for (size_t at = r.output.find("cimsim: error: "); at != std::string::npos; at = r.output.find("cimsim: error: ", at + 1)) ++errors;
    EXPECT_EQ(errors, 1u) << r.output;
    for (const char* bad : {"Sanitizer", "runtime error:", "internal error", "Segmentation", "terminate called"})
      EXPECT_EQ(r.output.find(bad), std::string::npos) << r.output;
    for (const std::string& f : c.fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in:\n" << r.output;
    EXPECT_TRUE(ReadAll(keep_file_) == keep_file) << keep_file_ << " changed";
    EXPECT_TRUE(ReadAll(keep_dir_ + "/keep.txt") == keep_dir) << keep_dir_ << "/keep.txt changed";
    EXPECT_FALSE(fs::exists(keep_dir_ + "/checkpoint.h5")) << "a run wrote into " << keep_dir_;
  }

  // Every config kind: (command line with {} standing for the config file, short name of the kind).
  std::vector<std::pair<std::string, std::string>> ConfigSlots() const {
    return {{"quantize --model " + model_ + " --config {} --data " + train_data_ + " --out " + keep_file_, "q"},
            {"calibrate --config {} --out " + keep_file_, "cal"},
            {"experiment --config {} --out " + keep_dir_, "exp"},
            {"train --config {} --out " + keep_dir_, "train"},
            {"qat --config {} --out " + keep_dir_, "qat"},
            {"infer --qmodel " + qmodel_ + " --data " + data_ + " --crossbar {}", "xbar"}};
  }

  // Every file-taking flag: command lines with {} standing for the bad file.
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> FileSlots() {
    const std::string out = " --out " + keep_file_, dir = " --out " + keep_dir_;
    return {
        {"eval --model {} --data " + data_, model_, qmodel_, "--model"},
        {"eval --model " + model_ + " --data {}", data_, model_, "--data"},
        {"infer --qmodel {} --data " + data_, qmodel_, model_, "--qmodel"},
        {"infer --qmodel " + qmodel_ + " --data {}", data_, chip_, "--data"},
        {"infer --qmodel " + qmodel_ + " --data " + data_ + " --crossbar {}", chip_, model_, "--crossbar"},
        {"infer --qmodel " + qmodel_ + " --data " + data_ + " --crossbar " + chip_ + " --calibration {}", calibration_, qmodel_,
         "--calibration"},
        {"quantize --model {} --config " + quant_config_ + " --data " + train_data_ + out, model_, qmodel_, "--model"},
        {"quantize --model " + model_ + " --config {} --data " + train_data_ + out, quant_config_, model_, "--config"},
        {"quantize --model " + model_ + " --config " + quant_config_ + " --data {}" + out, train_data_, quant_config_, "--data"},
        {"calibrate --config {}" + out, calibrate_config_, qmodel_, "--config"},
        {"experiment --config {}" + dir, experiment_config_, model_, "--config"},
        {"train --config {}" + dir, train_config_, model_, "--config"},
        {"train --config " + train_config_ + " --data {}" + dir, train_data_, train_config_, "--data"},
        {"train --config " + train_config_ + " --test-data {}" + dir, data_, qat_config_, "--test-data"},
        {"qat --config {}" + dir, qat_config_, data_, "--config"},
        {"qat --config " + qat_config_ + " --model {}" + dir, model_, qmodel_, "--model"},
    };
  }

  std::string model_, data_, train_data_, qmodel_, quant_config_, chip_, train_config_, qat_config_, experiment_config_,
      calibrate_config_, calibration_, keep_file_, keep_dir_, fifo_;
  int cases_ = 0;
};

// In-place edits of an HDF5 file, as a damaged or hand-edited file would have them. The file's
// content_checksum is removed too (keep_checksum false), as a file from another tool has none: then
// the loader's own checks must find what is wrong. With the checksum kept, the checksum finds it.
void EditH5(const std::string& path, const std::function<void(hid_t)>& edit, bool keep_checksum = false) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0) << path;
  edit(f);
  if (!keep_checksum) {
    ASSERT_GE(H5Adelete(f, "content_checksum"), 0) << path;
  }
  H5Fclose(f);
}
void SetIntAttribute(hid_t f, const std::string& object, const std::string& name, int64_t value) {
  // Through the object (libhdf5 1.10 cannot write an attribute opened by path from the file).
  const hid_t o = H5Oopen(f, object.c_str(), H5P_DEFAULT);
  const hid_t a = H5Aopen(o, name.c_str(), H5P_DEFAULT);
  ASSERT_GE(a, 0) << object << " " << name;
  EXPECT_GE(H5Awrite(a, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(a);
  H5Oclose(o);
}
void SetStringAttribute(hid_t f, const std::string& object, const std::string& name, const std::string& value) {
  H5Adelete_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size() + 1);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate_by_name(f, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Awrite(a, type, value.c_str()), 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}
// Element 0 of a numeric dataset set to `value`.
void SetFirstElement(hid_t f, const std::string& path, double value) {
  const hid_t ds = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  ASSERT_GE(ds, 0) << path;
  const hid_t space = H5Dget_space(ds);
  std::vector<double> v(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  v[0] = value;
  EXPECT_GE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  H5Sclose(space);
  H5Dclose(ds);
}
// The dataset replaced by one that declares 2^40 elements (chunked: nothing stored).
void MakeHuge(hid_t f, const std::string& path) {
  H5Ldelete(f, path.c_str(), H5P_DEFAULT);
  const hsize_t dims[1] = {hsize_t{1} << 40}, chunk[1] = {1024};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, chunk);
  const hid_t ds = H5Dcreate2(f, path.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT_GE(ds, 0);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
}

std::string Replace(std::string text, const std::string& with) {
  const size_t at = text.find("{}");
  return text.replace(at, 2, with);
}

TEST_F(HostileInputCliTest, EveryFileFlagRefusesEveryKindOfBadFile) {
  for (const auto& [line, valid, other, flag] : FileSlots())
    for (const auto& [label, path, fragment] : BadFiles(valid, other, flag))
      Check({label, Replace(line, path), {fragment}});
  EXPECT_EQ(cases_, 16 * 9);
}

TEST_F(HostileInputCliTest, EveryOutputFlagRefusesABadDestinationBeforeAnyWork) {
  const std::string absent_parent = Path("no_such_dir/x");
  std::vector<std::pair<std::string, std::string>> file_outputs = {
      {"eval --model " + model_ + " --data " + data_ + " --json {}", "--json"},
      {"infer --qmodel " + qmodel_ + " --data " + data_ + " --json {}", "--json"},
      {"quantize --model " + model_ + " --config " + quant_config_ + " --data " + train_data_ + " --out {}", "--out"},
      {"calibrate --config " + calibrate_config_ + " --out {}", "--out"}};
  for (const auto& [line, flag] : file_outputs) {
    Check({"empty", Replace(line, "''"), {flag, "empty"}});
    Check({"directory", Replace(line, keep_dir_), {flag, "a directory"}});
    Check({"device", Replace(line, "/dev/null"), {flag, "/dev/null", "character device"}});
    Check({"fifo", Replace(line, fifo_), {flag, "FIFO"}});
    Check({"no parent", Replace(line, absent_parent), {flag, "does not exist"}});
  }
  std::vector<std::pair<std::string, std::string>> dir_outputs = {
      {"experiment --config " + experiment_config_ + " --out {}", "--out"},
      {"train --config " + train_config_ + " --out {}", "--out"},
      {"qat --config " + qat_config_ + " --out {}", "--out"},
      {"data fetch --url http://127.0.0.1:9/x.tar.gz --sha256 " + std::string(64, '0') + " --out {}", "--out"}};
  for (const auto& [line, flag] : dir_outputs) {
    Check({"empty", Replace(line, "''"), {flag, "empty"}});
    Check({"a file", Replace(line, keep_file_), {flag, "is a regular file; give a directory"}});
    Check({"device", Replace(line, "/dev/null"), {flag, "/dev/null", "character device"}});
    Check({"fifo", Replace(line, fifo_), {flag, "FIFO"}});
    Check({"under a file", Replace(line, keep_file_ + "/sub"), {flag, "not a directory"}});
  }
  EXPECT_EQ(cases_, 8 * 5);
}

// Malformed JSON for every config kind: syntax, duplicates, nesting, numbers, types, keys.
TEST_F(HostileInputCliTest, EveryConfigKindRefusesMalformedJson) {
  const std::vector<std::pair<std::string, std::string>> docs = {
      {"syntax", R"({"a": )"},
      {"trailing", R"({} {})"},
      {"top-level array", R"([1, 2])"},
      {"top-level number", "3"},
      {"duplicate key", R"({"seed": 1, "seed": 2})"},
      {"deep nesting", std::string(100000, '[') + std::string(100000, ']')},
      {"deep objects", [] {
         std::string s;
         for (int i = 0; i < 5000; ++i) s += R"({"a":)";
         return s + "1" + std::string(5000, '}');
       }()},
      {"number overflow", R"({"seed": 1e999})"},
      {"NaN token", R"({"seed": NaN})"},
      {"invalid UTF-8", "{\"a\xff\": 1}"},
      {"unknown key", R"({"no_such_key": 1})"},
      {"control character", "{\"a\x01\": 1}"},
  };
  for (const auto& [line, kind] : ConfigSlots())
    for (size_t i = 0; i < docs.size(); ++i) {
      const std::string name = "bad_" + kind + "_" + std::to_string(i) + ".json";
      Check({docs[i].first, Replace(line, Config(name, docs[i].second)), {name}});
    }
  EXPECT_EQ(cases_, 6 * 12);
}

// Malformed YAML for every config kind: each message names the file, and the line and key where the
// document has them.
TEST_F(HostileInputCliTest, EveryConfigKindRefusesMalformedYaml) {
  struct Doc {
    std::string label, text, fragment;   // fragment: after "<file>", e.g. ":3: seed: duplicate key"
  };
  std::string deep_block;
  for (int i = 0; i < 70; ++i) deep_block += std::string(2 * i, ' ') + "a:\n";
  std::string deep_path = "a";   // the key path at the 65th level, where the reader stops
  for (int i = 1; i < 65; ++i) deep_path += ".a";
  std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 8; ++level) {
    laughs += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int k = 0; k < 10; ++k) laughs += std::string(k ? ", " : "") + "*l" + std::to_string(level - 1);
    laughs += "]\n";
  }
  const std::vector<Doc> docs = {
      {"unclosed flow", "seed: [1, 2\n", ":2:1: not valid YAML: end of sequence flow not found"},
      {"bad indentation", "seed:\n  a: 1\n b: 2\n", ":3:2: not valid YAML: end of map not found"},
      {"tab indentation", "seed:\n\ta: 1\n", ":2:3: not valid YAML: illegal map value"},
      {"unclosed quote", "seed: 1\nname: \"abc\n", ":2: name: a quoted string is not closed"},
      {"duplicate key", "# settings\nseed: 1\nseed: 2\n", ":3: seed: duplicate key"},
      {"two documents", "seed: 1\n---\nseed: 2\n", ": holds 2 YAML documents"},
      {"only a comment", "# nothing here\n", ": holds no YAML document"},
      {"top-level sequence", "- 1\n- 2\n", ":1: expected an object {...}, got [1,2]"},
      {"top-level scalar", "hello\n", ":1: expected an object {...}, got \"hello\""},
      {"infinity", "seed: .inf\n", ":1: seed: .inf is not a finite number"},
      {"not a number", "\nseed: .nan\n", ":2: seed: .nan is not a finite number"},
      {"number overflow", "seed: 1e999\n", ":1: seed: \"1e999\" is beyond the range of a double"},
      {"binary tag", "seed: !!binary aGk=\n", ":1: seed: the tag tag:yaml.org,2002:binary is not supported"},
      {"custom tag", "seed: !weird 1\n", ":1: seed: the tag !weird is not supported"},
      {"deep flow nesting", std::string(100000, '['), ":1: not valid YAML: nested more than"},
      {"deep block nesting", deep_block, ":66: " + deep_path + ": mappings and sequences nested more than 64 levels deep"},
      {"billion laughs", laughs, ":1: l5[7][8][8][8][8][9]: the document expands to more than 1000000 values"},
      {"invalid UTF-8", "seed: 1\nname: \xff\n", ":2: not valid YAML: byte 255 is not UTF-8"},
      {"control character", "seed: 1\x01\n", ":1: not valid YAML: control character 1"},
      {"complex key", "? [a, b]\n: 1\n", ":1: a key must be a plain or quoted string, not a sequence"},
      {"unknown key", "# comment\n\nno_such_key: 1\n", ":3: no_such_key: unknown key"},
      {"unknown section", "train: {}\nfrobnicate: {}\n", ":2: frobnicate: not a section"},
  };
  for (const auto& [line, kind] : ConfigSlots())
    for (size_t i = 0; i < docs.size(); ++i) {
      const std::string name = "bad_" + kind + "_" + std::to_string(i) + ".yaml";
      Check({docs[i].label, Replace(line, Config(name, docs[i].text)), {name + docs[i].fragment}});
    }
  EXPECT_EQ(cases_, 6 * 22);
}

// Damaged or hand-edited model, quantized model and calibration files: values out of range, huge declared
// sizes, a future format version, a calibration of another model.
TEST_F(HostileInputCliTest, DamagedFilesOfEveryKindAreRefusedNamingWhatIsWrong) {
  const auto copy = [&](const std::string& from, const std::string& name) {
    fs::copy_file(from, Path(name), fs::copy_options::overwrite_existing);
    return Path(name);
  };
  const auto eval = [&](const std::string& m) { return "eval --model " + m + " --data " + data_; };
  const auto infer = [&](const std::string& q) { return "infer --qmodel " + q + " --data " + data_; };
  const auto chip = [&](const std::string& cal) { return infer(qmodel_) + " --crossbar " + chip_ + " --calibration " + cal; };
  std::vector<BadCase> cases;
  std::string m = copy(model_, "m1.h5");
  EditH5(m, [](hid_t f) { SetFirstElement(f, "/params/bn1.running_var", -1.0); });
  cases.push_back({"negative variance", eval(m), {"m1.h5", "bn1.running_var", "negative variance"}});
  m = copy(model_, "m2.h5");
  EditH5(m, [](hid_t f) { MakeHuge(f, "/params/conv1.weight"); });
  cases.push_back({"huge dataset", eval(m), {"m2.h5", "conv1.weight", "declares more than"}});
  m = copy(model_, "m3.h5");
  EditH5(m, [](hid_t f) { SetFirstElement(f, "/params/linear.weight", std::nan("")); });
  cases.push_back({"NaN weight", eval(m), {"m3.h5", "linear.weight", "non-finite"}});
  m = copy(model_, "m4.h5");
  EditH5(m, [](hid_t f) { SetStringAttribute(f, "/", "arch", "resnet99999999999999"); });
  cases.push_back({"absurd depth", eval(m), {"m4.h5", "arch"}});
  const std::string first_node = H5File::OpenRead(qmodel_).ListDatasets("/nodes").front();
  const std::string node_group = first_node.substr(0, first_node.rfind('/'));
  for (const char* attr : {"padding", "kernel", "stride", "in_channels", "out_channels", "weight_bits"}) {
    std::string q = copy(qmodel_, std::string("q_") + attr + ".h5");
    EditH5(q, [&](hid_t f) { SetIntAttribute(f, node_group, attr, int64_t{1} << 30); });
    cases.push_back({std::string("huge ") + attr, infer(q), {"q_" + std::string(attr) + ".h5", attr}});
  }
  std::string q = copy(qmodel_, "q_weights.h5");
  EditH5(q, [&](hid_t f) { MakeHuge(f, node_group + "/weight"); });
  cases.push_back({"huge weights", infer(q), {"q_weights.h5", "weight", "declares more than"}});
  std::string cal = copy(calibration_, "c1.h5");
  EditH5(cal, [](hid_t f) { SetIntAttribute(f, "/", "format_version", 2); });
  cases.push_back({"future version", chip(cal), {"c1.h5", "format_version 2"}});
  cal = copy(calibration_, "c2.h5");
  EditH5(cal, [](hid_t f) { SetStringAttribute(f, "/", "format", "something-else"); });
  cases.push_back({"other format", chip(cal), {"c2.h5", "not a cimsim chip calibration"}});
  const std::string gain = H5File::OpenRead(calibration_).ListDatasets("/layers").front();
  const std::string layer_group = gain.substr(0, gain.rfind('/'));
  cal = copy(calibration_, "c3.h5");
  EditH5(cal, [&](hid_t f) { SetStringAttribute(f, layer_group, "name", "layer9.9.conv9"); });
  cases.push_back({"another model's layer", chip(cal), {"c3.h5", "layer9.9.conv9", "another model"}});
  cal = copy(calibration_, "c4.h5");
  EditH5(cal, [&](hid_t f) { H5Lmove(f, layer_group.c_str(), f, "/layers/abc", H5P_DEFAULT, H5P_DEFAULT); });
  cases.push_back({"group not a node index", chip(cal), {"c4.h5", "abc"}});
  cal = copy(calibration_, "c5.h5");
  EditH5(cal, [&](hid_t f) { H5Lmove(f, layer_group.c_str(), f, "/layers/9999", H5P_DEFAULT, H5P_DEFAULT); });
  cases.push_back({"node beyond the model", chip(cal), {"c5.h5", "9999"}});
  cal = copy(calibration_, "c6.h5");
  EditH5(cal, [&](hid_t f) { SetFirstElement(f, gain, std::nan("")); });
  cases.push_back({"NaN gain", chip(cal), {"c6.h5", "non-finite"}});
  cal = copy(calibration_, "c7.h5");
  EditH5(cal, [&](hid_t f) { SetIntAttribute(f, layer_group, "tile_rows", int64_t{1} << 30); });
  cases.push_back({"huge tile rows", chip(cal), {"c7.h5"}});
  // The same kinds of edit on files that keep their content checksum: refused by the checksum.
  m = copy(model_, "m5.h5");
  EditH5(m, [](hid_t f) { SetFirstElement(f, "/params/linear.weight", 0.5); }, true);
  cases.push_back({"edited weight, checksum kept", eval(m), {"m5.h5", "content checksum", "edited"}});
  q = copy(qmodel_, "q_edited.h5");
  EditH5(q, [&](hid_t f) { SetIntAttribute(f, node_group, "stride", 2); }, true);
  cases.push_back({"edited stride, checksum kept", infer(q), {"q_edited.h5", "content checksum", "edited"}});
  cal = copy(calibration_, "c8.h5");
  EditH5(cal, [&](hid_t f) { SetFirstElement(f, gain, 1.25); }, true);
  cases.push_back({"edited gain, checksum kept", chip(cal), {"c8.h5", "content checksum", "edited"}});
  for (const BadCase& c : cases) Check(c);
  EXPECT_EQ(cases_, 21);
}

// A disk that fills up while a command writes, simulated with a file-size limit (ulimit -f, in 512-byte
// blocks, with SIGXFSZ ignored: every write beyond the limit fails with EFBIG, as a full disk's do with
// ENOSPC): one message naming the file and the reason, exit 2, no crash (libhdf5 1.10.8 used to crash
// at exit on the half-closed file), and the existing output file left byte-identical.
TEST_F(HostileInputCliTest, AFullDiskMidWriteGivesOneMessageAndReplacesNoFile) {
  const auto full_after = [](int blocks) { return "ulimit -f " + std::to_string(blocks) + "; trap '' XFSZ; "; };
  const std::vector<BadCase> cases = {
      {"quantize", "quantize --model " + model_ + " --config " + quant_config_ + " --data " + train_data_ + " --out " + keep_file_,
       {"keep.h5", "File too large", "nothing was replaced"}, full_after(16)},
      {"calibrate", "calibrate --config " + calibrate_config_ + " --out " + keep_file_, {"keep.h5", "File too large"}, full_after(4)},
      {"eval --json", "eval --model " + model_ + " --data " + data_ + " --json " + keep_file_, {"keep.h5", "File too large"},
       full_after(0)},
      {"infer --json", "infer --qmodel " + qmodel_ + " --data " + data_ + " --json " + keep_file_, {"keep.h5", "File too large"},
       full_after(0)},
      {"train", "train --config " + train_config_ + " --out " + Path("full_train"), {"checkpoint.h5", "File too large"},
       full_after(100)},
      {"qat", "qat --config " + qat_config_ + " --out " + Path("full_qat"), {"File too large"}, full_after(100)},
      {"experiment", "experiment --config " + experiment_config_ + " --out " + Path("full_experiment"),
       {"full_experiment", "File too large"}, full_after(8)},
  };
  for (const BadCase& c : cases) Check(c);
  EXPECT_EQ(cases_, 7);
}

// Option values out of range or not numbers, unknown options, stray words, for every command.
TEST_F(HostileInputCliTest, EveryCommandRefusesBadOptionValuesAndStrayArguments) {
  const std::string eval = "eval --model " + model_ + " --data " + data_;
  const std::string infer = "infer --qmodel " + qmodel_ + " --data " + data_;
  const std::string train = "train --config " + train_config_ + " --out " + keep_dir_;
  const std::string qat = "qat --config " + qat_config_ + " --out " + keep_dir_;
  const std::string experiment = "experiment --config " + experiment_config_ + " --out " + keep_dir_;
  const std::string quantize = "quantize --model " + model_ + " --config " + quant_config_ + " --data " + train_data_ + " --out " + keep_file_;
  const std::string calibrate = "calibrate --config " + calibrate_config_ + " --out " + keep_file_;
  const std::vector<BadCase> cases = {
      {"limit negative", eval + " --limit -1", {"--limit"}},
      {"limit word", eval + " --limit many", {"limit"}},
      {"limit huge", eval + " --limit 99999999999999999999", {"limit"}},
      {"batch zero", eval + " --batch 0", {"--batch"}},
      {"batch word", eval + " --batch x", {"batch"}},
      {"threads zero", eval + " --threads 0", {"--threads"}},
      {"threads huge", eval + " --threads 100000", {"--threads"}},
      {"threads word", eval + " --threads two", {"threads"}},
      {"infer limit", infer + " --limit -5", {"--limit"}},
      {"infer batch", infer + " --batch -1", {"--batch"}},
      {"infer images per call", infer + " --images-per-call 0", {"--images-per-call"}},
      {"infer calibration without crossbar", infer + " --calibration " + calibration_, {"--calibration"}},
      {"train epochs", train + " --epochs 0", {"epochs"}},
      {"train epochs word", train + " --epochs ten", {"epochs"}},
      {"train lr", train + " --lr -0.1", {"lr"}},
      {"train lr nan", train + " --lr nan", {"lr"}},
      {"train batch", train + " --batch-size 0", {"batch"}},
      {"train threads", train + " --threads 0", {"--threads"}},
      {"qat bits", qat + " --w-bits 1", {"bits"}},
      {"qat method without bits", qat + " --method xnor", {"--method"}},
      {"experiment threads", experiment + " --threads -1", {"--threads"}},
      {"experiment shard", experiment + " --shard 3/2", {"--shard"}},
      {"experiment shard word", experiment + " --shard half", {"--shard"}},
      {"experiment shard zero", experiment + " --shard 0/0", {"--shard"}},
      {"merge missing", "experiment merge " + Path("absent_dir"), {"absent_dir"}},
      {"merge file", "experiment merge " + keep_file_, {"keep.h5"}},
      {"merge empty dir", "experiment merge " + Path("a_directory"), {"a_directory"}},
      {"unknown command", "frobnicate", {"frobnicate"}},
      {"data unknown", "data unpack", {"unpack"}},
      {"fetch sha", "data fetch --url http://127.0.0.1:9/x --sha256 xyz --out " + Path("fetch"), {"--sha256"}},
      {"fetch scheme", "data fetch --url ftp://x/y --sha256 " + std::string(64, 'a') + " --out " + Path("fetch"), {"url"}},
      // Magnitudes that would overflow the crossbar's arithmetic.
      {"huge g_max", infer + " --crossbar " + Config("c1.json", R"({"device": {"preset": "pcm", "g_max": 1e300}})"),
       {"c1.json", "g_max", "1e+300"}},
      {"huge read sigma", infer + " --crossbar " +
           Config("c2.json", R"({"device": {"preset": "rram", "read_noise": {"kind": "constant", "sigma": 1e300}}})"),
       {"c2.json", "read_noise.sigma"}},
      {"huge relative noise", infer + " --crossbar " +
           Config("c3.json", R"({"device": {"preset": "rram", "read_noise": {"kind": "proportional", "relative": 1e300}}})"),
       {"c3.json", "read_noise.relative"}},
      {"huge read time", infer + " --crossbar " + Config("c4.json", R"({"device": {"preset": "pcm"}, "crossbar": {"read_time": 1e300}})"),
       {"c4.json", "read_time"}},
  };
  for (const BadCase& c : cases) Check(c);
  // Stray words and unknown options, for every command.
  const std::vector<std::string> commands = {eval, infer, train, qat, experiment, quantize, calibrate};
  for (const std::string& c : commands) {
    Check({"stray word", c + " extra", {"unexpected argument 'extra'"}});
    Check({"unknown option", c + " --no-such-option 1", {"no-such-option"}});
    Check({"missing value", c + " --threads", {"threads"}});
  }
  EXPECT_EQ(cases_, static_cast<int>(cases.size() + 3 * commands.size()));
}

}  // namespace
}  // namespace cimsim
