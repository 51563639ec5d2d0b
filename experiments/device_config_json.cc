#include "experiments/device_config_json.h"

#include "common/field_checker.h"
#include "devices/device_fields.h"
#include "experiments/field_table_json.h"

namespace cimsim {

// Everything comes from the field table (devices/device_fields.h): structure and types, then the values
// applied in table order (the preset first, a section's kind before its keys), then the ranges.
DeviceParams ParseDeviceConfig(const nlohmann::json& j, const std::string& where) {
  const std::vector<Field<DeviceParams>> fields = DeviceFields();
  const FieldValues values = ReadFieldValues(fields, j, JsonReader(where, "."));
  DeviceParams p;
  ApplyFields(fields, values, p, FieldChecker(where));
  p.Validate(where);
  return p;
}

nlohmann::json DeviceParamsToJson(const DeviceParams& p) { return FieldsToJson(DeviceFields(), p); }

}  // namespace cimsim
