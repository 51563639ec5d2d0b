// bench_image_pipeline — images/s of the ImageNet-format data pipeline (data/image_loader.h): decode a
// JPEG, take the training view (RandomResizedCrop + flip) or the evaluation view (Resize + CenterCrop),
// on 1 and 2 decoding threads; next to the peer, PIL (Debian's python3-pil, the library torchvision's
// transforms call) doing the same decode, crop, BILINEAR resize and flip on the same files in one
// process, measured in the same run.
//
// Two generated sets of 10 classes: "imagenet" (500 × 375 JPEGs, quality 90, the typical ImageNet
// image; crop 224, resize 256) and "tiny" (64 × 64 JPEGs as Tiny-ImageNet; crop 56, resize 64).
// Usage: bench_image_pipeline [IMAGES_PER_CLASS]   (default 30)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

#include "common/rng.h"
#include "data/image_encode.h"
#include "data/image_folder.h"
#include "data/image_loader.h"

namespace {

namespace fs = std::filesystem;
using cimsim::RgbImage;

// A smooth picture with mild noise: JPEG sizes like photographs (tens of KB at 500 × 375).
RgbImage Photo(int height, int width, uint64_t seed) {
  RgbImage im;
  im.height = height;
  im.width = width;
  im.pixels.resize(static_cast<size_t>(height) * width * 3);
  cimsim::Rng rng(seed);
  const int cx = static_cast<int>(rng.Below(static_cast<uint64_t>(width))), cy = static_cast<int>(rng.Below(static_cast<uint64_t>(height)));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = im.pixels.data() + (static_cast<size_t>(y) * width + x) * 3;
      const int d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 64;
      const int noise = static_cast<int>(rng.Below(24));
      p[0] = static_cast<uint8_t>((x * 255 / width + noise) & 255);
      p[1] = static_cast<uint8_t>((y * 255 / height + d + noise) & 255);
      p[2] = static_cast<uint8_t>((d * 3 + noise) & 255);
    }
  return im;
}

std::string MakeSet(const fs::path& root, int height, int width, int per_class) {
  for (int c = 0; c < 10; ++c) {
    const fs::path dir = root / ("class" + std::to_string(c));
    fs::create_directories(dir);
    for (int i = 0; i < per_class; ++i)
      cimsim::WriteJpegFile((dir / ("img" + std::to_string(i) + ".JPEG")).string(), Photo(height, width, 1000 * c + i), 90);
  }
  return root.string();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double LoaderRate(const cimsim::ImageFolder& set, cimsim::ImageLoaderParams params) {
  cimsim::ImageLoader loader(set, params);
  const auto start = std::chrono::steady_clock::now();
  loader.StartEpoch(0);
  int64_t images = 0;
  while (auto batch = loader.Next()) images += batch->size();
  return static_cast<double>(images) / Seconds(start);
}

// PIL on one process: the same files, decode + crop + BILINEAR resize (+ flip for training).
double PilRate(const cimsim::ImageFolder& set, int crop, bool train, const fs::path& tmp) {
  const fs::path list = tmp / "files.txt";
  {
    std::FILE* f = std::fopen(list.c_str(), "w");
    for (const auto& item : set.items) std::fprintf(f, "%s\n", item.path.c_str());
    std::fclose(f);
  }
  const std::string script =
      "import sys, time, random, math\n"
      "from PIL import Image\n"
      "files = open(sys.argv[1]).read().split()\n"
      "crop, train = int(sys.argv[2]), sys.argv[3] == '1'\n"
      "rng = random.Random(1)\n"
      "t = time.perf_counter()\n"
      "for f in files:\n"
      "    im = Image.open(f).convert('RGB')\n"
      "    w, h = im.size\n"
      "    if train:\n"
      "        a = w * h * rng.uniform(0.08, 1.0); r = math.exp(rng.uniform(math.log(3/4), math.log(4/3)))\n"
      "        cw = min(w, max(1, round(math.sqrt(a * r)))); ch = min(h, max(1, round(math.sqrt(a / r))))\n"
      "        i = rng.randint(0, h - ch); j = rng.randint(0, w - cw)\n"
      "        im = im.crop((j, i, j + cw, i + ch)).resize((crop, crop), Image.BILINEAR)\n"
      "        if rng.random() < 0.5: im = im.transpose(Image.FLIP_LEFT_RIGHT)\n"
      "    else:\n"
      "        s = crop * 8 // 7; nw, nh = (s, int(s * h / w)) if w < h else (int(s * w / h), s)\n"
      "        im = im.resize((nw, nh), Image.BILINEAR)\n"
      "        l, tp = round((nw - crop) / 2), round((nh - crop) / 2)\n"
      "        im = im.crop((l, tp, l + crop, tp + crop))\n"
      "    im.tobytes()\n"
      "print(len(files) / (time.perf_counter() - t))\n";
  const fs::path py = tmp / "pil_pipeline.py";
  {
    std::FILE* f = std::fopen(py.c_str(), "w");
    std::fputs(script.c_str(), f);
    std::fclose(f);
  }
  const std::string command = "/usr/bin/python3 " + py.string() + " " + list.string() + " " + std::to_string(crop) + " " +
                              (train ? "1" : "0") + " 2>/dev/null";
  std::FILE* pipe = popen(command.c_str(), "r");
  double rate = 0;
  if (pipe == nullptr || std::fscanf(pipe, "%lf", &rate) != 1) rate = 0;
  if (pipe != nullptr) pclose(pipe);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  const int per_class = argc > 1 ? std::atoi(argv[1]) : 30;
  const fs::path tmp = fs::temp_directory_path() / ("cimsim_bench_image_pipeline_" + std::to_string(getpid()));
  struct Sets {
    const char* name;
    int height, width, crop, resize;
  };
  std::printf("ImageNet-format pipeline, %d images per class, 10 classes; images/s (higher is better)\n", per_class);
  std::printf("%-9s %-6s %12s %12s %14s\n", "set", "view", "1 thread", "2 threads", "PIL, 1 proc.");
  for (const Sets& s : {Sets{"imagenet", 375, 500, 224, 256}, Sets{"tiny", 64, 64, 56, 64}}) {
    const cimsim::ImageFolder set = cimsim::ScanImageFolder(MakeSet(tmp / s.name, s.height, s.width, per_class));
    for (bool train : {true, false}) {
      cimsim::ImageLoaderParams params;
      params.pipeline.crop = s.crop;
      params.pipeline.resize = s.resize;
      params.batch_size = 32;
      params.train = train;
      params.seed = 1;
      params.decode_threads = 1;
      const double one = LoaderRate(set, params);
      params.decode_threads = 2;
      const double two = LoaderRate(set, params);
      const double pil = PilRate(set, s.crop, train, tmp);
      std::printf("%-9s %-6s %12.0f %12.0f %14.0f\n", s.name, train ? "train" : "eval", one, two, pil);
    }
  }
  fs::remove_all(tmp);
  return 0;
}
