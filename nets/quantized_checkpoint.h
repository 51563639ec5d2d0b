// quantized_checkpoint.h — the quantized model file (HDF5); layout in docs/quantization.md, "The
// quantized model file".
//
// Root attributes: format = "cimsim-quantized-model", format_version = 1, num_classes,
// input_shape [C, H, W], node_count, description, and any extra string attributes the writer passes
// (`cimsim quantize` stores the source model path and the quantization config as JSON).
// /input: lut int16 [C, 256] (image code of each pixel value per channel), attribute scale.
// /nodes/NNNN (NNNN = 0000, 0001, … in execution order): attributes name, kind, inputs, out_scale,
// out_min, out_max, out_bits and the kind's geometry; datasets per kind (conv/linear: weight int16
// [O, C, k, k] or [O, C], weight_scale float64 [O], bias / multiplier / shift / headroom int32 [O];
// add: rescale_identity / rescale_multiplier / rescale_shift / rescale_headroom int32 [inputs];
// global_avg_pool: attributes pool_multiplier, pool_shift, pool_headroom).
// Loading is strict: a missing or extra dataset or attribute, a wrong shape or a value out of range
// is an InputError naming the file and the object; the graph is then validated as a whole.
#pragma once

#include <map>
#include <string>

#include "common/provenance.h"
#include "nets/quantized_model.h"

namespace cimsim {

// Atomic: a temporary file, then renamed. Throws InputError when the path cannot be written. With
// `provenance`, group /provenance records who wrote the file (common/provenance.h).
void SaveQuantizedModel(const QuantizedModel& model, const std::string& path,
                        const std::map<std::string, std::string>& extra_attributes = {},
                        const Provenance* provenance = nullptr);
QuantizedModel LoadQuantizedModel(const std::string& path);

}  // namespace cimsim
