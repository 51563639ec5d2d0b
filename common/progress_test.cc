#include "common/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace cimsim {
namespace {

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::ostringstream out;
  Progress p("eval", 100, out, /*is_terminal=*/false, /*plain_interval_s=*/0.0);
  p.Add(30);
  p.Add(70);
  p.Finish();
  const std::string s = out.str();
  EXPECT_NE(s.find("eval 30/100 (30.0%)"), std::string::npos) << s;
  EXPECT_NE(s.find("eval 100/100 (100.0%)"), std::string::npos) << s;
  EXPECT_NE(s.find("items/s"), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
}

TEST(Progress, BarOnATerminal) {
  std::ostringstream out;
  Progress p("eval", 10, out, /*is_terminal=*/true);
  p.Add(10);
  p.Finish();
  EXPECT_NE(out.str().find("[##############################]"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find('\r'), std::string::npos);
}

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(125), "2:05");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
  EXPECT_EQ(FormatDuration(-1), "?");
}

}  // namespace
}  // namespace cimsim
