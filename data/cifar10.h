// cifar10.h — reader for CIFAR-10 in the official binary format ("cifar-10-binary.tar.gz").
//
// Format (https://www.cs.toronto.edu/~kriz/cifar.html): a file is a sequence of 3073-byte records,
// no header. Record = 1 label byte (0..9, index into kCifarClassNames) + 3072 pixel bytes: 1024 R,
// then 1024 G, then 1024 B, each plane 32x32 row-major. So a record's pixels are one image in CHW
// order, [3, 32, 32] uint8, and are stored unchanged in Cifar10Set::pixels.
//
// The archive unpacks into cifar-10-batches-bin/: data_batch_1.bin .. data_batch_5.bin (10000
// records each, train) and test_batch.bin (10000 records, test). The train split is those five
// files concatenated in that order (image k of data_batch_j is train image (j-1)*10000 + k).
//
// Every bad input (missing file or directory, empty file, size not a whole number of records, label
// above 9) throws InputError naming the file and the offending value. Every file's size is checked
// (stat only) before any is read; with max_images, only the first max_images records are read and
// validated, so `--limit 4` reads 4 × 3073 bytes, not the whole 30 MB split.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cimsim {

constexpr int kCifarClasses = 10;
constexpr int kCifarChannels = 3;
constexpr int kCifarHeight = 32;
constexpr int kCifarWidth = 32;
constexpr int kCifarImageBytes = kCifarChannels * kCifarHeight * kCifarWidth;  // 3072
constexpr int kCifarRecordBytes = 1 + kCifarImageBytes;                        // 3073

// Class names in label order (as in batches.meta.txt).
constexpr std::array<std::string_view, kCifarClasses> kCifarClassNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

// n images in memory: pixels is [n, 3, height, width] uint8 (CHW per image, channels R, G, B),
// labels[i] the class of image i. The CIFAR-10 reader gives 32 × 32 images with labels in [0, 9];
// an image folder's evaluation views (data/image_folder_views.h) give any square size and up to 65,535
// classes. sources: the files read, in order. available: the records the files hold (= n unless a
// max_images cut the read short).
struct Cifar10Set {
  std::vector<uint16_t> labels;  // class indices (CIFAR-10: 0..9; an image folder: up to 65,535 classes)
  std::vector<uint8_t> pixels;
  std::vector<std::string> sources;
  int64_t available = 0;
  int height = kCifarHeight, width = kCifarWidth;
  std::vector<std::string> class_names;  // by label; empty = CIFAR-10's (kCifarClassNames)

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return int64_t{kCifarChannels} * height * width; }
  // The image_bytes() CHW bytes of image i, 0 <= i < size().
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
  // class_names, or CIFAR-10's ten when it is empty.
  std::vector<std::string> ClassNames() const;
};

enum class Cifar10Split { kTrain, kTest };

// `path` is either one .bin file (split ignored) or a directory holding the official files
// (kTrain: data_batch_1.bin..data_batch_5.bin concatenated in that order; kTest: test_batch.bin).
// max_images < 0: all records; else the first min(max_images, available) records.
Cifar10Set LoadCifar10(const std::string& path, Cifar10Split split, int64_t max_images = -1);

// The records of `files` concatenated in the given order (at least one file); max_images as above.
Cifar10Set LoadCifar10Files(const std::vector<std::string>& files, int64_t max_images = -1);

// The data directory: flag_value if non-empty, else the CIMSIM_DATA environment variable if set and
// non-empty, else throws InputError explaining both options and how to get the data.
std::string ResolveDataPath(const std::string& flag_value);

// How to get the data and point cimsim at it (one paragraph; appended to "not found" errors).
std::string Cifar10DownloadHint();

}  // namespace cimsim
