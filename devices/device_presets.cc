#include "devices/device_presets.h"

#include <string>

#include "common/error.h"

namespace cimsim {
namespace {

constexpr std::string_view kNames[] = {"ideal", "pcm", "rram"};

DeviceParams Pcm() {
  DeviceParams p;
  p.g_min = 0;
  p.g_max = 25;
  p.levels = 0;
  p.programming.kind = ProgrammingNoiseKind::kPolynomial;
  p.programming.coefficients = {0.26348, 1.9650, -1.1731};
  p.programming.variable = PolynomialVariable::kGHat;
  p.programming.g_max_reference = 25;
  p.read.kind = ReadNoiseKind::kPcm1f;   // the struct defaults are the PCM 1/f fit
  p.drift.kind = DriftKind::kPcm;        // the struct defaults are the PCM drift fit, t0 = 20 s
  return p;
}

DeviceParams Rram() {
  DeviceParams p;
  p.g_min = 50;
  p.g_max = 225;
  p.levels = 64;
  p.programming.kind = ProgrammingNoiseKind::kPolynomial;
  p.programming.coefficients = {4.782321, -0.009107};
  p.programming.variable = PolynomialVariable::kG;
  return p;
}

}  // namespace

std::span<const std::string_view> DevicePresetNames() { return kNames; }

DeviceParams DevicePreset(std::string_view name) {
  DeviceParams p;
  if (name == "ideal") {
    // DeviceParams' defaults: [0, 25] µS, continuous, no noise, no drift, no faults.
  } else if (name == "pcm") {
    p = Pcm();
  } else if (name == "rram") {
    p = Rram();
  } else {
    std::string allowed;
    for (std::string_view n : kNames) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
    throw InputError("unknown device preset \"" + std::string(name) + "\"; allowed " + allowed);
  }
  p.preset = std::string(name);
  return p;
}

}  // namespace cimsim
