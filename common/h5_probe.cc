// h5_probe.cc — H5File::ReadEveryObject: every object of the file read once (see h5_file.h).
#include <hdf5.h>

#include <vector>

#include "common/h5_file.h"
#include "common/h5_handle.h"

namespace cimsim {
namespace {

herr_t CollectDataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->push_back(std::string("/") + name);
  return 0;
}

}  // namespace

void H5File::ReadEveryObject() const {
  const uint64_t checksum = ContentChecksum();  // every attribute, every numeric or fixed-size dataset
  std::vector<std::string> datasets;
  if (H5Ovisit(id_, H5_INDEX_NAME, H5_ITER_INC, CollectDataset, &datasets) < 0) Fail("cannot list the file's objects");
  for (const std::string& path : datasets) {
    H5Handle dataset(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.ok()) Fail("cannot open dataset " + path);
    H5Handle type(H5Dget_type(dataset.get()), H5Tclose);
    if (H5Tis_variable_str(type.get()) <= 0 && H5Tdetect_class(type.get(), H5T_VLEN) <= 0) continue;
    H5Handle native(H5Tget_native_type(type.get(), H5T_DIR_DEFAULT), H5Tclose);
    H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
    if (!native.ok() || !space.ok()) Fail("cannot read the type of dataset " + path);
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    const size_t element = H5Tget_size(native.get());
    if (n < 0 || static_cast<uint64_t>(n) > kMaxDatasetElements || element == 0 ||
        static_cast<uint64_t>(n) * element > kMaxAttributeBytes)
      Fail("dataset " + path + " declares " + std::to_string(n) + " variable-length elements, beyond the limits");
    std::vector<unsigned char> buffer(static_cast<size_t>(n) * element);
    if (H5Dread(dataset.get(), native.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
      Fail("cannot read dataset " + path + " (corrupt or truncated file?)");
    H5Dvlen_reclaim(native.get(), space.get(), H5P_DEFAULT, buffer.data());
  }
  if (HasContentChecksum()) CompareContentChecksum(checksum);
}

}  // namespace cimsim
