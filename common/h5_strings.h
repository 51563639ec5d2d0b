// h5_strings.h — decoding the values of an HDF5 string dataset or attribute of any shape, shared by
// the wrapper's readers (ReadStringArray, ReadStringAttribute, the content checksum).
//
// Both storage forms are handled: variable-length strings (an array of char* that libhdf5 allocates
// and ReadStrings reclaims) and fixed-size strings (n·size bytes, each value ending at its first NUL or
// at its size). At most kMaxAttributeBytes are read: a damaged file that declares more is refused
// before any allocation.
#pragma once

#include <hdf5.h>

#include <functional>
#include <string>
#include <vector>

namespace cimsim {

// read(memory_type, buffer) reads every value into buffer (H5Dread or H5Aread with H5S_ALL); fail(what)
// throws, with `what` completing a sentence about the object ("declares 9 strings of 8 bytes", "cannot
// be read"). `type` and `space` are the object's stored type and dataspace.
std::vector<std::string> ReadStrings(hid_t type, hid_t space, const std::function<herr_t(hid_t, void*)>& read,
                                     const std::function<void(const std::string&)>& fail);

}  // namespace cimsim
