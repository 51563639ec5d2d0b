#include "experiments/lifetime_config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cimsim {
namespace {

using nlohmann::json;

constexpr LifetimePolicy kPolicies[] = {LifetimePolicy::kNone, LifetimePolicy::kGlobal, LifetimePolicy::kPerColumn,
                                        LifetimePolicy::kReprogram};
constexpr ReprogramMetric kMetrics[] = {ReprogramMetric::kError, ReprogramMetric::kAlpha};
constexpr size_t kMaxTimes = 64;

// A number of seconds after programming: finite and > 0 (>= 0 when zero_ok).
double Seconds(const JsonReader& r, const json& j, const std::string& path, bool zero_ok) {
  const double t = r.Number(j, path);
  if (!std::isfinite(t) || t < 0 || (t == 0 && !zero_ok))
    r.Fail(path, Show(j) + " is out of range; allowed finite numbers " + (zero_ok ? ">= 0" : "> 0") +
                     " (seconds after programming)");
  return t;
}

ReprogramParams ReadReprogram(const JsonReader& r, const json& j) {
  const std::string path = "lifetime.reprogram";
  r.RequireObject(j, path);
  static constexpr std::string_view kKeys[] = {"metric", "threshold"};
  r.CheckKeys(j, path, kKeys);
  ReprogramParams p;
  if (j.contains("metric")) p.metric = r.Choice(j["metric"], Child(path, "metric"), kMetrics, "a reprogram metric");
  if (!j.contains("threshold"))
    r.Fail(Child(path, "threshold"), "required, a number > 0 (a layer whose metric exceeds it is reprogrammed)");
  p.threshold = r.Number(j["threshold"], Child(path, "threshold"));
  if (!std::isfinite(p.threshold) || !(p.threshold > 0))
    r.Fail(Child(path, "threshold"), Show(j["threshold"]) + " is out of range; allowed finite numbers > 0");
  return p;
}

}  // namespace

std::string_view ToString(LifetimePolicy policy) {
  switch (policy) {
    case LifetimePolicy::kNone: return "none";
    case LifetimePolicy::kGlobal: return "global";
    case LifetimePolicy::kPerColumn: return "per_column";
    case LifetimePolicy::kReprogram: return "reprogram";
  }
  return "?";
}

std::string_view ToString(ReprogramMetric metric) {
  switch (metric) {
    case ReprogramMetric::kError: return "error";
    case ReprogramMetric::kAlpha: return "alpha";
  }
  return "?";
}

bool LifetimeParams::Has(LifetimePolicy p) const {
  return std::find(policies.begin(), policies.end(), p) != policies.end();
}

LifetimeParams ReadLifetime(const JsonReader& r, const json& j) {
  const std::string path = "lifetime";
  r.RequireObject(j, path);
  static constexpr std::string_view kKeys[] = {"times", "policies", "calibrate_at", "reprogram"};
  r.CheckKeys(j, path, kKeys);
  LifetimeParams p;

  const std::string tpath = Child(path, "times");
  if (!j.contains("times")) r.Fail(tpath, "required, e.g. [1, 60, 3600, 86400] (seconds after programming)");
  const json& times = j["times"];
  if (!times.is_array() || times.empty() || times.size() > kMaxTimes)
    r.Fail(tpath, "expected an array of 1.." + std::to_string(kMaxTimes) + " times in seconds, got " + Show(times));
  for (size_t i = 0; i < times.size(); ++i) {
    const double t = Seconds(r, times[i], Element(tpath, i), false);
    if (i > 0 && !(t > p.times.back()))
      r.Fail(Element(tpath, i), Show(times[i]) + " must be > " + Element(tpath, i - 1) + " (" + Show(times[i - 1]) +
                                    "); the times are strictly increasing");
    p.times.push_back(t);
  }

  const std::string ppath = Child(path, "policies");
  if (!j.contains("policies")) r.Fail(ppath, "required, a non-empty array of none, global, per_column, reprogram");
  const json& policies = j["policies"];
  if (!policies.is_array() || policies.empty())
    r.Fail(ppath, "expected a non-empty array of none, global, per_column, reprogram, got " + Show(policies));
  for (size_t i = 0; i < policies.size(); ++i) {
    const LifetimePolicy policy = r.Choice(policies[i], Element(ppath, i), kPolicies, "a lifetime policy");
    if (p.Has(policy)) r.Fail(Element(ppath, i), Show(policies[i]) + " appears twice");
    p.policies.push_back(policy);
  }

  p.calibrate_at = p.times.front();
  if (j.contains("calibrate_at")) {
    const std::string cpath = Child(path, "calibrate_at");
    p.calibrate_at = Seconds(r, j["calibrate_at"], cpath, true);
    if (p.calibrate_at > p.times.front())
      r.Fail(cpath, Show(j["calibrate_at"]) + " is after lifetime.times[0] (" + Show(times[0]) + "); allowed 0.." +
                        Show(times[0]) + " (a chip is calibrated before it is used)");
  }

  if (p.Has(LifetimePolicy::kReprogram)) {
    if (!j.contains("reprogram"))
      r.Fail(Child(path, "reprogram"),
             "required with the policy \"reprogram\", e.g. {\"metric\": \"error\", \"threshold\": 0.2}");
    p.reprogram = ReadReprogram(r, j["reprogram"]);
  } else if (j.contains("reprogram")) {
    r.Fail(Child(path, "reprogram"), "only allowed with \"reprogram\" in lifetime.policies");
  }
  return p;
}

json SecondsToJson(double seconds) {
  if (seconds == std::floor(seconds) && std::abs(seconds) < 9.0e15) return static_cast<int64_t>(seconds);
  return seconds;
}

json LifetimeToJson(const LifetimeParams& p) {
  json policies = json::array(), times = json::array();
  for (LifetimePolicy policy : p.policies) policies.push_back(std::string(ToString(policy)));
  for (double t : p.times) times.push_back(SecondsToJson(t));
  json j = {{"times", times}, {"policies", policies}, {"calibrate_at", SecondsToJson(p.calibrate_at)}};
  if (p.reprogram)
    j["reprogram"] = {{"metric", std::string(ToString(p.reprogram->metric))}, {"threshold", p.reprogram->threshold}};
  return j;
}

}  // namespace cimsim
