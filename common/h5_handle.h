// h5_handle.h — an HDF5 identifier that is closed with its matching close function when it leaves
// scope; shared by the HDF5 wrapper's source files (h5_file.cc, h5_table.cc).
#pragma once

#include <hdf5.h>

namespace cimsim {

class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Handle() {
    if (id_ >= 0) close_(id_);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

}  // namespace cimsim
