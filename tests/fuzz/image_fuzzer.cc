// libFuzzer target of image decoding (stb_image as tte compiles it, src/data/stb_decoder.cc) and what
// follows a decode: the Pillow-exact resize to a model's input size and the int8 CHW conversion.
// Properties: a decoded image has the size its header claims, within the limits, and converts.
// Headers claiming more than 65,536 pixels are skipped: decoding them is the same code for longer (up to
// seconds under the sanitizers), and the size limit itself is a catalogue test (tests/e2e).
#include <stb/stb_image.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "data/image.h"
#include "data/stb_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int w = 0, h = 0, comp = 0;  // stb_image's own header reading needs the same guard as DecodeImage's
  if (size > 0 && tte::stb::KnownDefect(data, size).empty() &&
      stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &comp) && int64_t{w} * h > (1 << 16))
    return 0;
  auto img = tte::DecodeImage(data, size, "fuzz.img");
  if (!img.ok()) return 0;
  if (img->channels != 3 || img->width <= 0 || img->height <= 0 ||
      int64_t{img->width} * img->height > tte::kMaxImagePixels ||
      img->pixels.size() != size_t{3} * img->width * img->height)
    std::abort();
  // A small output keeps the resampler fast whatever the input size.
  auto small = tte::ResizeBilinear(*img, 7, 5);
  if (!small.ok()) std::abort();
  std::vector<int8_t> chw(size_t{3} * 7 * 5);
  if (!tte::ImageToInt8Chw(*small, chw.data()).ok()) std::abort();
  return 0;
}
