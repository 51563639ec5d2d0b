#include "experiments/crossbar_config_json.h"

#include "common/field_checker.h"
#include "experiments/field_table_json.h"
#include "sim/crossbar_fields.h"

namespace cimsim {

// Everything comes from the field table (sim/crossbar_fields.h): structure and types, then the values
// applied in table order (keys of another mode, a missing fixed_range), then the ranges.
CrossbarParams ParseCrossbarConfig(const nlohmann::json& j, const std::string& where) {
  const std::vector<Field<CrossbarParams>> fields = CrossbarFields();
  const FieldValues values = ReadFieldValues(fields, j, JsonReader(where, "."));
  CrossbarParams p;
  ApplyFields(fields, values, p, FieldChecker(where));
  p.Validate(where);
  return p;
}

nlohmann::json CrossbarParamsToJson(const CrossbarParams& p) { return FieldsToJson(CrossbarFields(), p); }

}  // namespace cimsim
