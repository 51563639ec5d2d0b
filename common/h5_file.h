// h5_file.h — a small RAII layer over the HDF5 C API, with errors that name file and object.
//
// Reading: H5File::OpenRead(path) checks that the file exists and is HDF5 (InputError otherwise), then
// reads every object of it once in a child process with a deadline (common/isolated_run.h,
// ReadEveryObject below): a damaged file on which libhdf5 itself crashes or hangs becomes one
// InputError naming the file, and only a file the library read through whole is opened here.
// Writing: H5File::CreateAtomic(path) writes into "<path>.partial.<pid>" and Commit() renames it over
// `path`, so an existing file is never left half-written; an uncommitted file is removed. The process
// id keeps two processes that write the same path at once (e.g. two merges of one sharded run) out of
// each other's temporary file: the last rename wins, and either result is whole.
// HDF5's own error printing is switched off: every failure becomes one exception with one message.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cimsim {

// Limits checked before a read allocates (a damaged or hostile file may declare anything): elements of
// one dataset (2^28 values, 2 GiB as float64 — far above any model, calibration or results dataset) and
// bytes of one attribute.
inline constexpr uint64_t kMaxDatasetElements = uint64_t{1} << 28;
inline constexpr uint64_t kMaxAttributeBytes = uint64_t{64} << 20;

// One column of a compound table (H5File::WriteTable): int64, float64 or variable-length UTF-8 values,
// one per row; only the vector of its kind is used.
struct H5Column {
  enum class Kind { kInt64, kFloat64, kString };
  std::string name;
  Kind kind = Kind::kFloat64;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;
  int64_t Rows() const;
};

// A dataset's contents as float64 (any numeric type converts) with its shape.
struct H5Array {
  std::vector<int64_t> shape;
  std::vector<double> values;  // row-major
};

class H5File {
 public:
  static H5File OpenRead(const std::string& path);
  // OpenRead without the isolated first read: for files this process wrote itself and tests.
  static H5File OpenReadInProcess(const std::string& path);
  static H5File CreateAtomic(const std::string& path);
  ~H5File();
  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&&) = delete;
  H5File(const H5File&) = delete;

  const std::string& Path() const { return path_; }

  // Attributes on the root group ("/") or on any group/dataset path.
  bool HasAttribute(const std::string& object, const std::string& name) const;
  std::string ReadStringAttribute(const std::string& object, const std::string& name) const;
  int64_t ReadIntAttribute(const std::string& object, const std::string& name) const;
  std::vector<double> ReadDoubleArrayAttribute(const std::string& object, const std::string& name) const;
  void WriteStringAttribute(const std::string& object, const std::string& name, const std::string& value);
  void WriteIntAttribute(const std::string& object, const std::string& name, int64_t value);
  void WriteDoubleAttribute(const std::string& object, const std::string& name, double value);   // scalar
  void WriteDoubleArrayAttribute(const std::string& object, const std::string& name,
                                 const std::vector<double>& values);

  bool Exists(const std::string& path) const;
  // Full paths of every dataset below `group`, sorted.
  std::vector<std::string> ListDatasets(const std::string& group) const;
  std::vector<int64_t> DatasetShape(const std::string& path) const;
  H5Array ReadArray(const std::string& path) const;
  // A dataset that must exist, have exactly `shape` and hold only finite values; otherwise an
  // InputError "<file>: missing dataset <path>" / "... has the wrong shape" / "... holds a non-finite value".
  std::vector<double> ReadFiniteArray(const std::string& path, const std::vector<int64_t>& shape) const;
  // float32 dataset (intermediate groups are created).
  void WriteFloatArray(const std::string& path, const std::vector<int64_t>& shape, const float* data);
  void WriteInt64Array(const std::string& path, const std::vector<int64_t>& shape, const int64_t* data);
  void WriteInt32Array(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data);
  void WriteInt16Array(const std::string& path, const std::vector<int64_t>& shape, const int16_t* data);
  void WriteDoubleArray(const std::string& path, const std::vector<int64_t>& shape, const double* data);
  // Tables and self-describing arrays (h5_table.cc), for readers such as h5py, pandas and netCDF tools:
  // a 1-D dataset of variable-length UTF-8 strings (also what holds a text beyond the 64 KiB an
  // attribute may have in the HDF5 format cimsim writes: attributes live in the object header);
  void WriteStringArray(const std::string& path, const std::vector<std::string>& values);
  // its values (any 1-D string dataset, variable-length or fixed-size; at most kMaxAttributeBytes).
  std::vector<std::string> ReadStringArray(const std::string& path) const;
  // makes dataset `scale` an HDF5 dimension scale (H5DS) named `name`, once, and attaches it to
  // dimension `dim` of `dataset`, which it also labels `name` (h5py: dataset.dims[dim][0], .label);
  void AttachScale(const std::string& dataset, const std::string& scale, const std::string& name, int dim);
  // a compound dataset [rows] with one field per column, in order (every column the same length;
  // InputError otherwise). Not compressed.
  void WriteTable(const std::string& path, const std::vector<H5Column>& columns);

  // Creates a group (and any missing parents); a no-op when it exists.
  void CreateGroup(const std::string& path);
  // From now on, datasets with at least one element are written chunked (chunks of up to 65,536
  // elements along the first dimension, whole along the others) and deflate-compressed (level 4).
  void EnableCompression() { compress_ = true; }
  // Copies object `path` (a group with everything below it, or a dataset) of `source` to the same
  // path here (missing parents are created).
  void CopyFrom(const H5File& source, const std::string& path);

  // Writers only: flush, close and rename "<path>.partial.<pid>" to path.
  void Commit();

  // A 64-bit FNV-1a checksum of the file's content: every group and dataset (sorted by path), every
  // attribute (name and value), every numeric dataset's shape and values (as float64), fixed-size
  // string/compound datasets' bytes; root attribute "content_checksum" itself and the /provenance
  // group's attributes (who, where, when: not content) excluded. It detects a
  // damaged or edited file (a flipped byte in data or attributes), not a deliberate forgery.
  uint64_t ContentChecksum() const;
  // Stores it as root attribute "content_checksum" (16 hex digits). Commit() calls it: every file cimsim
  // writes carries its checksum (models, quantized models, calibrations, checkpoints, point files,
  // results.h5).
  void WriteContentChecksum();
  bool HasContentChecksum() const;
  // Throws InputError "<path>: content checksum ... differs ..." (or: no checksum attribute).
  void VerifyContentChecksum() const;
  // Reads every group, dataset and attribute (h5_probe.cc): ContentChecksum's traversal, plus the
  // variable-length and compound datasets it hashes by class only (read in their native types and
  // reclaimed); then, when the file has a content_checksum, verifies it. What OpenRead's child process
  // does: a cimsim-written file that was damaged or edited is refused by every reader, while files
  // from other tools (h5py, converters) carry none and are read as they are.
  void ReadEveryObject() const;

 private:
  H5File(hid_t id, std::string path, std::string temp_path);
  [[noreturn]] void Fail(const std::string& what) const;
  void CompareContentChecksum(uint64_t computed) const;
  hid_t id_;
  std::string path_;       // the name the user sees
  std::string temp_path_;  // non-empty for uncommitted writers
  bool compress_ = false;
};

}  // namespace cimsim
