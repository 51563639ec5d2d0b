#include "common/field_checker.h"

#include <array>
#include <charconv>
#include <cmath>

#include "common/error.h"

namespace cimsim {

std::string ShortestNumber(double v) {
  std::array<char, 64> buf;
  const std::to_chars_result r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

FieldChecker::FieldChecker(const std::string& where) : where_(where) {
  const size_t colon = where.rfind(": ");
  path_ = colon == std::string::npos ? where : where.substr(colon + 2);
}

std::string FieldChecker::Field(std::string_view field) const {
  return where_.empty() ? std::string(field) : where_ + "." + std::string(field);
}

std::string FieldChecker::Name(std::string_view field) const {
  return path_.empty() ? std::string(field) : path_ + "." + std::string(field);
}

void FieldChecker::Fail(std::string_view field, const std::string& problem) const {
  throw InputError(Field(field) + ": " + problem);
}

void FieldChecker::AtLeast(double v, std::string_view field, double lo) const {
  if (!(v >= lo) || !std::isfinite(v)) {
    Fail(field, ShortestNumber(v) + " is out of range; allowed >= " + ShortestNumber(lo));
  }
}

void FieldChecker::Above(double v, std::string_view field, double lo) const {
  if (!(v > lo) || !std::isfinite(v)) Fail(field, ShortestNumber(v) + " is out of range; allowed > " + ShortestNumber(lo));
}

void FieldChecker::Within(double v, std::string_view field, double lo, double hi) const {
  if (!(v >= lo && v <= hi)) {
    Fail(field, ShortestNumber(v) + " is out of range; allowed [" + ShortestNumber(lo) + ", " + ShortestNumber(hi) + "]");
  }
}

void FieldChecker::Finite(double v, std::string_view field) const {
  if (!std::isfinite(v)) Fail(field, ShortestNumber(v) + " is out of range; allowed any finite number");
}

void FieldChecker::IntWithin(int v, std::string_view field, int lo, int hi) const {
  if (v < lo || v > hi) {
    Fail(field, std::to_string(v) + " is out of range; allowed " + std::to_string(lo) + ".." + std::to_string(hi));
  }
}

}  // namespace cimsim
