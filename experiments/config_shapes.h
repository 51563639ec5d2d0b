// config_shapes.h — the pieces that `cimsim experiment` and `cimsim calibrate` configs share, read the
// same way by both:
//   "model": {"qmodel": "Q.h5"}       the quantized model (cimsim quantize)
//   "xbar": {...} or "xbar.json"      the chip (experiments/xbar_config.h), inline or in its own file
// (and "data": an object; each command has its own keys in it, docs/experiments.md, docs/crossbar.md).
// Errors are InputErrors through the JsonReader: "run.json: model.qmodel: required, ...".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/config_file.h"
#include "experiments/json_reader.h"

namespace cimsim {

// The "model" object j: its qmodel, required and non-empty; with must_exist, an existing file.
std::string ReadModelShape(const JsonReader& r, const nlohmann::json& j, bool must_exist);

// A chip given inline or as a file name, at key "xbar" of r's object: the chip's JSON and the name its
// messages use (the file, or r.Where("xbar") inline, e.g. "run.json: xbar"). A missing file:
// r.Fail("xbar", "crossbar config \"f\" not found"). The file may be YAML, or hold sections (its "chip").
struct XbarShape {
  nlohmann::json json;
  std::string source;
  ConfigDocument file;   // the file it came from (AnnotatingErrors adds its lines); empty inline
};
XbarShape ReadXbarShape(const JsonReader& r, const nlohmann::json& j);

}  // namespace cimsim
