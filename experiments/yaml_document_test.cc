#include "experiments/yaml_document.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "experiments/config_convert.h"
#include "experiments/json_reader.h"

namespace cimsim {
namespace {

using nlohmann::ordered_json;

// The InputError message of ParseYamlText(text), or "" when it reads.
std::string ErrorOf(const std::string& text) {
  try {
    ParseYamlText(text, "c.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Each plain YAML scalar reads as the JSON text beside it would: same value, same JSON type.
TEST(YamlDocument, ScalarsReadAsTheirJsonTwins) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"8", "8"},                       {"-3", "-3"},
      {"0", "0"},                       {"-0", "-0"},
      {"+2", "2"},                      {"007", "7"},
      {"1.0", "1.0"},                   {"1.", "1.0"},
      {".5", "0.5"},                    {"-.5", "-0.5"},
      {"1e5", "1e5"},                   {"5e-05", "5e-05"},
      {"1E+3", "1E+3"},                 {"-0.0", "-0.0"},
      {"18446744073709551615", "18446744073709551615"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"99999999999999999999", "99999999999999999999"},
      {"true", "true"},                 {"True", "true"},
      {"FALSE", "false"},               {"null", "null"},
      {"~", "null"},                    {"", "null"},
      {"'8'", "\"8\""},                 {"\"true\"", "\"true\""},
      {"!!str 12", "\"12\""},           {"yes", "\"yes\""},
      {"off", "\"off\""},               {"0x1F", "\"0x1F\""},
      {"1e", "\"1e\""},                 {"1.2.3", "\"1.2.3\""},
      {"resnet20", "\"resnet20\""},     {"../shared/models/m.h5", "\"../shared/models/m.h5\""},
      {"a b c", "\"a b c\""},           {"''", "\"\""},
      {"\"tab\\there\"", "\"tab\\there\""}, {"\"\\u00e9\"", "\"\\u00e9\""},
      {"[1, 2.5, x]", "[1, 2.5, \"x\"]"}, {"{}", "{}"}, {"[]", "[]"},
  };
  for (const auto& [yaml, json] : cases) {
    SCOPED_TRACE("v: " + yaml);
    const ordered_json got = ParseYamlText("v: " + yaml + "\n", "c.yaml").json.at("v");
    const ordered_json want = ParseOrderedJsonText("{\"v\": " + json + "}", "c.json").at("v");
    EXPECT_TRUE(SameDocument(got, want)) << got.dump() << " (" << got.type_name() << ") vs " << want.dump() << " ("
                                         << want.type_name() << ")";
  }
}

TEST(YamlDocument, ValuesJsonCannotHoldAreRefusedWithLineAndKey) {
  EXPECT_NE(ErrorOf("a: 1\nseed: .inf\n").find("c.yaml:2: seed: .inf is not a finite number"), std::string::npos);
  EXPECT_NE(ErrorOf("seed: -.Inf\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(ErrorOf("seed: .nan\n").find("c.yaml:1: seed: .nan is not a finite number"), std::string::npos);
  EXPECT_NE(ErrorOf("x:\n  seed: 1e999\n").find("c.yaml:2: x.seed: \"1e999\" is beyond the range of a double"),
            std::string::npos);
  EXPECT_NE(ErrorOf("seed: !!binary aGk=\n").find("c.yaml:1: seed: the tag tag:yaml.org,2002:binary is not supported"),
            std::string::npos);
  EXPECT_NE(ErrorOf("seed: !mine 1\n").find("the tag !mine is not supported"), std::string::npos);
  EXPECT_NE(ErrorOf("seed: !!int 1\n").find("is not supported"), std::string::npos);
}

TEST(YamlDocument, StructuralProblemsAreRefusedWithLineAndKey) {
  EXPECT_NE(ErrorOf("a: 1\nb:\n  c: 2\n  c: 3\n").find("c.yaml:4: b.c: duplicate key"), std::string::npos);
  EXPECT_NE(ErrorOf("? [1, 2]\n: 3\n").find("c.yaml:1: a key must be a plain or quoted string, not a sequence"),
            std::string::npos);
  EXPECT_NE(ErrorOf("a: 1\n---\nb: 2\n").find("c.yaml: holds 2 YAML documents"), std::string::npos);
  EXPECT_NE(ErrorOf("# only a comment\n").find("c.yaml: holds no YAML document"), std::string::npos);
  EXPECT_NE(ErrorOf("a: [1, 2\n").find("c.yaml:"), std::string::npos);
  EXPECT_NE(ErrorOf("a: [1, 2\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(ErrorOf("a:\n  b: 1\n c: 2\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(ErrorOf("a: 1\nb: \xff\n").find("c.yaml:2: not valid YAML: byte 255 is not UTF-8"), std::string::npos);
  EXPECT_NE(ErrorOf("a: \xc0\x80\n").find("not UTF-8"), std::string::npos);   // an overlong encoding
  EXPECT_NE(ErrorOf("a: 1\nb: \"abc\n").find("c.yaml:2: b: a quoted string is not closed"), std::string::npos);
  EXPECT_NE(ErrorOf("a: 'it''s\n").find("c.yaml:1: a: a quoted string is not closed"), std::string::npos);
  EXPECT_NE(ErrorOf("\"a: 1\n").find("not closed"), std::string::npos) << ErrorOf("\"a: 1\n");
  EXPECT_EQ(ErrorOf("a: \"x\\\"y\"\nb: 'it''s'\nc: \"multi\n  line\"\n"), "");
  EXPECT_NE(ErrorOf("a: 1\n\nb: x\x01y\n").find("c.yaml:3: not valid YAML: control character 1"), std::string::npos);
}

TEST(YamlDocument, NestingAndAliasExpansionAreBounded) {
  std::string nested;
  for (int i = 0; i < 70; ++i) nested += std::string(2 * i, ' ') + "a:\n";
  nested += std::string(140, ' ') + "b: 1\n";
  EXPECT_NE(ErrorOf(nested).find("nested more than 64 levels"), std::string::npos) << ErrorOf(nested);
  const std::string flow(100000, '[');
  EXPECT_NE(ErrorOf(flow).find("c.yaml:1: not valid YAML: nested more than"), std::string::npos) << ErrorOf(flow);
  // "Billion laughs": each level ten aliases of the one before.
  std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 8; ++level) {
    laughs += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int k = 0; k < 10; ++k) laughs += std::string(k ? ", " : "") + "*l" + std::to_string(level - 1);
    laughs += "]\n";
  }
  EXPECT_NE(ErrorOf(laughs).find("expands to more than 1000000 values"), std::string::npos) << ErrorOf(laughs);
  // A few aliases are fine, and expand to copies.
  const YamlDocument doc = ParseYamlText("base: &b {bits: 4}\nother: *b\n", "c.yaml");
  EXPECT_EQ(doc.json.at("other").dump(), R"({"bits":4})");
}

TEST(YamlDocument, EveryValueKeepsItsLineByKeyPath) {
  const YamlDocument doc = ParseYamlText("# a comment\na:\n  b:\n    - 1\n    - x: 2\n      y: [3, 4]\nc: {d: 5}\n", "c.yaml");
  EXPECT_EQ(doc.lines.at("a"), 2);
  EXPECT_EQ(doc.lines.at("a.b"), 3);
  EXPECT_EQ(doc.lines.at("a.b[0]"), 4);
  EXPECT_EQ(doc.lines.at("a.b[1]"), 5);
  EXPECT_EQ(doc.lines.at("a.b[1].x"), 5);
  EXPECT_EQ(doc.lines.at("a.b[1].y"), 6);
  EXPECT_EQ(doc.lines.at("a.b[1].y[1]"), 6);
  EXPECT_EQ(doc.lines.at("c.d"), 7);
}

TEST(YamlDocument, KeysKeepTheirOrder) {
  const YamlDocument doc = ParseYamlText("zeta: 1\nalpha: 2\nmid: 3\n", "c.yaml");
  EXPECT_EQ(doc.json.dump(), R"({"zeta":1,"alpha":2,"mid":3})");
  EXPECT_EQ(ToSortedJson(doc.json).dump(), R"({"alpha":2,"mid":3,"zeta":1})");
  EXPECT_TRUE(ToSortedJson(doc.json)["zeta"].is_number_unsigned());
}

// Written YAML reads back as the very document it was written from, for strings that need quoting,
// numbers of every JSON type, and nesting of every shape.
TEST(YamlDocument, WrittenTextReadsBackAsTheSameDocument) {
  const ordered_json doc = ParseOrderedJsonText(R"({
    "strings": ["", "true", "8", "1e5", "null", "~", "a: b", "# x", " lead", "trail ", "multi\nline", "tab\t",
                "\u00fcn\u00efcode", "-dash", "x y", "'q'", "\"dq\"", ".inf", "yes", "[1]", "{a}", "*star", "&amp",
                "!bang", "%pct", "@at", "`tick", "|", ">", "0x1F", "plain_ok", "path/to/file.h5", "\u0001"],
    "numbers": [0, -0, 1, -5, 0.1, 1e300, -0.0, 1.0, 18446744073709551615, -9223372036854775808, 5e-05, 123456789.123],
    "other": [null, true, false, {}, [], [[]], [{}], [[1, 2], [3]], [{"a": 1, "b": [2]}, {"c": {}}]],
    "nested": {"z": {"y": {"x": [1, {"w": null}]}}, "a": []},
    "weird keys": {"": 1, "true": 2, "8": 3, "a: b": 4, "- x": 5}
  })", "c.json");
  const std::string text = WriteYamlText(doc);
  EXPECT_TRUE(SameDocument(ParseYamlText(text, "c.yaml").json, doc)) << text;
  // Scalars and empty containers at the top level.
  for (const char* json : {"3", "\"s\"", "null", "{}", "[]", "[1, [2]]"}) {
    const ordered_json j = ParseOrderedJsonText(json, "c.json");
    EXPECT_TRUE(SameDocument(ParseYamlText(WriteYamlText(j), "c.yaml").json, j)) << json;
  }
}

// The same, for seeded random documents.
TEST(YamlDocument, RandomDocumentsReadBackAsWritten) {
  std::mt19937_64 rng(20261202);
  const std::string alphabet = "ab:#- '\"\\\n\t{}[],&*!|>%@`.0123456789eE+~";
  std::function<ordered_json(int)> make = [&](int depth) -> ordered_json {
    switch (rng() % (depth > 4 ? 4 : 6)) {
      case 0: return static_cast<int64_t>(rng()) >> (rng() % 64);
      case 1: return std::ldexp(static_cast<double>(static_cast<int64_t>(rng())), -static_cast<int>(rng() % 80));
      case 2: {
        std::string s;
        for (size_t n = rng() % 8; n > 0; --n) s += alphabet[rng() % alphabet.size()];
        return s;
      }
      case 3: return rng() % 3 == 0 ? ordered_json(nullptr) : ordered_json(rng() % 2 == 0);
      case 4: {
        ordered_json a = ordered_json::array();
        for (size_t n = rng() % 4; n > 0; --n) a.push_back(make(depth + 1));
        return a;
      }
      default: {
        ordered_json o = ordered_json::object();
        for (size_t n = rng() % 4; n > 0; --n) o["k" + std::to_string(rng() % 100)] = make(depth + 1);
        return o;
      }
    }
  };
  for (int trial = 0; trial < 300; ++trial) {
    const ordered_json doc = make(0);
    const std::string text = WriteYamlText(doc);
    ASSERT_TRUE(SameDocument(ParseYamlText(text, "c.yaml").json, doc)) << doc.dump() << "\n" << text;
  }
}

}  // namespace
}  // namespace cimsim
