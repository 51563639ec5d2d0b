// CrossbarParams: the defaults validate; every field's range is enforced with a message naming the
// field, the value and the allowed range (a table); fields of modes not selected are ignored; the
// layer checks (slice bits vs weight bits, columns of one output, DAC bits vs input bits) by hand; the
// names of the enums; the magnitude-bit helpers by hand.
#include "sim/crossbar_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;

constexpr const char* kWhere = "xbar.json: crossbar";

TEST(CrossbarParamsTest, DefaultsAreValid) {
  const CrossbarParams p;
  EXPECT_NO_THROW(p.Validate(kWhere));
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
  EXPECT_EQ(p.rows_max, 128);
  EXPECT_EQ(p.cols_max, 128);
  EXPECT_EQ(p.mapping, CrossbarMapping::kDifferential);
  EXPECT_EQ(p.input.mode, InputMode::kBitSerial);
  EXPECT_EQ(p.adc.range, AdcRange::kMax);
  EXPECT_TRUE(p.read_noise);
  EXPECT_TRUE(p.periphery.Ideal());
}

TEST(CrossbarParamsTest, EveryRangeIsEnforcedWithFieldValueAndRange) {
  struct Bad {
    std::function<void(CrossbarParams&)> edit;
    std::string message;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Bad table[] = {
      {[](CrossbarParams& p) { p.rows_max = 0; }, "crossbar.rows_max: 0 is out of range; allowed 1..65536"},
      {[](CrossbarParams& p) { p.rows_max = 65537; }, "crossbar.rows_max: 65537 is out of range; allowed 1..65536"},
      {[](CrossbarParams& p) { p.cols_max = -3; }, "crossbar.cols_max: -3 is out of range; allowed 1..65536"},
      {[](CrossbarParams& p) { p.mapping = static_cast<CrossbarMapping>(7); },
       "crossbar.mapping: 7 is not a mapping; allowed differential, offset"},
      {[](CrossbarParams& p) { p.slice_bits = -1; }, "crossbar.slice_bits: -1 is out of range; allowed 0..16"},
      {[](CrossbarParams& p) { p.slice_bits = 17; }, "crossbar.slice_bits: 17 is out of range; allowed 0..16"},
      {[](CrossbarParams& p) { p.input.slice_bits = 0; }, "crossbar.input.slice_bits: 0 is out of range; allowed 1..16"},
      {[](CrossbarParams& p) {
         p.input.mode = InputMode::kDac;
         p.input.dac_bits = 17;
       },
       "crossbar.input.dac_bits: 17 is out of range; allowed 1..16"},
      {[](CrossbarParams& p) { p.input.mode = static_cast<InputMode>(5); },
       "crossbar.input.mode: 5 is not a mode; allowed dac, bit_serial"},
      {[](CrossbarParams& p) { p.adc.bits = 40; }, "crossbar.adc.bits: 40 is out of range; allowed 1..24"},
      {[](CrossbarParams& p) { p.adc.bits = 0; }, "crossbar.adc.bits: 0 is out of range; allowed 1..24"},
      {[](CrossbarParams& p) { p.adc.range = static_cast<AdcRange>(9); },
       "crossbar.adc.range: 9 is not a range; allowed max, fixed, calibrated"},
      {[](CrossbarParams& p) { p.adc.range = AdcRange::kFixed; },
       "crossbar.adc.fixed_range: 0 is out of range; allowed > 0 (integer units), finite"},
      {[nan](CrossbarParams& p) {
         p.adc.range = AdcRange::kFixed;
         p.adc.fixed_range = nan;
       },
       "crossbar.adc.fixed_range: nan is out of range"},
      {[](CrossbarParams& p) { p.read_time = -1; }, "crossbar.read_time: -1 is out of range; allowed 0..1e12 seconds (30,000 years)"},
      {[](CrossbarParams& p) { p.read_time = std::numeric_limits<double>::infinity(); },
       "crossbar.read_time: inf is out of range"},
      {[](CrossbarParams& p) { p.periphery.gain_sigma = -0.01; },
       "crossbar.periphery.gain_sigma: -0.01 is out of range; allowed 0..0.5 (relative)"},
      {[](CrossbarParams& p) { p.periphery.gain_sigma = 0.6; }, "crossbar.periphery.gain_sigma: 0.6 is out of range"},
      {[nan](CrossbarParams& p) { p.periphery.offset_sigma = nan; },
       "crossbar.periphery.offset_sigma: nan is out of range; allowed 0..1 (fraction of the column's full scale)"},
      {[](CrossbarParams& p) { p.periphery.offset_sigma = 2; }, "crossbar.periphery.offset_sigma: 2 is out of range"},
  };
  for (const Bad& bad : table) {
    CrossbarParams p;
    bad.edit(p);
    const std::string message = InputErrorOf([&] { p.Validate(kWhere); });
    EXPECT_TRUE(HasPart(message, std::string("xbar.json: ") + bad.message)) << message;
  }
}

TEST(CrossbarParamsTest, FieldsOfModesNotSelectedAreIgnored) {
  CrossbarParams p;
  p.input.mode = InputMode::kBitSerial;
  p.input.dac_bits = 0;          // a DAC setting in bit-serial mode
  p.adc.range = AdcRange::kMax;
  p.adc.fixed_range = -5;        // a fixed range with range "max"
  EXPECT_NO_THROW(p.Validate(kWhere));
  p.input.mode = InputMode::kDac;
  p.input.dac_bits = 8;
  p.input.slice_bits = 0;        // a bit-serial setting in DAC mode
  EXPECT_NO_THROW(p.Validate(kWhere));
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
}

TEST(CrossbarParamsTest, LayerChecksByHand) {
  CrossbarParams p;
  // Differential 8-bit weights: |w| has 7 bits, so slice_bits 7 is fine and 8 is not.
  p.slice_bits = 7;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
  p.slice_bits = 8;
  EXPECT_EQ(InputErrorOf([&] { p.ValidateLayer(kWhere, 8, 0, 255); }),
            "xbar.json: crossbar.slice_bits: 8 is larger than the 7 magnitude bits of 8-bit weights with the "
            "differential mapping; allowed 0..7");
  // Offset: u = w + w_max has 8 bits.
  p.mapping = CrossbarMapping::kOffset;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
  p.slice_bits = 9;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.ValidateLayer(kWhere, 8, 0, 255); }), "allowed 0..8"));

  // Columns of one output: differential 1-bit slices of 8-bit weights: 7 pairs = 14 columns.
  p = CrossbarParams{};
  p.slice_bits = 1;
  p.cols_max = 14;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
  p.cols_max = 13;
  EXPECT_EQ(InputErrorOf([&] { p.ValidateLayer(kWhere, 8, 0, 255); }),
            "xbar.json: crossbar.cols_max: 13 columns cannot hold one output of 8-bit weights with the "
            "differential mapping in 7 slice(s); allowed >= 14");
  // Offset: 8 digits + the reference column = 9.
  p.mapping = CrossbarMapping::kOffset;
  p.cols_max = 9;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
  p.cols_max = 8;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.ValidateLayer(kWhere, 8, 0, 255); }), "allowed >= 9"));

  // DAC bits against the input magnitude: 8 for [0, 255], 7 per pass for [−127, 127].
  p = CrossbarParams{};
  p.input.mode = InputMode::kDac;
  p.input.dac_bits = 7;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, -127, 127));
  EXPECT_EQ(InputErrorOf([&] { p.ValidateLayer(kWhere, 8, 0, 255); }),
            "xbar.json: crossbar.input.dac_bits: 7 bits cannot express input codes in [0, 255] (8 magnitude bits "
            "per pass); allowed 8..16");
  // Bit-serial inputs need no DAC resolution.
  p.input.mode = InputMode::kBitSerial;
  EXPECT_NO_THROW(p.ValidateLayer(kWhere, 8, 0, 255));
}

TEST(CrossbarParamsTest, MagnitudeBitsByHand) {
  EXPECT_EQ(WeightMagnitudeBits(CrossbarMapping::kDifferential, 8), 7);
  EXPECT_EQ(WeightMagnitudeBits(CrossbarMapping::kOffset, 8), 8);
  EXPECT_EQ(InputMagnitudeBits(0, 255), 8);
  EXPECT_EQ(InputMagnitudeBits(0, 256), 9);
  EXPECT_EQ(InputMagnitudeBits(-127, 127), 7);
  EXPECT_EQ(InputMagnitudeBits(-128, 5), 8);
  EXPECT_EQ(InputMagnitudeBits(0, 1), 1);
  EXPECT_EQ(InputMagnitudeBits(0, 0), 1);
  EXPECT_EQ(InputMagnitudeBits(-32768, 32767), 16);
}

TEST(CrossbarParamsTest, RowCopiesByHand) {
  CrossbarParams p;   // rows_max 128, one device per cell
  EXPECT_EQ(RowCopies(p, 27), 1);   // off by default
  p.replicate_rows = true;
  EXPECT_EQ(RowCopies(p, 27), 4);   // the CIFAR stem: 3·3·3 rows, 108 of 128 used
  EXPECT_EQ(RowCopies(p, 64), 2);   // ResNet-20's linear
  EXPECT_EQ(RowCopies(p, 65), 1);   // fits once
  EXPECT_EQ(RowCopies(p, 128), 1);
  EXPECT_EQ(RowCopies(p, 576), 1);  // spans tiles: not replicated
  EXPECT_EQ(RowCopies(p, 1), 16);   // at most 16 devices per cell in all
  p.devices_per_cell = 3;
  EXPECT_EQ(RowCopies(p, 27), 4);
  EXPECT_EQ(RowCopies(p, 8), 5);    // ⌊16/3⌋
  p.devices_per_cell = 16;
  EXPECT_EQ(RowCopies(p, 8), 1);
}

TEST(CrossbarParamsTest, Names) {
  EXPECT_EQ(ToString(CrossbarMapping::kDifferential), "differential");
  EXPECT_EQ(ToString(CrossbarMapping::kOffset), "offset");
  EXPECT_EQ(ToString(InputMode::kDac), "dac");
  EXPECT_EQ(ToString(InputMode::kBitSerial), "bit_serial");
  EXPECT_EQ(ToString(AdcRange::kMax), "max");
  EXPECT_EQ(ToString(AdcRange::kFixed), "fixed");
  EXPECT_EQ(ToString(AdcRange::kCalibrated), "calibrated");
}

}  // namespace
}  // namespace cimsim
