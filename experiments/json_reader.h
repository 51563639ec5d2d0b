// json_reader.h — the typed, path-naming reads every JSON config of cimsim shares.
//
// Each config reader (quantization, device, crossbar) validates a nlohmann::json document against its
// schema; the pieces that do not depend on the schema live here, so that every config reports the same
// way: an InputError "<prefix><sep><path>: <problem>", e.g. "q.json: layers[1].weight_bits: 9 is out of
// range; allowed 2..8" (prefix "q.json", separator ": ") or "xbar.json: crossbar.adc.bits: ..." (prefix
// "xbar.json: crossbar", separator "."). Paths are built with Child ("a.b") and Element ("a[2]"); values
// in messages are their JSON text, cut short (Show). Integral floats (8.0, 1e6) count as integers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace cimsim {

// "a, b, c"
std::string JoinWords(std::span<const std::string_view> words);
// path + "." + key ("key" alone when path is empty)
std::string Child(const std::string& path, std::string_view key);
// path + "[i]"
std::string Element(const std::string& path, size_t i);
// A value for a message: its JSON text, cut to 60 characters.
std::string Show(const nlohmann::json& v);
// Limits of every config cimsim reads (JSON or YAML, experiments/config_file.h): nesting depth and file size.
inline constexpr int kMaxJsonDepth = 64;
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{64} << 20;
// The JSON document in `text`. InputError "<source>: not valid JSON: ..." (syntax, a number beyond a
// double), "<source>: <key path>: duplicate key ...", or nesting beyond kMaxJsonDepth.
nlohmann::json ParseJsonText(const std::string& text, const std::string& source);
// The same with the keys in the order the text has them (cimsim config convert).
nlohmann::ordered_json ParseOrderedJsonText(const std::string& text, const std::string& source);

class JsonReader {
 public:
  // Errors name prefix + separator + path (just the part that is not empty).
  JsonReader(std::string prefix, std::string separator) : prefix_(std::move(prefix)), separator_(std::move(separator)) {}

  [[noreturn]] void Fail(const std::string& path, const std::string& problem) const;
  // What Fail names: prefix + separator + path ("run.json: data").
  std::string Where(const std::string& path) const;

  void RequireObject(const nlohmann::json& j, const std::string& path) const;
  // Every key of object j must be one of `allowed` ("<path>.<key>: unknown key; allowed: ...").
  void CheckKeys(const nlohmann::json& j, const std::string& path, std::span<const std::string_view> allowed) const;

  double Number(const nlohmann::json& j, const std::string& path) const;
  bool Bool(const nlohmann::json& j, const std::string& path) const;
  std::string String(const nlohmann::json& j, const std::string& path) const;
  // An integer that fits an int; the allowed range is the caller's to check. Out of int range:
  // "<v> is out of range; allowed <allowed>", or "<v> is out of range for an integer" when allowed is empty.
  int Int(const nlohmann::json& j, const std::string& path, std::string_view allowed = {}) const;
  // An integer in [lo, hi] ("allowed lo..hi", or ">= lo" when hi is the int64 maximum).
  int64_t Integer(const nlohmann::json& j, const std::string& path, int64_t lo, int64_t hi) const;
  uint64_t Unsigned64(const nlohmann::json& j, const std::string& path) const;

  // One of `values`, written as name(value): otherwise "<v> is not <phrase>; allowed <names>".
  template <typename Enum, size_t N>
  Enum Choice(const nlohmann::json& j, const std::string& path, const Enum (&values)[N],
              std::type_identity_t<std::string_view (*)(Enum)> name, std::string_view phrase) const {
    const std::string text = String(j, path);
    std::string allowed;
    for (Enum v : values) {
      if (text == name(v)) return v;
      allowed += (allowed.empty() ? "" : ", ") + std::string(name(v));
    }
    Fail(path, Show(j) + " is not " + std::string(phrase) + "; allowed " + allowed);
  }
  // The same with the enum's ToString (found by argument-dependent lookup).
  template <typename Enum, size_t N>
  Enum Choice(const nlohmann::json& j, const std::string& path, const Enum (&values)[N], std::string_view phrase) const {
    return Choice(j, path, values, [](Enum v) { return ToString(v); }, phrase);
  }

 private:
  std::string prefix_, separator_;
};

}  // namespace cimsim
