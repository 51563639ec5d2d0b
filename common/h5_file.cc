#include "common/h5_file.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <utility>

#include "common/error.h"
#include "common/input_file.h"
#include "common/isolated_run.h"
#include "common/storage_error.h"
#include "common/h5_handle.h"
#include "common/h5_strings.h"

namespace cimsim {
namespace {

using Handle = H5Handle;

void SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// Checks that `path` is a regular file with an HDF5 signature (without blocking on a FIFO or device);
// returns its size in bytes.
uint64_t RequireHdf5File(const std::string& path) {
  SilenceHdf5Errors();
  const uint64_t bytes = RequireRegularFile(path, "HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path + ": not an HDF5 file");
  return bytes;
}

hid_t OpenReadOnly(const std::string& path) {
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw InputError(path + ": cannot open as HDF5 (corrupt or truncated?)");
  return id;
}

}  // namespace

H5File::H5File(hid_t id, std::string path, std::string temp_path)
    : id_(id), path_(std::move(path)), temp_path_(std::move(temp_path)) {}

H5File::H5File(H5File&& other) noexcept
    : id_(std::exchange(other.id_, -1)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)) {}

H5File::~H5File() {
  if (id_ >= 0) H5Fclose(id_);
  if (!temp_path_.empty()) std::remove(temp_path_.c_str());
}

void H5File::Fail(const std::string& what) const {
  throw InputError(path_ + ": " + what + (temp_path_.empty() ? std::string() : StorageFailureReason()));
}

H5File H5File::OpenRead(const std::string& path) {
  const uint64_t bytes = RequireHdf5File(path);
  // Reading is fast (a 45 MB model: under a second): 10 s plus 2 s per MiB is far above any healthy file
  // and keeps a hang short.
  IsolationLimits limits;
  limits.deadline = std::chrono::milliseconds(10'000 + 2'000 * static_cast<int64_t>(bytes >> 20));
  RunIsolated(path, [&path] { H5File(OpenReadOnly(path), path, "").ReadEveryObject(); }, limits);
  return H5File(OpenReadOnly(path), path, "");
}

H5File H5File::OpenReadInProcess(const std::string& path) {
  RequireHdf5File(path);
  return H5File(OpenReadOnly(path), path, "");
}

H5File H5File::CreateAtomic(const std::string& path) {
  SilenceHdf5Errors();
  const std::string temp = path + ".partial." + std::to_string(getpid());
  const hid_t id = H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw InputError(path + ": cannot create (is the directory writable?)");
  return H5File(id, path, temp);
}

void H5File::Commit() {
  if (temp_path_.empty()) return;
  WriteContentChecksum();
  if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(id_) < 0) {
    id_ = -1;
    Fail("failed to write");
  }
  id_ = -1;
  std::error_code ec;
  std::filesystem::rename(temp_path_, path_, ec);
  if (ec) Fail("cannot rename " + temp_path_ + " into place: " + ec.message());
  temp_path_.clear();
}

bool H5File::Exists(const std::string& path) const {
  if (path == "/") return true;
  // Check each prefix: H5Lexists fails on a missing intermediate group.
  size_t pos = 0;
  while ((pos = path.find('/', pos + 1)) != std::string::npos) {
    if (H5Lexists(id_, path.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return H5Lexists(id_, path.c_str(), H5P_DEFAULT) > 0;
}

bool H5File::HasAttribute(const std::string& object, const std::string& name) const {
  if (!Exists(object)) return false;
  return H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

std::string H5File::ReadStringAttribute(const std::string& object, const std::string& name) const {
  if (!HasAttribute(object, name)) Fail("missing attribute '" + name + "' on " + object);
  Handle attr(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) Fail("attribute '" + name + "' on " + object + " is not a string");
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) Fail("attribute '" + name + "' is not a single string");
  const auto read = [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); };
  return ReadStrings(type.get(), space.get(), read, [&](const std::string& what) { Fail("attribute '" + name + "' on " + object + " " + what); })[0];
}

std::vector<double> H5File::ReadDoubleArrayAttribute(const std::string& object, const std::string& name) const {
  if (!HasAttribute(object, name)) Fail("missing attribute '" + name + "' on " + object);
  Handle attr(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) Fail("attribute '" + name + "' on " + object + " is not numeric");
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || static_cast<uint64_t>(n) > kMaxAttributeBytes / sizeof(double))
    Fail("attribute '" + name + "' on " + object + " declares " + std::to_string(n) + " values (damaged file?)");
  std::vector<double> values(static_cast<size_t>(std::max<hssize_t>(n, 0)));
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) Fail("cannot read attribute '" + name + "'");
  return values;
}

int64_t H5File::ReadIntAttribute(const std::string& object, const std::string& name) const {
  const std::vector<double> v = ReadDoubleArrayAttribute(object, name);
  // Range first: converting a double outside int64's range (or NaN, inf) is undefined behaviour.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (v.size() != 1 || !(v[0] >= -kTwo63 && v[0] < kTwo63) || v[0] != std::trunc(v[0])) {
    Fail("attribute '" + name + "' on " + object + " must be a single integer");
  }
  return static_cast<int64_t>(v[0]);
}

void H5File::WriteStringAttribute(const std::string& object, const std::string& name, const std::string& value) {
  // Variable-length UTF-8: h5py returns str, not bytes.
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate_by_name(id_, object.c_str(), name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  const char* text = value.c_str();
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), &text) < 0) Fail("cannot write attribute '" + name + "'");
}

void H5File::WriteIntAttribute(const std::string& object, const std::string& name, int64_t value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate_by_name(id_, object.c_str(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) Fail("cannot write attribute '" + name + "'");
}

void H5File::WriteDoubleAttribute(const std::string& object, const std::string& name, double value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate_by_name(id_, object.c_str(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0) Fail("cannot write attribute '" + name + "'");
}

void H5File::WriteDoubleArrayAttribute(const std::string& object, const std::string& name,
                                       const std::vector<double>& values) {
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr(H5Acreate_by_name(id_, object.c_str(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) {
    Fail("cannot write attribute '" + name + "'");
  }
}

std::vector<std::string> H5File::ListDatasets(const std::string& group) const {
  std::vector<std::string> names;
  if (!Exists(group)) return names;
  struct Ctx {
    std::vector<std::string>* names;
    std::string prefix;
  } ctx{&names, group == "/" ? "/" : group + "/"};
  auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* c = static_cast<Ctx*>(data);
    if (info->type == H5O_TYPE_DATASET) c->names->push_back(c->prefix + name);
    return 0;
  };
  Handle g(H5Oopen(id_, group.c_str(), H5P_DEFAULT), H5Oclose);
  if (!g.ok()) Fail("cannot open group " + group);
  if (H5Ovisit2(g.get(), H5_INDEX_NAME, H5_ITER_INC, visit, &ctx, H5O_INFO_BASIC) < 0) {
    Fail("cannot list group " + group);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<int64_t> H5File::DatasetShape(const std::string& path) const {
  if (!Exists(path)) Fail("missing dataset " + path);
  Handle ds(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) Fail(path + " is not a dataset");
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) Fail("cannot read the shape of " + path);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  uint64_t count = 1;
  for (hsize_t d : dims) {
    // Checked before anything is allocated: a damaged or hostile file may declare any dimensions.
    if (d > kMaxDatasetElements || (d > 0 && count > kMaxDatasetElements / d))
      Fail("dataset " + path + " declares more than " + std::to_string(kMaxDatasetElements) +
           " elements; no cimsim file holds that many (damaged file?)");
    count *= d;
  }
  return std::vector<int64_t>(dims.begin(), dims.end());
}

std::vector<double> H5File::ReadFiniteArray(const std::string& path, const std::vector<int64_t>& shape) const {
  if (!Exists(path)) throw InputError(path_ + ": missing dataset " + path);
  H5Array a = ReadArray(path);
  if (a.shape != shape) throw InputError(path_ + ": dataset " + path + " has the wrong shape");
  for (double v : a.values)
    if (!std::isfinite(v)) throw InputError(path_ + ": dataset " + path + " holds a non-finite value");
  return std::move(a.values);
}

H5Array H5File::ReadArray(const std::string& path) const {
  H5Array out;
  out.shape = DatasetShape(path);
  Handle ds(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) Fail("dataset " + path + " is not numeric");
  int64_t n = 1;
  for (int64_t d : out.shape) n *= d;
  out.values.resize(static_cast<size_t>(n));
  if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()) < 0) {
    Fail("cannot read dataset " + path + " (corrupt or truncated file?)");
  }
  return out;
}

namespace {

void WriteArray(hid_t file, const std::string& path, const std::vector<int64_t>& shape, hid_t file_type,
                hid_t mem_type, const void* data, const std::function<void(const std::string&)>& fail,
                bool compress) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  int64_t count = 1, inner = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    count *= shape[d];
    if (d > 0) inner *= shape[d];
  }
  if (compress && !dims.empty() && count > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(std::max<int64_t>(1, std::min<int64_t>(shape[0], 65536 / std::max<int64_t>(inner, 1))));
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(dcpl.get(), 4);
  }
  Handle ds(H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) fail("cannot create dataset " + path);
  if (H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail("cannot write dataset " + path);
}

}  // namespace

void H5File::WriteFloatArray(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  WriteArray(id_, path, shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, [this](const std::string& m) { Fail(m); }, compress_);
}

void H5File::WriteInt32Array(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data) {
  WriteArray(id_, path, shape, H5T_STD_I32LE, H5T_NATIVE_INT32, data, [this](const std::string& m) { Fail(m); }, compress_);
}

void H5File::WriteInt16Array(const std::string& path, const std::vector<int64_t>& shape, const int16_t* data) {
  WriteArray(id_, path, shape, H5T_STD_I16LE, H5T_NATIVE_INT16, data, [this](const std::string& m) { Fail(m); }, compress_);
}

void H5File::WriteDoubleArray(const std::string& path, const std::vector<int64_t>& shape, const double* data) {
  WriteArray(id_, path, shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, [this](const std::string& m) { Fail(m); }, compress_);
}

void H5File::CopyFrom(const H5File& source, const std::string& path) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  if (H5Ocopy(source.id_, path.c_str(), id_, path.c_str(), H5P_DEFAULT, lcpl.get()) < 0)
    Fail("cannot copy " + path + " from " + source.Path());
}

void H5File::CreateGroup(const std::string& path) {
  if (Exists(path)) return;
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle g(H5Gcreate2(id_, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (g.get() < 0) Fail("cannot create group " + path);
}

void H5File::WriteInt64Array(const std::string& path, const std::vector<int64_t>& shape, const int64_t* data) {
  WriteArray(id_, path, shape, H5T_STD_I64LE, H5T_NATIVE_INT64, data, [this](const std::string& m) { Fail(m); }, compress_);
}

}  // namespace cimsim
