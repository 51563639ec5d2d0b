// image_folder_views.h — an image folder's evaluation views held in memory, as the in-memory image set
// every evaluation, calibration and quantization path reads (data/cifar10.h: Cifar10Set with
// height = width = crop).
//
// LoadFolderViews: items `indices` of `folder` (in that order; all when empty), each decoded and turned
// into its evaluation view (Resize(p.resize) + CenterCrop(p.crop), data/image_pipeline.h) on `threads`
// decoding threads through an ImageLoader in evaluation mode. Memory: 3·crop² bytes per image (12 KB at
// 64 × 64, 147 KB at 224 × 224: a whole ImageNet validation set at 224 would need 7.5 GB — give a
// count). Labels are 16-bit: a folder of more than 65,535 classes is refused (InputError).
// Bad images: BadImagePolicy::kError → the InputError naming the file; kSkip → left out, counted in
// *skipped (may be null).
#pragma once

#include <cstdint>
#include <vector>

#include "data/cifar10.h"
#include "data/image_folder.h"
#include "data/image_loader.h"
#include "data/image_pipeline.h"

namespace cimsim {

Cifar10Set LoadFolderViews(const ImageFolder& folder, const std::vector<int64_t>& indices, const ImagePipelineParams& p,
                           int threads, BadImagePolicy policy, int64_t* skipped);

// True when `path` is a directory of class folders rather than CIFAR-10's files: it holds no
// test_batch.bin or data_batch_1.bin and at least one subdirectory.
bool IsImageFolder(const std::string& path);

// Evaluation views of images [first, first + count) of the folder at `path` (its order: by class;
// count < 0: to the end),
// side × side after Resize(resize, 0 = side·256/224 rounded) + CenterCrop(side); bad images are errors.
Cifar10Set LoadFolderTestImages(const std::string& path, int64_t first, int64_t count, int side, int resize, int threads);

// The labels of a folder's items as an image set without pixels (for CalibrationSubset, which reads
// labels only), refusing more than 65,535 classes like LoadFolderViews.
Cifar10Set FolderLabels(const ImageFolder& folder);

}  // namespace cimsim
