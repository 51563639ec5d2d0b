// Fuzzes the JPEG/PNG decoder of ImageNet-format datasets (data/image_decode.h) and the views taken of
// what it decodes: bad bytes must end in InputError; any other exception, crash, hang or sanitizer
// report is a finding. (libjpeg and libpng themselves are Debian's builds, not instrumented: the
// sanitizers watch cimsim's side of them — the error jumps, the buffers it hands them, the views.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "data/image_decode.h"
#include "data/image_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const cimsim::RgbImage image = cimsim::DecodeImage(data, size, "fuzz.img");
    if (static_cast<int64_t>(image.height) * image.width > (int64_t{1} << 22)) return 0;   // views of huge images: slow, not new
    cimsim::ImagePipelineParams p;
    p.crop = 16;
    p.resize = 20;
    std::vector<uint8_t> chw(3 * 16 * 16);
    cimsim::Rng rng(size);
    cimsim::TrainView(image, cimsim::DrawTrainCrop(image.height, image.width, p, rng), p, chw.data());
    cimsim::EvalView(image, p, "fuzz.img", chw.data());
  } catch (const cimsim::InputError&) {
  }
  return 0;
}
