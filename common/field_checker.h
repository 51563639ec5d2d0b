// field_checker.h — messages for bad parameters: "<where>.<field>: <value> is out of range; allowed ...".
//
// ShortestNumber(v): the shortest text that reads back as v (0.2 → "0.2", not "0.20000000000000001";
// 30 → "30"). FieldChecker(where) names fields under `where` (e.g. "xbar.json: device"): Field("g_max")
// is "xbar.json: device.g_max", Name("g_max") the part after where's last ": " ("device.g_max", to name
// a second field inside a message). Its checks throw InputError (common/error.h) with one message.
#pragma once

#include <string>
#include <string_view>

namespace cimsim {

std::string ShortestNumber(double v);

class FieldChecker {
 public:
  explicit FieldChecker(const std::string& where);

  std::string Field(std::string_view field) const;
  std::string Name(std::string_view field) const;

  [[noreturn]] void Fail(std::string_view field, const std::string& problem) const;
  void AtLeast(double v, std::string_view field, double lo) const;          // finite, >= lo
  void Above(double v, std::string_view field, double lo) const;            // finite, > lo
  void Within(double v, std::string_view field, double lo, double hi) const;
  void Finite(double v, std::string_view field) const;
  void IntWithin(int v, std::string_view field, int lo, int hi) const;      // lo..hi

 private:
  std::string where_, path_;
};

}  // namespace cimsim
