// Fashion-MNIST as a tte Dataset: 28x28 grey images in IDX files, 10 classes.
//
// Files: <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (the raw file without .gz is used
// when the .gz is absent). Debian's package `dataset-fashion-mnist` installs them in
// /usr/share/datasets/fashion-mnist, the default directory. Split "train" (60000) or "test"
// (10000). Samples are kept in file order, filtered by the class subset, cut to max_samples, labels
// remapped (see dataset.h). The images are not held in memory: the labels say which are kept, one
// streamed pass over the (decompressed) images file writes those to a temporary file, and Load()
// reads one back (data/sample_store.h), so a training process holds 64 KiB buffers, not the split's
// 47 MB; same samples, same order as decoding the file whole. Load() applies the transform to the grey image (every step gives the
// same planes as on its RGB copy), then copies it to the 3 planes; the eval transform "resize" at
// r = 128 reproduces the reference's golden input (golden/input_fmnist0_int8.npy) exactly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace tte {

inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kFashionMnistDebianPackage = "dataset-fashion-mnist";

// "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
// "Ankle boot".
const std::vector<std::string>& FashionMnistClassNames();

struct FashionMnistOptions {
  std::string dir;              // "" = kFashionMnistDefaultDir
  std::string split = "train";  // train | test
  std::string classes;          // subset, see dataset.h
  int64_t max_samples = -1;
  EvalTransform eval = EvalTransform::kResize;
};

Result<std::unique_ptr<Dataset>> OpenFashionMnist(const FashionMnistOptions& opt);

}  // namespace tte
