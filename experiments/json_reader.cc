#include "experiments/json_reader.h"

#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "common/error.h"

namespace cimsim {

using nlohmann::json;

std::string JoinWords(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Element(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

namespace {

// Fed the parser's callback events: rejects a key that appears twice in one object (nlohmann would
// keep the last silently) and nesting deeper than kMaxJsonDepth, naming the path.
class JsonGuard {
 public:
  explicit JsonGuard(const std::string& source) : source_(source) {}

  template <typename Json>  // nlohmann::json or ordered_json (parse_event_t is the same type for both)
  bool operator()(int depth, json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth)
      throw InputError(source_ + ": arrays and objects nested more than " + std::to_string(kMaxJsonDepth) +
                       " levels deep; a cimsim config is nested a few levels");
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        CountElement();
        frames_.push_back({event == json::parse_event_t::array_start, {}, {}, 0});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& top = frames_.back();
        const std::string key = parsed.template get<std::string>();
        if (!top.keys.insert(key).second) {
          top.key = key;
          throw InputError(source_ + ": " + Path() + ": duplicate key; each key may appear once per object");
        }
        top.key = key;
        break;
      }
      case json::parse_event_t::value:
        CountElement();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::set<std::string> keys;
    std::string key;     // object: the current member's key
    size_t elements;     // array: elements started so far
  };

  void CountElement() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().elements;
  }

  std::string Path() const {
    std::string path;
    for (const Frame& f : frames_) {
      path = f.is_array ? Element(path, f.elements - 1) : Child(path, f.key);
    }
    return path;
  }

  std::string source_;
  std::vector<Frame> frames_;
};


// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string Untagged(const std::string& what) {
  const size_t bracket = what.find("] ");
  if (what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) return what.substr(bracket + 2);
  return what;
}

template <typename Json>
Json ParseGuarded(const std::string& text, const std::string& source) {
  try {
    return Json::parse(text, JsonGuard(source));
  } catch (const typename Json::exception& e) {  // parse errors, and numbers beyond a double (out_of_range.406)
    throw InputError(source + ": not valid JSON: " + Untagged(e.what()));
  }
}

}  // namespace

nlohmann::json ParseJsonText(const std::string& text, const std::string& source) {
  return ParseGuarded<nlohmann::json>(text, source);
}

nlohmann::ordered_json ParseOrderedJsonText(const std::string& text, const std::string& source) {
  return ParseGuarded<nlohmann::ordered_json>(text, source);
}

std::string Show(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string JsonReader::Where(const std::string& path) const {
  std::string at = prefix_;
  if (!path.empty()) at += (at.empty() ? "" : separator_) + path;
  return at;
}

void JsonReader::Fail(const std::string& path, const std::string& problem) const {
  const std::string at = Where(path);
  throw InputError(at.empty() ? problem : at + ": " + problem);
}

void JsonReader::RequireObject(const json& j, const std::string& path) const {
  if (!j.is_object()) Fail(path, "expected an object {...}, got " + Show(j));
}

void JsonReader::CheckKeys(const json& j, const std::string& path, std::span<const std::string_view> allowed) const {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) Fail(Child(path, key), "unknown key; allowed: " + JoinWords(allowed));
  }
}

double JsonReader::Number(const json& j, const std::string& path) const {
  if (!j.is_number()) Fail(path, "expected a number, got " + Show(j));
  return j.get<double>();
}

bool JsonReader::Bool(const json& j, const std::string& path) const {
  if (!j.is_boolean()) Fail(path, "expected true or false, got " + Show(j));
  return j.get<bool>();
}

std::string JsonReader::String(const json& j, const std::string& path) const {
  if (!j.is_string()) Fail(path, "expected a string, got " + Show(j));
  return j.get<std::string>();
}

int JsonReader::Int(const json& j, const std::string& path, std::string_view allowed) const {
  if (!j.is_number()) Fail(path, "expected an integer, got " + Show(j));
  const double d = j.get<double>();
  if (!std::isfinite(d) || std::trunc(d) != d) Fail(path, "expected an integer, got " + Show(j));
  if (j.is_number_unsigned() ? j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int>::max())
                             : (d < std::numeric_limits<int>::min() || d > std::numeric_limits<int>::max())) {
    Fail(path, Show(j) + (allowed.empty() ? " is out of range for an integer"
                                          : " is out of range; allowed " + std::string(allowed)));
  }
  return j.is_number_integer() ? static_cast<int>(j.get<int64_t>()) : static_cast<int>(d);
}

int64_t JsonReader::Integer(const json& j, const std::string& path, int64_t lo, int64_t hi) const {
  const std::string allowed = hi == std::numeric_limits<int64_t>::max() ? ">= " + std::to_string(lo)
                                                                        : std::to_string(lo) + ".." + std::to_string(hi);
  std::optional<int64_t> value;
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) value = static_cast<int64_t>(u);
  } else if (j.is_number_integer()) {
    value = j.get<int64_t>();
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d) Fail(path, "expected an integer, got " + Show(j));
    if (d >= -9.2e18 && d <= 9.2e18) value = static_cast<int64_t>(d);
  } else {
    Fail(path, "expected an integer, got " + Show(j));
  }
  if (!value || *value < lo || *value > hi) Fail(path, Show(j) + " is out of range; allowed " + allowed);
  return *value;
}

uint64_t JsonReader::Unsigned64(const json& j, const std::string& path) const {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {   // a signed JSON integer (e.g. built in code): fine when >= 0
    const int64_t v = j.get<int64_t>();
    if (v < 0) Fail(path, Show(j) + " is out of range; allowed 0..18446744073709551615");
    return static_cast<uint64_t>(v);
  }
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d) Fail(path, "expected an integer, got " + Show(j));
    if (d < 0 || d >= 18446744073709551616.0) Fail(path, Show(j) + " is out of range; allowed 0..18446744073709551615");
    return static_cast<uint64_t>(d);
  }
  Fail(path, "expected an integer, got " + Show(j));
}

}  // namespace cimsim
