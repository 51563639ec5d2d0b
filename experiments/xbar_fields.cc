#include "experiments/xbar_fields.h"

#include <cstdio>

#include "common/error.h"
#include "devices/device_fields.h"
#include "devices/device_presets.h"
#include "experiments/external_chip_json.h"
#include "experiments/field_table_json.h"
#include "sim/crossbar_fields.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kXbarKeys[] = {"seed", "device", "crossbar", "external"};

std::string Prefix(const std::string& source) { return source.empty() ? "" : source + ": "; }

// "unknown key" for a path inside a part: names the keys of the deepest object on the path that exists.
template <typename T>
[[noreturn]] void UnknownPath(const std::vector<Field<T>>& fields, const std::string& part, const std::string& inner) {
  std::vector<std::string> keys = SplitKey(inner);
  std::string object;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    const std::string next = Child(object, keys[i]);
    if (KeysUnder(fields, next).empty()) break;
    object = next;
  }
  const std::vector<std::string> allowed = KeysUnder(fields, object);
  std::vector<std::string_view> views(allowed.begin(), allowed.end());
  throw InputError(part + "." + inner + ": unknown key; allowed: " + JoinWords(views));
}

template <typename T>
std::vector<size_t> Resolve(const std::vector<Field<T>>& fields, const std::string& part, const std::string& inner) {
  std::vector<size_t> covered = FieldsUnder(fields, inner);
  if (covered.empty()) UnknownPath(fields, part, inner);
  return covered;
}

// v placed at `inner` inside an object: {"adc": {"bits": v}} for "adc.bits".
json Nest(const std::string& inner, const json& v) {
  json out = v;
  const std::vector<std::string> keys = SplitKey(inner);
  for (size_t i = keys.size(); i-- > 0;) out = json{{keys[i], out}};
  return out;
}

}  // namespace

XbarInputs ReadXbarInputs(const json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kXbarKeys);
  XbarInputs in;
  if (j.contains("seed")) in.seed = r.Unsigned64(j["seed"], "seed");
  if (j.contains("device")) in.device = ReadFieldValues(DeviceFields(), j["device"], JsonReader(Prefix(source) + "device", "."));
  if (j.contains("crossbar"))
    in.crossbar = ReadFieldValues(CrossbarFields(), j["crossbar"], JsonReader(Prefix(source) + "crossbar", "."));
  if (j.contains("external")) {
    for (const char* key : {"device", "crossbar"}) {
      if (j.contains(key)) {
        r.Fail(key, "not allowed next to \"external\": an external chip brings its own device and geometry");
      }
    }
    in.external = ReadExternalChip(j["external"], Prefix(source) + "external");
  }
  return in;
}

XbarConfig BuildXbarConfig(const XbarInputs& in, const std::string& source) {
  XbarConfig c;
  c.source = source;
  if (in.seed) c.seed = *in.seed;
  const std::string device = Prefix(source) + "device", crossbar = Prefix(source) + "crossbar";
  if (in.device) {
    c.device = DeviceParams{};
    ApplyFields(DeviceFields(), *in.device, c.device, FieldChecker(device));
  } else {
    c.device = DevicePreset("ideal");
  }
  c.device.Validate(device);
  ApplyFields(CrossbarFields(), in.crossbar, c.crossbar, FieldChecker(crossbar));
  c.crossbar.Validate(crossbar);
  c.external = in.external;
  return c;
}

XbarSetter ResolveXbarPath(const std::string& path) {
  XbarSetter s;
  s.path = path;
  if (path == "seed") return s;
  const size_t dot = path.find('.');
  const std::string part = path.substr(0, dot), inner = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (inner.empty() || (part != "device" && part != "crossbar")) {
    throw InputError(path + ": unknown key; allowed: seed, device.<key>, crossbar.<key>");
  }
  if (part == "device") {
    s.part = XbarPart::kDevice;
    s.fields = Resolve(DeviceFields(), part, inner);
  } else {
    s.part = XbarPart::kCrossbar;
    s.fields = Resolve(CrossbarFields(), part, inner);
  }
  return s;
}

XbarValue XbarValueOf(const XbarSetter& s, const json& v) {
  XbarValue out;
  if (s.part == XbarPart::kSeed) {
    out.seed = JsonReader("", "").Unsigned64(v, "seed");
    return out;
  }
  const std::string part = s.part == XbarPart::kDevice ? "device" : "crossbar";
  const std::string inner = s.path.substr(part.size() + 1);
  const JsonReader r(part, ".");
  out.values = s.part == XbarPart::kDevice ? ReadFieldValues(DeviceFields(), Nest(inner, v), r)
                                           : ReadFieldValues(CrossbarFields(), Nest(inner, v), r);
  return out;
}

void ApplyXbarValue(const XbarSetter& s, const XbarValue& v, XbarInputs& in) {
  if (s.part == XbarPart::kSeed) {
    in.seed = v.seed;
    return;
  }
  FieldValues& values = s.part == XbarPart::kCrossbar ? in.crossbar : (in.device ? *in.device : in.device.emplace());
  for (size_t i : s.fields) values.erase(i);
  for (const auto& [i, value] : v.values) values[i] = value;
}

uint64_t ChipId(const XbarConfig& config) { return Fnv1a64(XbarConfigToJson(config).dump()); }

uint64_t ChipIdOfJson(const std::string& xbar_json) {
  // Read back through the field tables, so a config stored before a key existed gets that key's default
  // (the chip it describes), as a config file without the key does.
  return ChipId(BuildXbarConfig(ReadXbarInputs(json::parse(xbar_json), "stored xbar_config"), "stored xbar_config"));
}

std::string ChipIdText(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace cimsim
