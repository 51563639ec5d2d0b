// h5_table.cc — H5File's string arrays, dimension scales and compound tables (declared in h5_file.h).
#include <hdf5.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <cstring>

#include "common/h5_file.h"
#include "common/h5_handle.h"
#include "common/h5_strings.h"

namespace cimsim {
namespace {

using Id = H5Handle;

hid_t Utf8StringType() {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

}  // namespace

int64_t H5Column::Rows() const {
  switch (kind) {
    case Kind::kInt64: return static_cast<int64_t>(ints.size());
    case Kind::kFloat64: return static_cast<int64_t>(doubles.size());
    case Kind::kString: return static_cast<int64_t>(strings.size());
  }
  return 0;
}

void H5File::WriteStringArray(const std::string& path, const std::vector<std::string>& values) {
  const hsize_t n = values.size();
  Id type(Utf8StringType(), H5Tclose);
  Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Id ds(H5Dcreate2(id_, path.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) Fail("cannot create dataset " + path);
  std::vector<const char*> text;
  for (const std::string& v : values) text.push_back(v.c_str());
  if (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()) < 0)
    Fail("cannot write dataset " + path);
}

std::vector<std::string> H5File::ReadStringArray(const std::string& path) const {
  if (!Exists(path)) Fail("missing dataset " + path);
  Id ds(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) Fail("cannot open dataset " + path);
  Id type(H5Dget_type(ds.get()), H5Tclose);
  Id space(H5Dget_space(ds.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_ndims(space.get()) != 1)
    Fail("dataset " + path + " is not a 1-D array of strings");
  const auto read = [&](hid_t mem, void* buf) { return H5Dread(ds.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); };
  return ReadStrings(type.get(), space.get(), read, [&](const std::string& what) { Fail("dataset " + path + " " + what); });
}

void H5File::AttachScale(const std::string& dataset, const std::string& scale, const std::string& name, int dim) {
  Id s(H5Dopen2(id_, scale.c_str(), H5P_DEFAULT), H5Dclose);
  Id d(H5Dopen2(id_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!s.ok() || !d.ok()) Fail("cannot open " + dataset + " or its scale " + scale);
  if (H5DSis_scale(s.get()) <= 0 && H5DSset_scale(s.get(), name.c_str()) < 0) Fail("cannot make " + scale + " a scale");
  if (H5DSattach_scale(d.get(), s.get(), static_cast<unsigned>(dim)) < 0 ||
      H5DSset_label(d.get(), static_cast<unsigned>(dim), name.c_str()) < 0)
    Fail("cannot attach scale " + scale + " to dimension " + std::to_string(dim) + " of " + dataset);
}

void H5File::WriteTable(const std::string& path, const std::vector<H5Column>& columns) {
  if (columns.empty()) Fail("table " + path + " has no columns");
  const int64_t rows = columns[0].Rows();
  for (const H5Column& c : columns)
    if (c.Rows() != rows) Fail("table " + path + ": column '" + c.name + "' has " + std::to_string(c.Rows()) + " rows, not " + std::to_string(rows));
  // Row layout: each field at its offset, 8 bytes each (int64, double, or a char*).
  const size_t row_size = 8 * columns.size();
  Id string_type(Utf8StringType(), H5Tclose);
  Id mem(H5Tcreate(H5T_COMPOUND, row_size), H5Tclose);
  Id file_type(H5Tcreate(H5T_COMPOUND, row_size), H5Tclose);
  for (size_t i = 0; i < columns.size(); ++i) {
    const H5Column& c = columns[i];
    const hid_t mt = c.kind == H5Column::Kind::kInt64 ? H5T_NATIVE_INT64
                     : c.kind == H5Column::Kind::kFloat64 ? H5T_NATIVE_DOUBLE
                                                          : string_type.get();
    const hid_t ft = c.kind == H5Column::Kind::kInt64 ? H5T_STD_I64LE
                     : c.kind == H5Column::Kind::kFloat64 ? H5T_IEEE_F64LE
                                                          : string_type.get();
    if (H5Tinsert(mem.get(), c.name.c_str(), 8 * i, mt) < 0 || H5Tinsert(file_type.get(), c.name.c_str(), 8 * i, ft) < 0)
      Fail("table " + path + ": cannot add column '" + c.name + "'");
  }
  std::vector<unsigned char> buffer(row_size * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    unsigned char* row = buffer.data() + row_size * static_cast<size_t>(r);
    for (size_t i = 0; i < columns.size(); ++i) {
      const H5Column& c = columns[i];
      const size_t ri = static_cast<size_t>(r);
      if (c.kind == H5Column::Kind::kInt64) std::memcpy(row + 8 * i, &c.ints[ri], 8);
      if (c.kind == H5Column::Kind::kFloat64) std::memcpy(row + 8 * i, &c.doubles[ri], 8);
      if (c.kind == H5Column::Kind::kString) {
        const char* text = c.strings[ri].c_str();
        std::memcpy(row + 8 * i, &text, sizeof text);
      }
    }
  }
  const hsize_t n = static_cast<hsize_t>(rows);
  Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Id ds(H5Dcreate2(id_, path.c_str(), file_type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) Fail("cannot create table " + path);
  if (rows > 0 && H5Dwrite(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
    Fail("cannot write table " + path);
}

}  // namespace cimsim
