// atomic_file.h — writing a whole text file so that a reader never sees it half-written: the text goes
// to "<path>.partial.<pid>" (unique per process, as H5File::CreateAtomic), which is then renamed over
// path. On failure the temporary file is removed and the existing file, if any, is untouched.
#pragma once

#include <string>

namespace cimsim {

// InputError naming the path when it cannot be written or renamed into place.
void WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace cimsim
