// h5_checksum.cc — H5File's content checksum (see ContentChecksum in h5_file.h).
#include <hdf5.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/error.h"
#include "common/fnv1a.h"
#include "common/h5_file.h"
#include "common/h5_handle.h"
#include "common/h5_strings.h"

namespace cimsim {
namespace {

using Handle = H5Handle;

constexpr const char* kChecksumAttribute = "content_checksum";
// Who wrote the file, where and when (common/provenance.h): not content. Left out so that two runs that
// computed the same thing carry the same checksum and h5diff --exclude-path /provenance finds them equal.
constexpr std::string_view kProvenanceGroup = "/provenance";

// The file's fields fed to a 64-bit FNV-1a (common/fnv1a.h), each as tag, length, bytes, so that no two
// different sequences of fields feed the same bytes.
class FieldHash {
 public:
  void Field(std::string_view tag, const void* data, size_t n) {
    h_.Bytes(tag.data(), tag.size());
    const uint64_t len = n;
    h_.Bytes(&len, sizeof len);
    h_.Bytes(data, n);
  }
  void Text(std::string_view tag, std::string_view s) { Field(tag, s.data(), s.size()); }
  uint64_t value() const { return h_.value(); }

 private:
  Fnv1a h_;
};

herr_t CollectLink(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(std::string("/") + name);
  return 0;
}

herr_t CollectAttribute(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

}  // namespace

uint64_t H5File::ContentChecksum() const {
  std::vector<std::string> objects = {"/"};
  if (H5Lvisit(id_, H5_INDEX_NAME, H5_ITER_INC, CollectLink, &objects) < 0) Fail("cannot list the file's objects");
  std::sort(objects.begin(), objects.end());
  FieldHash h;
  for (const std::string& path : objects) {
    if (path == kProvenanceGroup) continue;
    Handle object(H5Oopen(id_, path.c_str(), H5P_DEFAULT), H5Oclose);
    if (!object.ok()) Fail("cannot open " + path);
    const bool dataset = H5Iget_type(object.get()) == H5I_DATASET;
    h.Text(dataset ? "D" : "G", path);
    std::vector<std::string> attributes;
    hsize_t at = 0;
    if (H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_INC, &at, CollectAttribute, &attributes) < 0)
      Fail("cannot list the attributes of " + path);
    std::sort(attributes.begin(), attributes.end());
    for (const std::string& name : attributes) {
      if (path == "/" && name == kChecksumAttribute) continue;
      h.Text("A", name);
      Handle attr(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
      Handle type(H5Aget_type(attr.get()), H5Tclose);
      const H5T_class_t cls = H5Tget_class(type.get());
      if (cls == H5T_STRING) {
        // Any shape, e.g. the DIMENSION_LABELS array of a dimension-scaled dataset.
        Handle space(H5Aget_space(attr.get()), H5Sclose);
        const auto read = [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); };
        const auto fail = [&](const std::string& what) { Fail("attribute '" + name + "' on " + path + " " + what); };
        for (const std::string& s : ReadStrings(type.get(), space.get(), read, fail)) h.Text("s", s);
      } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        const std::vector<double> v = ReadDoubleArrayAttribute(path, name);
        h.Field("n", v.data(), v.size() * sizeof(double));
      } else {
        h.Field("c", &cls, sizeof cls);  // other classes (references of dimension scales): the class only
      }
    }
    if (!dataset) continue;
    Handle type(H5Dget_type(object.get()), H5Tclose);
    const H5T_class_t cls = H5Tget_class(type.get());
    const std::vector<int64_t> shape = DatasetShape(path);
    h.Field("S", shape.data(), shape.size() * sizeof(int64_t));
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
      const H5Array a = ReadArray(path);
      h.Field("V", a.values.data(), a.values.size() * sizeof(double));
    } else {
      // Strings and compounds: their stored bytes (fixed-size types; variable-length ones by class only).
      Handle space(H5Dget_space(object.get()), H5Sclose);
      const size_t bytes = H5Dget_storage_size(object.get());
      if (H5Tis_variable_str(type.get()) <= 0 && H5Tdetect_class(type.get(), H5T_VLEN) <= 0 && bytes > 0 &&
          bytes <= kMaxAttributeBytes) {
        std::vector<unsigned char> raw(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())) * H5Tget_size(type.get()));
        if (H5Dread(object.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
          Fail("cannot read dataset " + path + " (corrupt or truncated file?)");
        h.Field("R", raw.data(), raw.size());
      } else {
        h.Field("c", &cls, sizeof cls);
      }
    }
  }
  return h.value();
}

void H5File::WriteContentChecksum() { WriteStringAttribute("/", kChecksumAttribute, Hex(ContentChecksum())); }

bool H5File::HasContentChecksum() const { return HasAttribute("/", kChecksumAttribute); }

void H5File::VerifyContentChecksum() const { CompareContentChecksum(ContentChecksum()); }

void H5File::CompareContentChecksum(uint64_t computed) const {
  if (!HasContentChecksum()) Fail("no content_checksum attribute (written by an older cimsim, or damaged)");
  const std::string stored = ReadStringAttribute("/", kChecksumAttribute);
  const std::string now = Hex(computed);
  if (stored != now)
    Fail("content checksum " + now + " differs from the stored " + stored + ": the file was damaged or edited after it was written");
}

}  // namespace cimsim
