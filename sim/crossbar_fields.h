// crossbar_fields.h — the field table of CrossbarParams (common/field_table.h): every key of the
// "crossbar" config object once, with its range, unit, doc and when it applies. It drives
// CrossbarParams::Validate, the JSON reader and writer (experiments/crossbar_config_json.h) and the key
// table of docs/crossbar.md (a test keeps the two equal). Adding a crossbar parameter: the struct
// member and one entry here.
#pragma once

#include <vector>

#include "common/field_table.h"
#include "sim/crossbar_params.h"

namespace cimsim {

std::vector<Field<CrossbarParams>> CrossbarFields();

}  // namespace cimsim
