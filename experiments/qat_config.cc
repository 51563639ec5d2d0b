#include "experiments/qat_config.h"

#include "common/error.h"
#include "experiments/quant_config_json.h"

namespace cimsim {

QatConfig DefaultQatConfig() {
  QatConfig c;
  c.train.batches.augment = true;
  c.train.epochs = 15;
  c.train.schedule.kind = "cosine";
  c.train.schedule.base_lr = 0.01;
  return c;
}

QatConfig ParseQatConfig(const nlohmann::json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  QatConfig c = DefaultQatConfig();
  c.train.source = source;
  static constexpr std::string_view kExtra[] = {"quant"};
  ReadTrainKeys(r, j, c.train, kExtra);
  if (j.contains("quant")) {
    const nlohmann::json& q = j["quant"];
    if (q.is_string()) {
      c.plan = LoadQuantConfig(q.get<std::string>());
    } else if (q.is_object()) {
      c.plan = ParseQuantConfig(q, (source.empty() ? std::string() : source + ": ") + "quant");
    } else {
      r.Fail("quant", "expected a quantization config file name or object (docs/quant_config.md)");
    }
    c.plan_given = true;
  }
  return c;
}

QatConfig LoadQatConfig(const std::string& path) { return ParseQatConfig(ReadJsonFile(path, "QAT config"), path); }

nlohmann::json QatConfigToJson(const QatConfig& c) {
  nlohmann::json j = TrainConfigToJson(c.train);
  j["quant"] = QuantPlanToJson(c.plan);
  return j;
}

void ApplyQatFlags(const QatFlags& flags, QatConfig& c) {
  if (flags.weight_bits.has_value() != flags.activation_bits.has_value())
    throw InputError(std::string(flags.weight_bits ? "--w-bits" : "--a-bits") + " needs " +
                     (flags.weight_bits ? "--a-bits" : "--w-bits") + " as well");
  if (flags.method && !flags.weight_bits) throw InputError("--method goes with --w-bits and --a-bits");
  if (!flags.weight_bits) return;
  for (const auto& [flag, bits] : {std::pair{"--w-bits", *flags.weight_bits}, std::pair{"--a-bits", *flags.activation_bits}})
    if (bits < kMinQuantBits || bits > kMaxQuantBits)
      throw InputError(std::string(flag) + ": " + std::to_string(bits) + " is out of range; allowed 2..8");
  QuantPlan plan;
  plan.source = "flags";
  plan.defaults.weight_bits = *flags.weight_bits;
  plan.defaults.activation_bits = *flags.activation_bits;
  const std::string method = flags.method.value_or("auto");
  if (method == "lsq" || method == "dsq") {
    plan.defaults.mode = QuantMode::kQat;
    plan.defaults.qat_method = method == "lsq" ? QatAlgorithm::kLsq : QatAlgorithm::kDsq;
  } else if (method != "auto") {
    throw InputError("--method: '" + method + "' is not a QAT method; allowed lsq, dsq, auto");
  }
  c.plan = plan;
  c.plan_given = true;
}

}  // namespace cimsim
