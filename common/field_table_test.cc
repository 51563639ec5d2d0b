// The field-table mechanism on a toy struct: validation of applicable fields only, values applied in
// table order with the "only allowed with" / "missing" rules and the origin note, and the docs row.
#include "common/field_table.h"

#include <gtest/gtest.h>

#include "common/field_builders.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using testing::InputErrorOf;

enum class Shape { kDot, kBox };
std::string_view ToString(Shape s) { return s == Shape::kDot ? "dot" : s == Shape::kBox ? "box" : "?"; }

struct Toy {
  std::string origin;   // "where the shape came from", for the origin note
  Shape shape = Shape::kDot;
  int side = 1;         // box only, 1..10, required when the shape becomes box
  double gain = 0.5;    // [0, 1]
};

std::vector<Field<Toy>> ToyFields() {
  return {
      ChoiceField<Toy>("shape", [](auto& t) -> auto& { return t.shape; }, EnumNames<Shape>(2), "a shape", "the shape"),
      Required(When(IntField<Toy>("box.side", [](auto& t) -> auto& { return t.side; }, IntRange(1, 10), "cells", "side"),
                    "shape", {"box"}, "",
                    [](const Toy& t) { return t.origin.empty() ? std::string() : ", from " + t.origin; }),
               "its size"),
      NumberField<Toy>("gain", [](auto& t) -> auto& { return t.gain; }, Closed(0, 1), "", "gain | with a bar"),
  };
}

TEST(FieldTableTest, ValidatesOnlyApplicableFields) {
  Toy t;
  t.side = 99;   // a dot: side does not apply
  EXPECT_NO_THROW(ValidateFields(ToyFields(), t, FieldChecker("toy.json: toy")));
  t.shape = Shape::kBox;
  EXPECT_EQ(InputErrorOf([&] { ValidateFields(ToyFields(), t, FieldChecker("toy.json: toy")); }),
            "toy.json: toy.box.side: 99 is out of range; allowed 1..10");
  t = Toy{};
  t.gain = 1.5;
  EXPECT_EQ(InputErrorOf([&] { ValidateFields(ToyFields(), t, FieldChecker("t")); }),
            "t.gain: 1.5 is out of range; allowed [0, 1]");
  t = Toy{};
  t.shape = static_cast<Shape>(5);
  EXPECT_EQ(InputErrorOf([&] { ValidateFields(ToyFields(), t, FieldChecker("t")); }),
            "t.shape: 5 is not a shape; allowed dot, box");
}

TEST(FieldTableTest, AppliesInTableOrderWithTheApplicabilityRules) {
  const FieldChecker c("t");
  Toy t;
  ApplyFields(ToyFields(), FieldValues{{0, int64_t{1}}, {1, int64_t{4}}, {2, 0.25}}, t, c);   // the selector first
  EXPECT_EQ(t.shape, Shape::kBox);
  EXPECT_EQ(t.side, 4);
  EXPECT_EQ(t.gain, 0.25);

  Toy dot;
  dot.origin = "the preset";
  EXPECT_EQ(InputErrorOf([&] { ApplyFields(ToyFields(), FieldValues{{1, int64_t{4}}}, dot, c); }),
            "t.box.side: only allowed with \"shape\": \"box\" (the shape here is \"dot\", from the preset)");
  // Set by the same input: no origin.
  EXPECT_EQ(InputErrorOf([&] { ApplyFields(ToyFields(), FieldValues{{0, int64_t{0}}, {1, int64_t{4}}}, dot, c); }),
            "t.box.side: only allowed with \"shape\": \"box\" (the shape here is \"dot\")");
  EXPECT_EQ(InputErrorOf([&] { ApplyFields(ToyFields(), FieldValues{{0, int64_t{1}}}, dot, c); }),
            "t.box.side: missing; \"shape\": \"box\" needs it (its size)");
  // Not a change of the selector: nothing is required.
  Toy box;
  box.shape = Shape::kBox;
  EXPECT_NO_THROW(ApplyFields(ToyFields(), FieldValues{{0, int64_t{1}}}, box, c));
}

TEST(FieldTableTest, MarkdownRowsNameRangeApplicabilityAndDefault) {
  const std::string table = MarkdownTable(ToyFields(), Toy{});
  EXPECT_EQ(table,
            "| key | type, allowed | unit | applies | default | meaning |\n"
            "|---|---|---|---|---|---|\n"
            "| `shape` | `\"dot\"`, `\"box\"` | — | always | `\"dot\"` | the shape |\n"
            "| `box.side` | integer 1..10 | cells | `shape` = `box` (required there) | 1 | side |\n"
            "| `gain` | number [0, 1] | — | always | 0.5 | gain \\| with a bar |\n");
}

}  // namespace
}  // namespace cimsim
