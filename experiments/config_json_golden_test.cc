// The JSON that the config writers put into results.h5 / CAL.h5 attributes is byte-identical to the
// writers before the field tables (experiments/field_table_json.h): each expected text below was
// printed by the hand-written XbarConfigToJson / ExperimentConfigToJson / CalibrateConfigToJson of
// commit 1bfdd4f for the same input. Key order is nlohmann::json's (sorted); what could change is
// which keys are written and how numbers are typed (8 vs 8.0).
#include <gtest/gtest.h>

#include <fstream>

#include <string>
#include <vector>

#include "common/test_support.h"
#include "experiments/calibrate_config.h"
#include "experiments/experiment_config.h"
#include "experiments/xbar_config.h"

namespace cimsim {
namespace {

using nlohmann::json;

struct Golden {
  std::string input, expected;
};

std::string Fill(std::string text, const std::string& model) {
  const std::string token = "$MODEL";
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + model.size()))
    text.replace(at, token.size(), model);
  return text;
}

const std::vector<Golden> kXbar = {
    {R"({})",
     R"({"crossbar":{"adc":{"bits":8,"range":"max"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"none"},"g_max":25.0,"g_max_variation":0.0,"g_min":0.0,"levels":0,"preset":"ideal","programming_noise":{"kind":"none"},"read_noise":{"kind":"none"},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":1})"},
    {R"({"seed": 7, "device": {}, "crossbar": {}})",
     R"({"crossbar":{"adc":{"bits":8,"range":"max"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"none"},"g_max":25.0,"g_max_variation":0.0,"g_min":0.0,"levels":0,"programming_noise":{"kind":"none"},"read_noise":{"kind":"none"},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":7})"},
    {R"({"seed": 18446744073709551615, "device": {"preset": "pcm", "g_max": 30, "levels": 0, "programming_noise": {"coefficients": [0.26348, 1.9650, -1.1731]}, "read_noise": {"t_read": 250e-9}, "drift": {"t0": 20, "nu_mean_fit": {"max": 0.1}}, "stuck_at_min": 0.01, "stuck_at_max": 0.005, "g_max_variation": 0.05}, "crossbar": {"rows_max": 256, "cols_max": 256, "mapping": "offset", "slice_bits": 2, "input": {"mode": "bit_serial", "slice_bits": 2}, "adc": {"bits": 6, "range": "calibrated"}, "read_time": 3600, "read_noise": false, "periphery": {"gain_sigma": 0.05, "offset_sigma": 0.01}}})",
     R"({"crossbar":{"adc":{"bits":6,"range":"calibrated"},"cols_max":256,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":2},"mapping":"offset","periphery":{"gain_sigma":0.05,"offset_sigma":0.01},"read_noise":false,"read_time":3600.0,"replicate_rows":false,"rows_max":256,"slice_bits":2},"device":{"drift":{"kind":"pcm","nu_mean_fit":{"intercept":0.0244,"max":0.1,"min":0.049,"slope":-0.0155},"nu_std_fit":{"intercept":-0.0059,"max":0.045,"min":0.008,"slope":-0.0125},"t0":20.0},"g_max":30.0,"g_max_variation":0.05,"g_min":0.0,"levels":0,"preset":"pcm","programming_noise":{"coefficients":[0.26348,1.965,-1.1731],"g_max_reference":25.0,"kind":"polynomial","variable":"g_hat"},"read_noise":{"kind":"pcm_1f","q_exponent":0.65,"q_floor":0.001,"q_max":0.2,"q_scale":0.0088,"t0":20.0,"t_read":2.5e-07},"stuck_at_max":0.005,"stuck_at_min":0.01},"seed":18446744073709551615})"},
    {R"({"device": {"preset": "rram", "levels": 16, "read_noise": {"kind": "proportional", "relative": 0.01}, "drift": {"kind": "constant_nu", "nu": 0.005, "nu_std": 0.001}}, "crossbar": {"input": {"mode": "dac", "dac_bits": 9}, "adc": {"range": "fixed", "fixed_range": 5000.5}, "read_time": 1e-7}})",
     R"({"crossbar":{"adc":{"bits":8,"fixed_range":5000.5,"range":"fixed"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"dac_bits":9,"mode":"dac"},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":1e-07,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"constant_nu","nu":0.005,"nu_std":0.001,"t0":20.0},"g_max":225.0,"g_max_variation":0.0,"g_min":50.0,"levels":16,"preset":"rram","programming_noise":{"coefficients":[4.782321,-0.009107],"g_max_reference":0.0,"kind":"polynomial","variable":"g"},"read_noise":{"kind":"proportional","relative":0.01},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":1})"},
    {R"({"device": {"g_min": 1, "g_max": 100, "levels": 9, "programming_noise": {"kind": "polynomial", "coefficients": [0.5, 0.01, 0.0001], "variable": "g"}, "read_noise": {"kind": "constant", "sigma": 0.125}}, "crossbar": {"adc": {"range": "fixed", "fixed_range": 2048}}})",
     R"({"crossbar":{"adc":{"bits":8,"fixed_range":2048.0,"range":"fixed"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"none"},"g_max":100.0,"g_max_variation":0.0,"g_min":1.0,"levels":9,"programming_noise":{"coefficients":[0.5,0.01,0.0001],"g_max_reference":0.0,"kind":"polynomial","variable":"g"},"read_noise":{"kind":"constant","sigma":0.125},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":1})"},
    {R"({"device": {"preset": "pcm", "programming_noise": {"kind": "constant", "sigma": 0.3}, "read_noise": {"kind": "pcm_1f", "q_scale": 0.02}, "drift": {"kind": "pcm", "nu_std_fit": {"slope": -0.1, "intercept": 0.2, "min": 0.001, "max": 0.3}}}})",
     R"({"crossbar":{"adc":{"bits":8,"range":"max"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"pcm","nu_mean_fit":{"intercept":0.0244,"max":0.1,"min":0.049,"slope":-0.0155},"nu_std_fit":{"intercept":0.2,"max":0.3,"min":0.001,"slope":-0.1},"t0":20.0},"g_max":25.0,"g_max_variation":0.0,"g_min":0.0,"levels":0,"preset":"pcm","programming_noise":{"kind":"constant","sigma":0.3},"read_noise":{"kind":"pcm_1f","q_exponent":0.65,"q_floor":0.001,"q_max":0.2,"q_scale":0.02,"t0":20.0,"t_read":2.5e-07},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":1})"},
};

const std::vector<Golden> kExperiment = {
    {R"({"model": {"qmodel": "$MODEL"}})",
     R"({"calibration":"none","data":{"count":1000,"first":0,"test":""},"instances":1,"model":{"qmodel":"$MODEL"},"noise_seed":1,"placement":{"cim":"all"},"sweep":[],"threads":0,"traces":{"layers":[],"vectors":64},"xbar":{}})"},
    {R"({"model": {"qmodel": "$MODEL"}, "data": {"test": "t.bin", "count": 250, "first": 5}, "xbar": {"seed": 7, "device": {"preset": "pcm"}, "crossbar": {"adc": {"bits": 6}}}, "calibration": {"auto": {"fit_vectors": 128, "seed": 9, "adc_percentile": 99.5, "mode": "global", "inputs": "activations", "data": "train_dir", "images": 40}}, "placement": {"cim": ["conv1", "fc"]}, "instances": 3, "sweep": [{"param": "crossbar.read_time", "values": [0, 3600.5]}, {"param": "seed", "values": [1, 2, 3]}, {"param": "device.preset", "values": ["ideal", "rram"]}], "traces": {"layers": ["conv1"], "vectors": 16}, "threads": 2, "noise_seed": 42})",
     R"({"calibration":{"auto":{"adc_percentile":99.5,"data":"train_dir","fit_vectors":128,"holdout_vectors":512,"images":40,"inputs":"activations","mode":"global","seed":9}},"data":{"count":250,"first":5,"test":"t.bin"},"instances":3,"model":{"qmodel":"$MODEL"},"noise_seed":42,"placement":{"cim":["conv1","fc"]},"sweep":[{"param":"crossbar.read_time","values":[0,3600.5]},{"param":"seed","values":[1,2,3]},{"param":"device.preset","values":["ideal","rram"]}],"threads":2,"traces":{"layers":["conv1"],"vectors":16},"xbar":{"crossbar":{"adc":{"bits":6}},"device":{"preset":"pcm"},"seed":7}})"},
    {R"({"model": {"qmodel": "$MODEL"}, "calibration": {"auto": {"inputs": "random"}}, "placement": {"split": "layer1.0.conv1"}, "sweep": [{"param": "split", "values": ["conv1", "fc"]}, {"param": "crossbar.adc.bits", "values": [4, 8.0]}]})",
     R"({"calibration":{"auto":{"adc_percentile":99.99,"fit_vectors":512,"holdout_vectors":512,"inputs":"random","mode":"column","seed":1}},"data":{"count":1000,"first":0,"test":""},"instances":1,"model":{"qmodel":"$MODEL"},"noise_seed":1,"placement":{"split":"layer1.0.conv1"},"sweep":[{"param":"split","values":["conv1","fc"]},{"param":"crossbar.adc.bits","values":[4,8.0]}],"threads":0,"traces":{"layers":[],"vectors":64},"xbar":{}})"},
};

const std::vector<Golden> kCalibrate = {
    {R"({"qmodel": "$MODEL"})",
     R"({"adc_percentile":99.99,"fit_vectors":512,"holdout_vectors":512,"inputs":"random","layers":[],"mode":"column","qmodel":"$MODEL","seed":1,"xbar":{"crossbar":{"adc":{"bits":8,"range":"max"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"none"},"g_max":25.0,"g_max_variation":0.0,"g_min":0.0,"levels":0,"preset":"ideal","programming_noise":{"kind":"none"},"read_noise":{"kind":"none"},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":1}})"},
    {R"({"qmodel": "q.h5", "xbar": {"seed": 3, "crossbar": {"adc": {"range": "calibrated"}}}, "layers": ["conv1"], "fit_vectors": 100, "inputs": "activations", "data": "d", "images": 20, "mode": "global", "adc_percentile": 99.9})",
     R"({"adc_percentile":99.9,"data":"d","fit_vectors":100,"holdout_vectors":512,"images":20,"inputs":"activations","layers":["conv1"],"mode":"global","qmodel":"q.h5","seed":1,"xbar":{"crossbar":{"adc":{"bits":8,"range":"calibrated"},"cols_max":128,"devices_per_cell":1,"full_range_slices":false,"input":{"mode":"bit_serial","slice_bits":1},"mapping":"differential","periphery":{"gain_sigma":0.0,"offset_sigma":0.0},"read_noise":true,"read_time":0.0,"replicate_rows":false,"rows_max":128,"slice_bits":0},"device":{"drift":{"kind":"none"},"g_max":25.0,"g_max_variation":0.0,"g_min":0.0,"levels":0,"preset":"ideal","programming_noise":{"kind":"none"},"read_noise":{"kind":"none"},"stuck_at_max":0.0,"stuck_at_min":0.0},"seed":3}})"},
};


TEST(ConfigJsonGoldenTest, XbarConfigToJsonIsByteIdentical) {
  for (const Golden& g : kXbar) {
    EXPECT_EQ(XbarConfigToJson(ParseXbarConfig(json::parse(g.input), "x.json")).dump(), g.expected) << g.input;
  }
}

TEST(ConfigJsonGoldenTest, ExperimentConfigToJsonIsByteIdentical) {
  testing::ScopedTempDir dir("config_json_golden");
  const std::string model = dir.Path("model.h5");
  { std::ofstream(model) << ""; }
  for (const Golden& g : kExperiment) {
    const ExperimentConfig c = ParseExperimentConfig(json::parse(Fill(g.input, model)), "run.json");
    EXPECT_EQ(ExperimentConfigToJson(c).dump(), Fill(g.expected, model)) << g.input;
  }
}

TEST(ConfigJsonGoldenTest, CalibrateConfigToJsonIsByteIdentical) {
  for (const Golden& g : kCalibrate) {
    EXPECT_EQ(CalibrateConfigToJson(ParseCalibrateConfig(json::parse(g.input), "cal.json")).dump(), g.expected)
        << g.input;
  }
}

}  // namespace
}  // namespace cimsim
