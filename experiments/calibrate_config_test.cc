// `cimsim calibrate`'s config: the shapes it shares with an experiment config ("model": {"qmodel"},
// "data" an object, "xbar" inline or a file), the older spellings still read with a note each, and
// the calibration keys from their field table.
#include "experiments/calibrate_config.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using nlohmann::json;
using testing::HasPart;
using testing::InputErrorOf;

CalibrateConfig Parse(const std::string& text) { return ParseCalibrateConfig(json::parse(text), "cal.json"); }

TEST(CalibrateConfigTest, TheSharedShapesParseWithoutNotes) {
  const CalibrateConfig c = Parse(R"({"model": {"qmodel": "q.h5"}, "xbar": {"seed": 5},
      "inputs": "activations", "data": {"train": "train_dir"}, "images": 20})");
  EXPECT_EQ(c.qmodel, "q.h5");
  EXPECT_EQ(c.xbar.seed, 5u);
  EXPECT_EQ(c.data, "train_dir");
  EXPECT_EQ(c.images, 20);
  EXPECT_TRUE(c.notes.empty());
}

TEST(CalibrateConfigTest, TheOlderSpellingsAreReadWithANoteEach) {
  const CalibrateConfig c = Parse(R"({"qmodel": "q.h5", "inputs": "activations", "data": "train_dir"})");
  EXPECT_EQ(c.qmodel, "q.h5");
  EXPECT_EQ(c.data, "train_dir");
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_TRUE(HasPart(c.notes[0], "cal.json: qmodel: the top-level \"qmodel\" is the older spelling; write \"model\": {\"qmodel\": \"q.h5\"}"));
  EXPECT_TRUE(HasPart(c.notes[1], "cal.json: data: \"data\": \"PATH\" is the older spelling; write \"data\": {\"train\": \"train_dir\"}"));
  // Both spellings give the same config.
  const CalibrateConfig n = Parse(R"({"model": {"qmodel": "q.h5"}, "inputs": "activations", "data": {"train": "train_dir"}})");
  EXPECT_EQ(CalibrateConfigToJson(n), CalibrateConfigToJson(c));
}

TEST(CalibrateConfigTest, RejectionsNameThePath) {
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "qmodel": "q.h5"})"); }),
                      "cal.json: qmodel: give the model once"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {}})"); }), "cal.json: model.qmodel: required"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "inputs": "activations", "data": {"test": "x"}})"); }),
                      "cal.json: data.test: unknown key; allowed: train"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "inputs": "activations", "data": {}})"); }),
                      "cal.json: data.train: required"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "data": {"train": "x"}})"); }),
                      "cal.json: data: only allowed with \"inputs\": \"activations\""));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "xbar": "none.json"})"); }),
                      "cal.json: xbar: crossbar config \"none.json\" not found"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { Parse(R"({"model": {"qmodel": "q.h5"}, "inputs": "traces", "traces": {"file": "r.h5", "point": 10000}})"); }),
                      "cal.json: traces.point: 10000 is out of range; allowed 0..9999"));
}

}  // namespace
}  // namespace cimsim
