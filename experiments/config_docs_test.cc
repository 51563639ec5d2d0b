// The key tables in docs/crossbar.md and docs/devices.md are the ones the field tables generate
// (MarkdownTable, common/field_table.h), so the docs cannot drift from the code. Each table sits
// between "<!-- generated: NAME -->" and "<!-- end generated: NAME -->"; on a mismatch the test
// prints the generated table to paste in.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "devices/device_fields.h"
#include "experiments/calibration_fields.h"
#include "sim/crossbar_fields.h"

namespace cimsim {
namespace {

std::string ReadDoc(const std::string& name) {
  std::ifstream in(std::string(CIMSIM_SOURCE_DIR) + "/docs/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text between the markers of table `name`, or "" (a test failure) when they are missing.
std::string Generated(const std::string& doc, const std::string& name) {
  const std::string begin = "<!-- generated: " + name + " -->\n", end = "<!-- end generated: " + name + " -->";
  const size_t b = doc.find(begin), e = doc.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    ADD_FAILURE() << "markers of " << name << " not found";
    return "";
  }
  return doc.substr(b + begin.size(), e - b - begin.size());
}

TEST(ConfigDocsTest, CrossbarKeyTableIsTheGeneratedOne) {
  const std::string table = MarkdownTable(CrossbarFields(), CrossbarParams{});
  EXPECT_EQ(Generated(ReadDoc("crossbar.md"), "crossbar keys"), table) << "generated:\n" << table;
}

TEST(ConfigDocsTest, DeviceKeyTableIsTheGeneratedOne) {
  const std::string table = MarkdownTable(DeviceFields(), DeviceParams{});
  EXPECT_EQ(Generated(ReadDoc("devices.md"), "device keys"), table) << "generated:\n" << table;
}

TEST(ConfigDocsTest, CalibrationKeyTableIsTheGeneratedOne) {
  const std::string table = MarkdownTable(CalibrationFields(), CalibrationSettings{});
  EXPECT_EQ(Generated(ReadDoc("crossbar.md"), "calibration keys"), table) << "generated:\n" << table;
}

// The generator itself: a row names the key, its range, when it applies and the default.
TEST(ConfigDocsTest, ARowCarriesRangeApplicabilityAndDefault) {
  const std::string table = MarkdownTable(CrossbarFields(), CrossbarParams{});
  EXPECT_NE(table.find("| `adc.bits` | integer 1..24 | bits | always | 8 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| `adc.fixed_range` | number > 0 (integer units), finite | integer units | `adc.range` = `fixed` "
                       "(required there) | 0 |"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("| `input.mode` | `\"dac\"`, `\"bit_serial\"` | — | always | `\"bit_serial\"` |"), std::string::npos)
      << table;
}

}  // namespace
}  // namespace cimsim
