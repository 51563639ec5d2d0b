// image_folder.h — ImageNet-format datasets: the folder layout torchvision's ImageFolder reads, or a
// flat folder with a labels file (how ImageNet's validation set often comes).
//
// ScanImageFolder(ROOT):   ROOT/<class>/.../<image>
//   classes = the names of ROOT's subdirectories, sorted by byte value (torchvision's sorted());
//   class index = position in that list. The images of a class are the files under its folder (any
//   depth) whose name ends in .jpg, .jpeg or .png (any case), sorted by their path below ROOT; the
//   dataset lists class 0's images, then class 1's, ... Hidden entries (a name starting with '.') are
//   passed over. Other files are not images of the set: they are counted (`ignored`), not read.
// ReadImageList(ROOT, LIST):   LIST holds one "<path below ROOT> <class index>" per line (blank lines
//   and lines starting with '#' skipped); classes are "0".."N-1", N = largest index + 1.
//
// Only names are read here (no image is decoded): a corrupt, truncated, empty or non-image file with an
// image's name is found when the loader decodes it (image_dataset.h, BadImagePolicy). Refused with an
// InputError naming the path: ROOT missing or not a directory, no class folder, a class folder with no
// image, a list line without a path and a non-negative integer label, a listed file that is missing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cimsim {

struct ImageFolderItem {
  std::string path;   // ROOT/...
  int label = 0;
};

struct ImageFolder {
  std::string root;
  std::vector<std::string> classes;
  std::vector<ImageFolderItem> items;
  int64_t ignored = 0;   // files under ROOT that are not images by name

  int64_t size() const { return static_cast<int64_t>(items.size()); }
};

// True for a name ending in .jpg, .jpeg or .png, any case.
bool HasImageExtension(const std::string& name);

ImageFolder ScanImageFolder(const std::string& root);
ImageFolder ReadImageList(const std::string& root, const std::string& list_file);

}  // namespace cimsim
