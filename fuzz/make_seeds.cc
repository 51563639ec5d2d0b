// make_seeds DIR — the fuzzers' seed corpora, written with the library's own writers (images: libjpeg's
// and libpng's, data/image_encode.h) (as the tests make
// their inputs): DIR/<fuzzer>/seed_*. JSON configs come from the repository (scripts/fuzz.sh copies them).
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "data/image_encode.h"
#include "data/tar_gz.h"
#include "experiments/calibration_file.h"
#include "nets/checkpoint.h"
#include "nets/init.h"
#include "nets/quant_test_util.h"
#include "nets/quantized_checkpoint.h"

namespace {

// Beside an HDF5 seed, a copy without its content_checksum, as a file of another tool has none: the
// mutations of that copy reach the loader's own checks instead of stopping at the checksum.
void AddCopyWithoutChecksum(const std::filesystem::path& path) {
  const std::filesystem::path copy = path.parent_path() / (path.stem().string() + "_nochecksum.h5");
  std::filesystem::copy_file(path, copy, std::filesystem::copy_options::overwrite_existing);
  const hid_t f = H5Fopen(copy.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0 || H5Adelete(f, "content_checksum") < 0) throw std::runtime_error("cannot strip the checksum of " + copy.string());
  H5Fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds DIR\n";
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  for (const char* f : {"float_model", "quantized_model", "calibration", "cifar10", "tar_gz", "image"}) fs::create_directories(dir / f);
  using cimsim::ModelSpec, cimsim::Network, cimsim::QuantizedModel, cimsim::ChipCalibrationFile, cimsim::LayerCalibration;
  namespace ct = cimsim::testing;
  // A ResNet-8 (option A shortcuts, adds) and a small VGG (max pooling), float and W4A4.
  for (const auto& [name, spec] : {std::pair{std::string("resnet8"), ct::SpecFor("resnet", 8, 'A')},
                                   std::pair{std::string("vgg"), ct::SpecFor("vgg", 0, 'A')}}) {
    Network net = cimsim::BuildNetwork(spec);
    cimsim::InitializeKaiming(net, 1);
    cimsim::SaveModel((dir / "float_model" / ("seed_" + name + ".h5")).string(), spec, net);
    AddCopyWithoutChecksum(dir / "float_model" / ("seed_" + name + ".h5"));
    const QuantizedModel q = ct::QuantizedRandomNet(spec, net, ct::Uniform(net, 4, 4), 3);
    cimsim::SaveQuantizedModel(q, (dir / "quantized_model" / ("seed_" + name + "_w4a4.h5")).string(), {});
    AddCopyWithoutChecksum(dir / "quantized_model" / ("seed_" + name + "_w4a4.h5"));
  }
  ChipCalibrationFile cal;
  cal.qmodel = "q.h5";
  cal.xbar_config = "{}";
  cal.calibration_config = "{}";
  LayerCalibration layer;
  layer.layer = "conv1";
  layer.corrections.assign(4, {1.0, 0.0});
  cal.layers[0] = layer;
  cal.shapes[0] = {1, 2, 2};
  cimsim::SaveChipCalibration((dir / "calibration" / "seed.h5").string(), cal);
  AddCopyWithoutChecksum(dir / "calibration" / "seed.h5");
  std::string records;
  for (int i = 0; i < 3; ++i) {
    records.push_back(static_cast<char>(i));
    records.append(3072, static_cast<char>(40 * i));
  }
  std::ofstream(dir / "cifar10" / "seed_3.bin", std::ios::binary) << records;
  cimsim::WriteTarGz((dir / "tar_gz" / "seed.tar.gz").string(),
             {{"cifar-10-batches-bin/test_batch.bin", records}, {"cifar-10-batches-bin/readme.html", "hello"}});
  // Small JPEGs (colour, grayscale) and PNGs (RGB, gray, RGBA) for the image decoder.
  cimsim::RgbImage picture;
  picture.height = 12;
  picture.width = 17;
  for (int i = 0; i < 12 * 17 * 3; ++i) picture.pixels.push_back(static_cast<uint8_t>((i * 37) % 251));
  cimsim::WriteJpegFile((dir / "image" / "seed_rgb.jpg").string(), picture, 80);
  cimsim::WriteJpegFile((dir / "image" / "seed_gray.jpg").string(), picture, 80, true);
  cimsim::WritePngFile((dir / "image" / "seed_rgb.png").string(), picture);
  cimsim::WritePngFile((dir / "image" / "seed_gray.png").string(), picture, cimsim::PngLayout::kGray);
  cimsim::WritePngFile((dir / "image" / "seed_rgba.png").string(), picture, cimsim::PngLayout::kRgba, 128);
  return 0;
}
