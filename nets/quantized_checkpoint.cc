#include "nets/quantized_checkpoint.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "common/error.h"
#include "common/h5_file.h"

namespace cimsim {
namespace {

constexpr const char* kFormat = "cimsim-quantized-model";
constexpr int64_t kFormatVersion = 1;

std::string NodePath(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/nodes/%04zu", i);
  return buf;
}

std::vector<double> ToDoubles(const std::vector<int>& v) { return {v.begin(), v.end()}; }

// Reads an integer dataset of the expected shape, every value in [lo, hi].
template <typename T>
std::vector<T> ReadInts(const H5File& f, const std::string& path, const std::vector<int64_t>& shape) {
  if (!f.Exists(path)) throw InputError(f.Path() + ": missing dataset " + path);
  const H5Array a = f.ReadArray(path);
  if (a.shape != shape) {
    std::string want, got;
    for (int64_t d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    for (int64_t d : a.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    throw InputError(f.Path() + ": dataset " + path + " has shape [" + got + "], expected [" + want + "]");
  }
  std::vector<T> out;
  out.reserve(a.values.size());
  for (double v : a.values) {
    if (v != std::floor(v) || v < static_cast<double>(std::numeric_limits<T>::min()) ||
        v > static_cast<double>(std::numeric_limits<T>::max()))
      throw InputError(f.Path() + ": dataset " + path + " holds " + std::to_string(v) + ", not a valid integer code");
    out.push_back(static_cast<T>(v));
  }
  return out;
}

int64_t IntAttr(const H5File& f, const std::string& obj, const std::string& name) {
  if (!f.HasAttribute(obj, name)) throw InputError(f.Path() + ": " + obj + " has no attribute '" + name + "'");
  return f.ReadIntAttribute(obj, name);
}

int32_t Int32Attr(const H5File& f, const std::string& obj, const std::string& name) {
  const int64_t v = IntAttr(f, obj, name);
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    throw InputError(f.Path() + ": " + obj + " attribute '" + name + "' = " + std::to_string(v) + " does not fit int32");
  return static_cast<int32_t>(v);
}

std::string StringAttr(const H5File& f, const std::string& obj, const std::string& name) {
  if (!f.HasAttribute(obj, name)) throw InputError(f.Path() + ": " + obj + " has no attribute '" + name + "'");
  return f.ReadStringAttribute(obj, name);
}

std::vector<double> DoublesAttr(const H5File& f, const std::string& obj, const std::string& name) {
  if (!f.HasAttribute(obj, name)) throw InputError(f.Path() + ": " + obj + " has no attribute '" + name + "'");
  return f.ReadDoubleArrayAttribute(obj, name);
}

}  // namespace

void SaveQuantizedModel(const QuantizedModel& m, const std::string& path,
                        const std::map<std::string, std::string>& extra_attributes, const Provenance* provenance) {
  m.Validate("model to save as " + path);
  H5File f = H5File::CreateAtomic(path);
  if (provenance != nullptr) WriteProvenance(f, *provenance);
  f.WriteStringAttribute("/", "format", kFormat);
  f.WriteIntAttribute("/", "format_version", kFormatVersion);
  f.WriteIntAttribute("/", "num_classes", m.num_classes);
  f.WriteDoubleArrayAttribute("/", "input_shape", {static_cast<double>(m.input_chw[0]),
                                                   static_cast<double>(m.input_chw[1]), static_cast<double>(m.input_chw[2])});
  f.WriteIntAttribute("/", "node_count", static_cast<int64_t>(m.nodes.size()));
  f.WriteStringAttribute("/", "description", m.description);
  for (const auto& [key, value] : extra_attributes) f.WriteStringAttribute("/", key, value);
  std::vector<int16_t> lut;
  for (const auto& row : m.input_lut) lut.insert(lut.end(), row.begin(), row.end());
  f.WriteInt16Array("/input/lut", {3, 256}, lut.data());
  f.WriteDoubleArrayAttribute("/input", "scale", {m.input_scale});
  const auto shapes = m.NodeShapes();
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode& n = m.nodes[i];
    const std::string g = NodePath(i);
    f.CreateGroup(g);
    f.WriteStringAttribute(g, "name", n.name);
    f.WriteStringAttribute(g, "kind", std::string(ToString(n.kind)));
    f.WriteDoubleArrayAttribute(g, "inputs", ToDoubles(n.inputs));
    f.WriteDoubleArrayAttribute(g, "out_scale", {n.out_scale});
    f.WriteIntAttribute(g, "out_min", n.out_min);
    f.WriteIntAttribute(g, "out_max", n.out_max);
    f.WriteIntAttribute(g, "out_bits", n.out_bits);
    const int64_t O = n.out_channels;
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        for (const auto& [k, v] : {std::pair<const char*, int64_t>{"in_channels", n.in_channels},
                                   {"out_channels", n.out_channels}, {"kernel", n.kernel}, {"stride", n.stride},
                                   {"padding", n.padding}, {"weight_bits", n.weight_bits},
                                   {"input_bits", n.input_bits}, {"input_signed", n.input_signed ? 1 : 0}})
          f.WriteIntAttribute(g, k, v);
        // Absent means symmetric (every file written before the full grid existed).
        if (n.weight_grid != WeightGrid::kSymmetric) f.WriteStringAttribute(g, "weight_grid", std::string(ToString(n.weight_grid)));
        const std::vector<int64_t> wshape = n.kind == QNodeKind::kConv
                                                ? std::vector<int64_t>{O, n.in_channels, n.kernel, n.kernel}
                                                : std::vector<int64_t>{O, n.in_channels};
        f.WriteInt16Array(g + "/weight", wshape, n.weights.data());
        f.WriteDoubleArray(g + "/weight_scale", {O}, n.weight_scales.data());
        f.WriteInt32Array(g + "/bias", {O}, n.bias.data());
        f.WriteInt32Array(g + "/multiplier", {O}, n.multipliers.data());
        f.WriteInt32Array(g + "/shift", {O}, n.shifts.data());
        f.WriteInt32Array(g + "/headroom", {O}, n.headrooms.data());
        break;
      }
      case QNodeKind::kAdd: {
        const int64_t k = static_cast<int64_t>(n.inputs.size());
        std::vector<int32_t> identity(n.rescale_identity.begin(), n.rescale_identity.end());
        f.WriteInt32Array(g + "/rescale_identity", {k}, identity.data());
        f.WriteInt32Array(g + "/rescale_multiplier", {k}, n.rescale_multipliers.data());
        f.WriteInt32Array(g + "/rescale_shift", {k}, n.rescale_shifts.data());
        f.WriteInt32Array(g + "/rescale_headroom", {k}, n.rescale_headrooms.data());
        break;
      }
      case QNodeKind::kGlobalAvgPool:
      case QNodeKind::kRequant:
        f.WriteIntAttribute(g, "pool_multiplier", n.pool.multiplier);
        f.WriteIntAttribute(g, "pool_shift", n.pool.shift);
        f.WriteIntAttribute(g, "pool_headroom", n.pool.headroom);
        break;
      case QNodeKind::kShortcutA:
        f.WriteIntAttribute(g, "stride", n.stride);
        f.WriteIntAttribute(g, "pad", n.pad);
        break;
      case QNodeKind::kMaxPool:
        f.WriteIntAttribute(g, "kernel", n.kernel);
        f.WriteIntAttribute(g, "stride", n.stride);
        f.WriteIntAttribute(g, "padding", n.padding);
        break;
    }
  }
  f.Commit();
}

QuantizedModel LoadQuantizedModel(const std::string& path) {
  const H5File f = H5File::OpenRead(path);
  const std::string format = f.HasAttribute("/", "format") ? f.ReadStringAttribute("/", "format") : "";
  if (format != kFormat)
    throw InputError(path + ": not a cimsim quantized model (root attribute format is '" + format + "', expected '" +
                     kFormat + "'; make one with `cimsim quantize`)");
  const int64_t version = IntAttr(f, "/", "format_version");
  if (version != kFormatVersion)
    throw InputError(path + ": format_version " + std::to_string(version) + " is not supported; allowed 1");
  QuantizedModel m;
  m.num_classes = Int32Attr(f, "/", "num_classes");
  const std::vector<double> shape = DoublesAttr(f, "/", "input_shape");
  if (shape.size() != 3) throw InputError(path + ": input_shape must have 3 entries [C, H, W]");
  for (int i = 0; i < 3; ++i) {
    if (shape[static_cast<size_t>(i)] < 1 || shape[static_cast<size_t>(i)] > 4096)
      throw InputError(path + ": input_shape entries must be in 1..4096");
    m.input_chw[static_cast<size_t>(i)] = static_cast<int>(shape[static_cast<size_t>(i)]);
  }
  if (m.input_chw[0] != 3) throw InputError(path + ": input_shape must have 3 channels (RGB)");
  m.description = StringAttr(f, "/", "description");
  const std::vector<int16_t> lut = ReadInts<int16_t>(f, "/input/lut", {3, 256});
  for (size_t c = 0; c < 3; ++c)
    for (size_t p = 0; p < 256; ++p) m.input_lut[c][p] = lut[c * 256 + p];
  const std::vector<double> in_scale = DoublesAttr(f, "/input", "scale");
  if (in_scale.size() != 1) throw InputError(path + ": /input scale must be one number");
  m.input_scale = in_scale[0];
  const int64_t count = IntAttr(f, "/", "node_count");
  if (count < 1 || count > 100000) throw InputError(path + ": node_count " + std::to_string(count) + " is out of range");
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    const std::string g = NodePath(i);
    if (!f.Exists(g)) throw InputError(path + ": missing group " + g + " (node_count is " + std::to_string(count) + ")");
    QNode n;
    n.name = StringAttr(f, g, "name");
    n.kind = ParseQNodeKind(StringAttr(f, g, "kind"), path + ": " + g + " kind");
    for (double v : DoublesAttr(f, g, "inputs")) {
      if (v != std::floor(v) || v < -1 || v >= static_cast<double>(i))
        throw InputError(path + ": " + g + " input " + std::to_string(v) + " is not an earlier node or -1 (image)");
      n.inputs.push_back(static_cast<int>(v));
    }
    const std::vector<double> out_scale = DoublesAttr(f, g, "out_scale");
    if (out_scale.size() != 1) throw InputError(path + ": " + g + " out_scale must be one number");
    n.out_scale = out_scale[0];
    n.out_min = Int32Attr(f, g, "out_min");
    n.out_max = Int32Attr(f, g, "out_max");
    n.out_bits = Int32Attr(f, g, "out_bits");
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        n.in_channels = Int32Attr(f, g, "in_channels");
        n.out_channels = Int32Attr(f, g, "out_channels");
        n.kernel = Int32Attr(f, g, "kernel");
        n.stride = Int32Attr(f, g, "stride");
        n.padding = Int32Attr(f, g, "padding");
        n.weight_bits = Int32Attr(f, g, "weight_bits");
        n.input_bits = Int32Attr(f, g, "input_bits");
        n.input_signed = Int32Attr(f, g, "input_signed") != 0;
        if (f.HasAttribute(g, "weight_grid")) {
          const std::string grid = StringAttr(f, g, "weight_grid");
          if (grid == ToString(WeightGrid::kFull)) {
            n.weight_grid = WeightGrid::kFull;
          } else if (grid != ToString(WeightGrid::kSymmetric)) {
            throw InputError(path + ": " + g + " weight_grid \"" + grid + "\" is not a weight grid; allowed symmetric, full");
          }
        }
        if (n.in_channels < 1 || n.out_channels < 1 || n.kernel < 1 || n.kernel > 64)
          throw InputError(path + ": " + g + " has channels < 1 or a kernel outside 1..64");
        const int64_t O = n.out_channels;
        const std::vector<int64_t> wshape = n.kind == QNodeKind::kConv
                                                ? std::vector<int64_t>{O, n.in_channels, n.kernel, n.kernel}
                                                : std::vector<int64_t>{O, n.in_channels};
        n.weights = ReadInts<int16_t>(f, g + "/weight", wshape);
        n.weight_scales = f.ReadFiniteArray(g + "/weight_scale", {O});
        n.bias = ReadInts<int32_t>(f, g + "/bias", {O});
        n.multipliers = ReadInts<int32_t>(f, g + "/multiplier", {O});
        n.shifts = ReadInts<int32_t>(f, g + "/shift", {O});
        n.headrooms = ReadInts<int32_t>(f, g + "/headroom", {O});
        break;
      }
      case QNodeKind::kAdd: {
        const int64_t k = static_cast<int64_t>(n.inputs.size());
        for (int32_t v : ReadInts<int32_t>(f, g + "/rescale_identity", {k})) n.rescale_identity.push_back(v != 0);
        n.rescale_multipliers = ReadInts<int32_t>(f, g + "/rescale_multiplier", {k});
        n.rescale_shifts = ReadInts<int32_t>(f, g + "/rescale_shift", {k});
        n.rescale_headrooms = ReadInts<int32_t>(f, g + "/rescale_headroom", {k});
        break;
      }
      case QNodeKind::kGlobalAvgPool:
      case QNodeKind::kRequant:
        n.pool = {Int32Attr(f, g, "pool_multiplier"), Int32Attr(f, g, "pool_shift"), Int32Attr(f, g, "pool_headroom")};
        break;
      case QNodeKind::kShortcutA:
        n.stride = Int32Attr(f, g, "stride");
        n.pad = Int32Attr(f, g, "pad");
        break;
      case QNodeKind::kMaxPool:
        n.kernel = Int32Attr(f, g, "kernel");
        n.stride = Int32Attr(f, g, "stride");
        // Files written before max pooling had padding hold none: they mean 0.
        n.padding = f.HasAttribute(g, "padding") ? Int32Attr(f, g, "padding") : 0;
        break;
    }
    m.nodes.push_back(std::move(n));
  }
  if (f.Exists(NodePath(static_cast<size_t>(count))))
    throw InputError(path + ": holds more node groups than node_count " + std::to_string(count));
  m.Validate(path);
  return m;
}

}  // namespace cimsim
