// TrainingLogCsv: the CSV of log.jsonl carries every column in order, each number as JSON writes it;
// a damaged line is named by file and line number.
#include "experiments/training_log.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cimsim {
namespace {

TEST(TrainingLogCsv, EveryEpochEveryColumnInOrderNumbersAsWritten) {
  const std::string jsonl =
      R"({"epoch":1,"images_per_s":211.5,"loss":0.32485479930134911,"lr":0.0097565224856812475,"seconds":266.7,"test_accuracy":82.11,"train_accuracy":84.83})"
      "\n"
      R"({"train_accuracy":86.528,"test_accuracy":82.57,"seconds":385.7,"lr":0.009,"loss":0.2,"images_per_s":143,"epoch":2})"
      "\n";
  EXPECT_EQ(TrainingLogCsv(jsonl, "run/log.jsonl"),
            "epoch,loss,train_accuracy,test_accuracy,lr,seconds,images_per_s\n"
            "1,0.3248547993013491,84.83,82.11,0.009756522485681247,266.7,211.5\n"
            "2,0.2,86.528,82.57,0.009,385.7,143\n");
  EXPECT_EQ(TrainingLogCsv("", "run/log.jsonl"), "epoch,loss,train_accuracy,test_accuracy,lr,seconds,images_per_s\n");
}

TEST(TrainingLogCsv, ADamagedLineIsNamed) {
  const std::string good = R"({"epoch":1,"loss":1,"train_accuracy":2,"test_accuracy":3,"lr":4,"seconds":5,"images_per_s":6})";
  auto expect_error = [&](const std::string& second, const std::string& fragment) {
    SCOPED_TRACE(second);
    try {
      TrainingLogCsv(good + "\n" + second + "\n", "run/log.jsonl");
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("run/log.jsonl: line 2: "), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  };
  expect_error(R"({"epoch":2,"loss":)", "not JSON");
  expect_error("[1, 2]", "not a JSON object");
  expect_error(R"({"epoch":2,"loss":1,"train_accuracy":2,"test_accuracy":3,"lr":4,"seconds":5})", "'images_per_s'");
  expect_error(R"({"epoch":2,"loss":"low","train_accuracy":2,"test_accuracy":3,"lr":4,"seconds":5,"images_per_s":6})",
               "'loss'");
}

}  // namespace
}  // namespace cimsim
