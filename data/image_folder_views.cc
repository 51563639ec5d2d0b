#include "data/image_folder_views.h"

#include <algorithm>
#include <filesystem>
#include <string>

#include "common/error.h"

namespace cimsim {
namespace {

void CheckClassCount(const ImageFolder& folder) {
  if (folder.classes.size() > 65535)
    throw InputError(folder.root + ": " + std::to_string(folder.classes.size()) +
                     " classes; cimsim holds labels as 16-bit indices and takes at most 65,535 classes");
}

}  // namespace

Cifar10Set LoadFolderViews(const ImageFolder& folder, const std::vector<int64_t>& indices, const ImagePipelineParams& p,
                           int threads, BadImagePolicy policy, int64_t* skipped) {
  CheckClassCount(folder);
  ImageFolder chosen;
  chosen.root = folder.root;
  chosen.classes = folder.classes;
  if (indices.empty()) {
    chosen.items = folder.items;
  } else {
    for (int64_t i : indices) {
      if (i < 0 || i >= folder.size())
        throw std::out_of_range("LoadFolderViews: index " + std::to_string(i) + " outside the folder's " +
                                std::to_string(folder.size()) + " images");
      chosen.items.push_back(folder.items[static_cast<size_t>(i)]);
    }
  }
  ImageLoaderParams lp;
  lp.pipeline = p;
  lp.batch_size = 256;
  lp.train = false;
  lp.bad_images = policy;
  lp.decode_threads = threads;
  ImageLoader loader(chosen, lp);
  Cifar10Set set;
  set.height = set.width = p.crop;
  set.class_names = folder.classes;
  set.sources = {folder.root};
  set.available = chosen.size();
  set.pixels.reserve(static_cast<size_t>(chosen.size() * set.image_bytes()));
  set.labels.reserve(static_cast<size_t>(chosen.size()));
  loader.StartEpoch(0);
  while (std::optional<ImageBatch> batch = loader.Next()) {
    set.pixels.insert(set.pixels.end(), batch->chw.begin(), batch->chw.end());
    for (int32_t label : batch->labels) set.labels.push_back(static_cast<uint16_t>(label));
  }
  if (skipped != nullptr) *skipped = loader.Skipped();
  return set;
}

bool IsImageFolder(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  if (fs::exists(fs::path(path) / "test_batch.bin", ec) || fs::exists(fs::path(path) / "data_batch_1.bin", ec)) return false;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
    if (e.is_directory(ec)) return true;
  return false;
}

Cifar10Set LoadFolderTestImages(const std::string& path, int64_t first, int64_t count, int side, int resize, int threads) {
  const ImageFolder folder = ScanImageFolder(path);
  if (count < 0) count = std::max<int64_t>(folder.size() - first, 0);
  if (first + count > folder.size())
    throw InputError(path + ": images [" + std::to_string(first) + ", " + std::to_string(first + count) +
                     ") do not exist; the folder holds " + std::to_string(folder.size()) + " images");
  std::vector<int64_t> indices;
  for (int64_t i = first; i < first + count; ++i) indices.push_back(i);
  const ImagePipelineParams p = EvalViewParams(side, resize);
  p.Validate(path);
  return LoadFolderViews(folder, indices, p, threads, BadImagePolicy::kError, nullptr);
}

Cifar10Set FolderLabels(const ImageFolder& folder) {
  CheckClassCount(folder);
  Cifar10Set set;
  set.class_names = folder.classes;
  set.sources = {folder.root};
  set.available = folder.size();
  for (const ImageFolderItem& item : folder.items) set.labels.push_back(static_cast<uint16_t>(item.label));
  return set;
}

}  // namespace cimsim
