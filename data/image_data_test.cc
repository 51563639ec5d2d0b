// ImageNet-format data: decoding (JPEG, PNG, bad files), the folder layout, resizing (fast vs
// reference), the training and evaluation views, and the loader (order, determinism, bad images).
// Every image is made here with libjpeg and libpng's writers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <zlib.h>

#include "common/error.h"
#include "common/streams.h"
#include "common/test_support.h"
#include "data/batch_source.h"
#include "data/image_decode.h"
#include "data/image_folder_views.h"
#include "data/image_encode.h"
#include "data/image_folder.h"
#include "data/image_loader.h"
#include "data/image_pipeline.h"
#include "data/image_resize.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

// A smooth test picture (gradients and a disc), different per seed.
RgbImage Picture(int height, int width, int seed) {
  RgbImage im;
  im.height = height;
  im.width = width;
  im.pixels.resize(static_cast<size_t>(height) * width * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = im.pixels.data() + (static_cast<size_t>(y) * width + x) * 3;
      const int dy = y - height / 2, dx = x - width / 3;
      const bool disc = dx * dx + dy * dy < (height * width) / 16;
      p[0] = static_cast<uint8_t>((255 * x) / std::max(1, width - 1));
      p[1] = static_cast<uint8_t>((255 * y) / std::max(1, height - 1));
      p[2] = static_cast<uint8_t>(disc ? 40 + 20 * (seed % 10) : 200);
    }
  return im;
}

// Seeded noise: the hardest case for resampling.
RgbImage Noise(int height, int width, uint64_t seed) {
  RgbImage im;
  im.height = height;
  im.width = width;
  im.pixels.resize(static_cast<size_t>(height) * width * 3);
  Rng rng(seed);
  for (uint8_t& v : im.pixels) v = static_cast<uint8_t>(rng.Below(256));
  return im;
}

void WriteJpeg(const std::string& path, const RgbImage& im, int quality = 95, bool gray = false) {
  WriteJpegFile(path, im, quality, gray);
}

void WritePng(const std::string& path, const RgbImage& im, PngLayout layout = PngLayout::kRgb, int alpha = 255) {
  WritePngFile(path, im, layout, alpha);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

double MeanAbsDiff(const RgbImage& a, const RgbImage& b) {
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int{a.pixels[i]} - int{b.pixels[i]});
  return sum / static_cast<double>(a.pixels.size());
}

class ImageData : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return temp_.Path(name); }
  testing::ScopedTempDir temp_{"image_data"};
};

TEST_F(ImageData, JpegDecodesToWhatWasWrittenWithinTheCodecsLoss) {
  const RgbImage im = Picture(37, 53, 1);
  WriteJpeg(Path("a.jpg"), im, 95);
  const RgbImage got = DecodeImageFile(Path("a.jpg"));
  ASSERT_EQ(got.height, 37);
  ASSERT_EQ(got.width, 53);
  EXPECT_LT(MeanAbsDiff(got, im), 3.0);   // quality 95 on a smooth picture: a couple of levels on average
  // Grayscale: three equal channels.
  WriteJpeg(Path("g.jpg"), im, 95, true);
  const RgbImage gray = DecodeImageFile(Path("g.jpg"));
  for (size_t i = 0; i < gray.pixels.size(); i += 3) {
    ASSERT_EQ(gray.pixels[i], gray.pixels[i + 1]);
    ASSERT_EQ(gray.pixels[i], gray.pixels[i + 2]);
  }
}

TEST_F(ImageData, PngDecodesExactlyInEveryLayout) {
  const RgbImage im = Noise(19, 23, 5);
  WritePng(Path("rgb.png"), im);
  EXPECT_EQ(DecodeImageFile(Path("rgb.png")).pixels, im.pixels);
  WritePng(Path("opaque.png"), im, PngLayout::kRgba, 255);
  EXPECT_EQ(DecodeImageFile(Path("opaque.png")).pixels, im.pixels);
  WritePng(Path("clear.png"), im, PngLayout::kRgba, 0);   // fully transparent: composited onto black
  const RgbImage clear = DecodeImageFile(Path("clear.png"));
  EXPECT_EQ(std::count(clear.pixels.begin(), clear.pixels.end(), 0), static_cast<std::ptrdiff_t>(clear.pixels.size()));
  WritePng(Path("gray.png"), im, PngLayout::kGray);
  const RgbImage gray = DecodeImageFile(Path("gray.png"));
  for (size_t i = 0; i < gray.pixels.size(); i += 3) {
    ASSERT_EQ(gray.pixels[i], im.pixels[i]);
    ASSERT_EQ(gray.pixels[i + 2], im.pixels[i]);
  }
  // The format comes from the bytes, not the name.
  fs::copy_file(Path("rgb.png"), Path("named_wrong.jpg"));
  EXPECT_EQ(DecodeImageFile(Path("named_wrong.jpg")).pixels, im.pixels);
}

// Crafted PNG declaring width × height, with no pixel data.
std::string PngHeader(uint32_t width, uint32_t height) {
  std::string s("\x89PNG\r\n\x1a\n", 8);
  auto be32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  be32(13);
  const size_t chunk = s.size();
  s += "IHDR";
  be32(width);
  be32(height);
  s += std::string("\x08\x02\x00\x00\x00", 5);
  be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data() + chunk), 17)));
  be32(0);
  s += "IDAT";   // empty: the pixels are never reached
  be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>("IDAT"), 4)));
  be32(0);
  s += "IEND";
  be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>("IEND"), 4)));
  return s;
}

TEST_F(ImageData, BadFilesAreRefusedNamingTheFile) {
  WriteJpeg(Path("good.jpg"), Picture(64, 64, 2));
  WritePng(Path("good.png"), Noise(32, 32, 3));
  const std::string jpg = ReadBytes(Path("good.jpg")), png = ReadBytes(Path("good.png"));
  std::ofstream(Path("empty.jpg"), std::ios::binary);
  std::ofstream(Path("text.jpg"), std::ios::binary) << "this is not an image\n";
  std::ofstream(Path("cut.jpg"), std::ios::binary) << jpg.substr(0, jpg.size() / 2);
  std::ofstream(Path("header_only.jpg"), std::ios::binary) << jpg.substr(0, 20);
  std::ofstream(Path("cut.png"), std::ios::binary) << png.substr(0, png.size() / 2);
  // Damaged markers (bytes 2..41: the quantisation table's header and values). Damage inside the
  // compressed data that keeps the stream well-formed decodes to wrong pixels: no decoder can tell.
  std::string flipped = jpg;
  for (size_t i = 2; i < 42; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  std::ofstream(Path("damaged.jpg"), std::ios::binary) << flipped;
  std::ofstream(Path("huge.png"), std::ios::binary) << PngHeader(60000, 60000);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty.jpg", "empty file"},
      {"text.jpg", "not a JPEG or PNG image"},
      {"cut.jpg", "corrupt or truncated JPEG"},
      {"header_only.jpg", "JPEG"},
      {"cut.png", "PNG"},
      {"damaged.jpg", "JPEG"},
      {"huge.png", "60000 x 60000 pixels"},
      {"absent.jpg", "not found"},
  };
  for (const auto& [name, fragment] : cases) {
    const std::string e = ErrorOf([&] { DecodeImageFile(Path(name)); });
    EXPECT_NE(e.find(Path(name)), std::string::npos) << name << ": " << e;
    EXPECT_NE(e.find(fragment), std::string::npos) << name << ": " << e;
  }
}

TEST_F(ImageData, TheFolderLayoutGivesSortedClassesAndImages) {
  const std::string root = Path("set");
  fs::create_directories(root + "/b");
  fs::create_directories(root + "/a/sub");
  fs::create_directories(root + "/.hidden");
  WritePng(root + "/b/x.png", Noise(8, 8, 1));
  WritePng(root + "/a/z.PNG", Noise(8, 8, 2));
  WriteJpeg(root + "/a/sub/y.jpeg", Picture(8, 8, 3));
  WritePng(root + "/.hidden/h.png", Noise(8, 8, 4));
  std::ofstream(root + "/a/notes.txt") << "not an image";
  std::ofstream(root + "/README") << "not a class";
  const ImageFolder set = ScanImageFolder(root);
  EXPECT_EQ(set.classes, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(set.size(), 3);
  EXPECT_EQ(set.items[0].path, root + "/a/sub/y.jpeg");
  EXPECT_EQ(set.items[1].path, root + "/a/z.PNG");
  EXPECT_EQ(set.items[2].path, root + "/b/x.png");
  EXPECT_EQ(set.items[0].label, 0);
  EXPECT_EQ(set.items[2].label, 1);
  EXPECT_EQ(set.ignored, 2);
  // Refusals.
  EXPECT_NE(ErrorOf([&] { ScanImageFolder(Path("absent")); }).find("dataset folder not found"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ScanImageFolder(root + "/README"); }).find("not a directory"), std::string::npos);
  fs::create_directories(Path("flat"));
  EXPECT_NE(ErrorOf([&] { ScanImageFolder(Path("flat")); }).find("no class folders"), std::string::npos);
  fs::create_directories(root + "/c");
  EXPECT_NE(ErrorOf([&] { ScanImageFolder(root); }).find(root + "/c: class folder without images"), std::string::npos);
}

TEST_F(ImageData, AnImageListGivesPathsAndLabels) {
  const std::string root = Path("val");
  fs::create_directories(root);
  WritePng(root + "/v1.png", Noise(8, 8, 1));
  WritePng(root + "/v2.png", Noise(8, 8, 2));
  std::ofstream(Path("list.txt")) << "# validation labels\n\nv1.png 3\r\nv2.png 0\n";
  const ImageFolder set = ReadImageList(root, Path("list.txt"));
  ASSERT_EQ(set.size(), 2);
  EXPECT_EQ(set.items[0].label, 3);
  EXPECT_EQ(set.classes.size(), 4u);
  std::ofstream(Path("bad1.txt")) << "v1.png 3\nv2.png x\n";
  EXPECT_NE(ErrorOf([&] { ReadImageList(root, Path("bad1.txt")); }).find("bad1.txt:2: the class index \"x\""), std::string::npos);
  std::ofstream(Path("bad2.txt")) << "v3.png 1\n";
  EXPECT_NE(ErrorOf([&] { ReadImageList(root, Path("bad2.txt")); }).find("listed image not found"), std::string::npos);
  std::ofstream(Path("bad3.txt")) << "justonefield\n";
  EXPECT_NE(ErrorOf([&] { ReadImageList(root, Path("bad3.txt")); }).find("bad3.txt:1: expected"), std::string::npos);
}

// What PIL (python3-pil, the library torchvision's transforms call) gives for the same file: decoding
// and BILINEAR resizing of a crop, byte for byte.
TEST_F(ImageData, DecodingAndResizingMatchPil) {
  const RgbImage picture = Picture(90, 120, 4);
  WriteJpeg(Path("p.jpg"), picture, 90);
  WritePng(Path("n.png"), Noise(70, 110, 8));
  const auto pil = [&](const std::string& in, const std::string& code) {
    const std::string out = in + ".pil";
    const std::string command = "/usr/bin/python3 -c \"import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert('RGB'); " +
                                code + "; open(sys.argv[2], 'wb').write(im.tobytes())\" " + in + " " + out;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return ReadBytes(out);
  };
  const RgbImage jpeg = DecodeImageFile(Path("p.jpg"));
  EXPECT_TRUE(pil(Path("p.jpg"), "pass") == std::string(jpeg.pixels.begin(), jpeg.pixels.end())) << "JPEG decoding";
  const RgbImage noise = DecodeImageFile(Path("n.png"));
  // (box, output height, width); PIL's crop takes (left, top, right, bottom), resize (width, height).
  const std::vector<std::tuple<PixelBox, int, int>> cases = {
      {{0, 0, 70, 110}, 31, 47}, {{0, 0, 70, 110}, 224, 224}, {{5, 9, 50, 61}, 24, 24}, {{0, 0, 70, 110}, 70, 37}};
  for (const auto& [b, h, w] : cases) {
    const RgbImage ours = ResizeBilinear(noise, b, h, w);
    const std::string code = "im = im.crop((" + std::to_string(b.left) + ", " + std::to_string(b.top) + ", " +
                             std::to_string(b.left + b.width) + ", " + std::to_string(b.top + b.height) + ")).resize((" +
                             std::to_string(w) + ", " + std::to_string(h) + "), Image.BILINEAR)";
    EXPECT_TRUE(pil(Path("n.png"), code) == std::string(ours.pixels.begin(), ours.pixels.end())) << code;
  }
}

// Fast (PIL's fixed point) vs reference (double): within 1 level everywhere, for down- and
// up-scaling, boxes and odd sizes; equal on the identity and on a constant image.
TEST(ImageResize, FastAgreesWithReferenceWithinOneLevel) {
  const RgbImage src = Noise(61, 83, 9);
  const std::vector<std::tuple<PixelBox, int, int>> cases = {
      {{0, 0, 61, 83}, 20, 31},  {{0, 0, 61, 83}, 224, 224}, {{5, 7, 40, 33}, 17, 17},
      {{0, 0, 61, 83}, 61, 40},  {{3, 1, 1, 1}, 5, 9},       {{0, 0, 61, 83}, 1, 1}};
  for (const auto& [box, h, w] : cases) {
    const RgbImage fast = ResizeBilinear(src, box, h, w), ref = ResizeBilinearReference(src, box, h, w);
    ASSERT_EQ(fast.pixels.size(), ref.pixels.size());
    int worst = 0;
    for (size_t i = 0; i < fast.pixels.size(); ++i) worst = std::max(worst, std::abs(int{fast.pixels[i]} - int{ref.pixels[i]}));
    EXPECT_LE(worst, 1) << h << " x " << w;
  }
  EXPECT_EQ(ResizeBilinear(src, {0, 0, 61, 83}, 61, 83).pixels, src.pixels);
  RgbImage flat = Noise(30, 40, 1);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 77);
  for (const RgbImage& r : {ResizeBilinear(flat, {0, 0, 30, 40}, 13, 97), ResizeBilinearReference(flat, {0, 0, 30, 40}, 13, 97)})
    EXPECT_EQ(std::count(r.pixels.begin(), r.pixels.end(), 77), static_cast<std::ptrdiff_t>(r.pixels.size()));
  EXPECT_THROW(ResizeBilinear(src, {0, 0, 62, 83}, 10, 10), std::invalid_argument);
}

TEST(ImagePipeline, TrainCropsFollowTheScaleAndRatioRules) {
  ImagePipelineParams p;
  int flips = 0, fallbacks = 0;
  const int draws = 2000;
  for (int i = 0; i < draws; ++i) {
    Rng rng = AugmentStream(7, 0, i);
    const int h = 100 + i % 300, w = 120 + (i * 7) % 400;
    const TrainCrop c = DrawTrainCrop(h, w, p, rng);
    ASSERT_GE(c.box.top, 0);
    ASSERT_GE(c.box.left, 0);
    ASSERT_LE(c.box.top + c.box.height, h);
    ASSERT_LE(c.box.left + c.box.width, w);
    const double area = static_cast<double>(c.box.height) * c.box.width / (static_cast<double>(h) * w);
    const double ratio = static_cast<double>(c.box.width) / c.box.height;
    // Rounding w and h to integers moves area and ratio a little past the drawn ranges.
    EXPECT_GE(area, 0.08 * 0.9);
    EXPECT_LE(area, 1.0);
    EXPECT_GE(ratio, 0.75 * 0.9);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.1);
    flips += c.flip;
    Rng again = AugmentStream(7, 0, i);
    const TrainCrop same = DrawTrainCrop(h, w, p, again);
    EXPECT_EQ(same.box.top, c.box.top);
    EXPECT_EQ(same.box.width, c.box.width);
    EXPECT_EQ(same.flip, c.flip);
  }
  // Statistical bound: flips ~ Binomial(2000, 1/2), σ ≈ 22.4; ±6σ.
  EXPECT_NEAR(flips, draws / 2, 135);
  // A strip far outside the ratio range can never take a random box: the centred fallback.
  for (int i = 0; i < 20; ++i) {
    Rng rng = AugmentStream(3, 1, i);
    const TrainCrop c = DrawTrainCrop(10, 1000, p, rng);
    fallbacks += c.box.height == 10 && c.box.width == 13 && c.box.left == (1000 - 13) / 2;
  }
  EXPECT_EQ(fallbacks, 20);
  p.flip = false;
  Rng rng = AugmentStream(1, 0, 0);
  EXPECT_FALSE(DrawTrainCrop(50, 50, p, rng).flip);
}

TEST(ImagePipeline, EvalViewIsResizeThenCentreCrop) {
  const RgbImage im = Noise(300, 400, 4);
  ImagePipelineParams p;
  std::vector<uint8_t> chw(3 * 224 * 224);
  EvalView(im, p, "x.png", chw.data());
  const RgbImage resized = ResizeBilinear(im, {0, 0, 300, 400}, 256, 341);   // ⌊256·400/300⌋ = 341
  const int top = 16, left = 58;                                              // round(32/2), round(117/2) half to even
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 224; y += 37)
      for (int x = 0; x < 224; x += 29)
        ASSERT_EQ(chw[(static_cast<size_t>(c) * 224 + y) * 224 + x], resized.at(top + y, left + x)[c]) << c << " " << y << " " << x;
  // Training view: the box resized, then mirrored.
  TrainCrop crop{{10, 20, 100, 150}, true};
  p.crop = 32;
  std::vector<uint8_t> view(3 * 32 * 32);
  TrainView(im, crop, p, view.data());
  const RgbImage small = ResizeBilinear(im, crop.box, 32, 32);
  EXPECT_EQ(view[5 * 32 + 0], small.at(5, 31)[0]);
  EXPECT_EQ(view[2 * 1024 + 7 * 32 + 3], small.at(7, 28)[2]);
  ImagePipelineParams q;
  RgbImage strip = Noise(1, 300, 2);
  EXPECT_NE(ErrorOf([&] { EvalView(strip, q, "strip.png", chw.data()); }).find("strip.png: a 1 x 300 image would be 76800 pixels long"),
            std::string::npos);
  p.resize = 16;
  EXPECT_NE(ErrorOf([&] { p.Validate("loader"); }).find("loader: resize: 16 is out of range"), std::string::npos);
}

class ImageLoaderTest : public ImageData {
 protected:
  // 4 classes × 5 images of varied sizes, PNG and JPEG.
  ImageFolder MakeSet() {
    for (int c = 0; c < 4; ++c) {
      const std::string dir = Path("set/class" + std::to_string(c));
      fs::create_directories(dir);
      for (int i = 0; i < 5; ++i) {
        const std::string name = dir + "/img" + std::to_string(i);
        if (i % 2 == 0) {
          WritePng(name + ".png", Noise(40 + 3 * i, 48 + 5 * c, static_cast<uint64_t>(10 * c + i)));
        } else {
          WriteJpeg(name + ".jpg", Picture(44 + i, 36 + c, 10 * c + i));
        }
      }
    }
    return ScanImageFolder(Path("set"));
  }
};

TEST_F(ImageLoaderTest, EpochsCoverEveryImageOnceAndDoNotDependOnThreads) {
  const ImageFolder set = MakeSet();
  ImageLoaderParams params;
  params.pipeline.crop = 24;
  params.pipeline.resize = 28;
  params.batch_size = 6;
  params.seed = 11;
  std::vector<std::vector<uint8_t>> bytes_by_threads;
  for (int threads : {1, 2}) {
    params.decode_threads = threads;
    ImageLoader loader(set, params);
    EXPECT_EQ(loader.NumBatches(), 4);
    std::vector<uint8_t> all;
    for (int epoch = 0; epoch < 2; ++epoch) {
      loader.StartEpoch(epoch);
      std::set<int64_t> seen;
      int64_t batches = 0;
      while (std::optional<ImageBatch> b = loader.Next()) {
        ++batches;
        EXPECT_EQ(b->chw.size(), static_cast<size_t>(b->size()) * 3 * 24 * 24);
        for (int64_t k = 0; k < b->size(); ++k) {
          EXPECT_TRUE(seen.insert(b->indices[k]).second);
          EXPECT_EQ(b->labels[k], set.items[b->indices[k]].label);
        }
        all.insert(all.end(), b->chw.begin(), b->chw.end());
      }
      EXPECT_EQ(batches, 4);
      EXPECT_EQ(seen.size(), 20u);
    }
    // Load(b) gives what Next gave.
    loader.StartEpoch(1);
    const ImageBatch first = *loader.Next();
    EXPECT_EQ(loader.Load(0).chw, first.chw);
    bytes_by_threads.push_back(all);
  }
  EXPECT_EQ(bytes_by_threads[0], bytes_by_threads[1]);
  // Evaluation: the given order, the same views every epoch.
  params.train = false;
  ImageLoader eval(set, params);
  eval.StartEpoch(0);
  const ImageBatch e0 = *eval.Next();
  eval.StartEpoch(5);
  EXPECT_EQ(eval.Next()->chw, e0.chw);
  EXPECT_EQ(e0.indices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(ImageLoaderTest, BadImagesStopTheRunOrAreSkippedAndCounted) {
  ImageFolder set = MakeSet();
  const std::string dir = Path("set/class1");
  const std::string jpg = ReadBytes(dir + "/img1.jpg");
  std::ofstream(dir + "/zero.jpg", std::ios::binary);
  std::ofstream(dir + "/cut.jpg", std::ios::binary) << jpg.substr(0, jpg.size() / 2);
  std::ofstream(dir + "/words.png", std::ios::binary) << "not a picture";
  set = ScanImageFolder(Path("set"));
  ASSERT_EQ(set.size(), 23);
  ImageLoaderParams params;
  params.pipeline.crop = 16;
  params.pipeline.resize = 16;
  params.batch_size = 8;
  params.train = false;
  {
    ImageLoader loader(set, params);
    loader.StartEpoch(0);
    std::string e;
    try {
      while (loader.Next()) {
      }
    } catch (const InputError& error) {
      e = error.what();
    }
    EXPECT_NE(e.find(dir + "/cut.jpg: corrupt or truncated JPEG"), std::string::npos) << e;
  }
  params.bad_images = BadImagePolicy::kSkip;
  ImageLoader loader(set, params);
  loader.StartEpoch(0);
  int64_t images = 0;
  std::vector<std::string> skipped;
  while (std::optional<ImageBatch> b = loader.Next()) {
    images += b->size();
    skipped.insert(skipped.end(), b->skipped.begin(), b->skipped.end());
  }
  EXPECT_EQ(images, 20);
  EXPECT_EQ(loader.Skipped(), 3);
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_NE(skipped[0].find("cut.jpg"), std::string::npos);
  EXPECT_NE(skipped[1].find("words.png: not a JPEG or PNG image"), std::string::npos);
  EXPECT_NE(skipped[2].find("zero.jpg: empty file"), std::string::npos);
}

// FolderBatches = the loader's batches through the Normalizer's tables; CifarBatches = Batcher::Fill.
TEST_F(ImageLoaderTest, BatchSourcesGiveTheUnderlyingBatchesNormalized) {
  const ImageFolder set = MakeSet();
  const Normalizer norm(ChannelNorm{{0.5, 0.4, 0.3}, {0.2, 0.25, 0.3}});
  ImageLoaderParams params;
  params.pipeline.crop = 24;
  params.pipeline.resize = 28;
  params.batch_size = 6;
  params.seed = 3;
  ImageLoader loader(set, params);
  FolderBatches source(set, params, norm);
  EXPECT_EQ(source.ImageShape(), (std::array<int64_t, 3>{3, 24, 24}));
  EXPECT_EQ(source.NumBatches(), 4);
  ThreadPool pool(2);
  for (int64_t epoch : {0, 1}) {
    loader.StartEpoch(epoch);
    source.StartEpoch(epoch);
    std::vector<float> images(static_cast<size_t>(6 * 3 * 24 * 24)), expected(images.size());
    std::vector<int32_t> labels(6);
    int64_t n = 0, batches = 0;
    while (source.Next(images.data(), labels.data(), &n, &pool)) {
      const std::optional<ImageBatch> b = loader.Next();
      ASSERT_TRUE(b.has_value());
      ASSERT_EQ(n, b->size());
      for (int64_t i = 0; i < n; ++i) norm.Apply(b->chw.data() + i * 3 * 24 * 24, 24 * 24, expected.data() + i * 3 * 24 * 24);
      EXPECT_TRUE(std::equal(images.begin(), images.begin() + n * 3 * 24 * 24, expected.begin())) << "batch " << batches;
      EXPECT_TRUE(std::equal(labels.begin(), labels.begin() + n, b->labels.begin()));
      ++batches;
    }
    EXPECT_EQ(batches, 4);
    EXPECT_FALSE(loader.Next().has_value());
  }

  // The evaluation views in memory: the loader's evaluation batches, in folder order, and their labels.
  ImagePipelineParams view;
  view.crop = 24;
  view.resize = 28;
  const Cifar10Set views = LoadFolderViews(set, {}, view, 2, BadImagePolicy::kError, nullptr);
  ASSERT_EQ(views.size(), 20);
  EXPECT_EQ(views.height, 24);
  EXPECT_EQ(views.image_bytes(), 3 * 24 * 24);
  std::vector<uint8_t> chw(3 * 24 * 24);
  const RgbImage third = DecodeImageFile(set.items[13].path);
  EvalView(third, view, set.items[13].path, chw.data());
  EXPECT_TRUE(std::equal(chw.begin(), chw.end(), views.image(13)));
  EXPECT_EQ(views.labels[13], set.items[13].label);
  const Cifar10Set two = LoadFolderViews(set, {13, 2}, view, 1, BadImagePolicy::kError, nullptr);
  ASSERT_EQ(two.size(), 2);
  EXPECT_TRUE(std::equal(chw.begin(), chw.end(), two.image(0)));
  EXPECT_EQ(FolderLabels(set).labels, views.labels);

  // CifarBatches over those views: Batcher::Fill of the same parameters, batch by batch.
  BatcherParams bp;
  bp.batch_size = 7;
  bp.augment = true;
  bp.seed = 5;
  std::vector<int64_t> all(20);
  for (int64_t i = 0; i < 20; ++i) all[static_cast<size_t>(i)] = i;
  CifarBatches cifar(views, all, norm, bp);
  Batcher batcher(views, all, norm, bp);
  EXPECT_EQ(cifar.ImageShape(), (std::array<int64_t, 3>{3, 24, 24}));
  cifar.StartEpoch(2);
  batcher.StartEpoch(2);
  std::vector<float> a(static_cast<size_t>(7 * 3 * 24 * 24)), b(a.size());
  std::vector<int32_t> la(7), lb(7);
  int64_t n = 0;
  for (int64_t k = 0; cifar.Next(a.data(), la.data(), &n, &pool); ++k) {
    ASSERT_EQ(batcher.Fill(k, b.data(), lb.data(), nullptr), n);
    EXPECT_EQ(a, b);
    EXPECT_EQ(la, lb);
  }
}
}  // namespace
}  // namespace cimsim
