// Fashion-MNIST dataset (see fashion_mnist.h).
#include "data/fashion_mnist.h"

#include <cstring>

#include "core/file_io.h"
#include "data/idx.h"

namespace tte {
namespace {

class FashionMnistDataset : public LabelledDataset {
 public:
  FashionMnistDataset(int rows, int cols, std::vector<uint8_t> pixels, std::vector<int> labels,
                      std::vector<std::string> names, EvalTransform eval)
      : LabelledDataset("fashion-mnist", std::move(labels), std::move(names), eval),
        rows_(rows),
        cols_(cols),
        pixels_(std::move(pixels)) {}

 protected:
  Status LoadSample(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                    int8_t* out) const override {
    // Grey is kept as one channel through the transform: every step (resize, flip, enhancers) gives
    // the same planes as on the RGB copy, and ImageToInt8Chw copies it to three planes.
    Image img(cols_, rows_, 1);
    const size_t n = size_t(rows_) * cols_;
    std::memcpy(img.pixels.data(), pixels_.data() + i * n, n);
    return Transform(img, f, aug, sample_seed, out);
  }

 private:
  int rows_, cols_;
  std::vector<uint8_t> pixels_;
};

// <dir>/<stem>.gz, or <dir>/<stem> when only the raw file is there; NotFound naming the package.
Result<std::string> FindFile(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  if (FileExists(gz)) return gz;
  const std::string raw = dir + "/" + stem;
  if (FileExists(raw)) return raw;
  std::string msg = gz + ": not found (Fashion-MNIST";
  if (dir == kFashionMnistDefaultDir)
    msg += std::string(" is installed there by Debian's package ") + kFashionMnistDebianPackage +
           ": apt-get install " + kFashionMnistDebianPackage;
  else
    msg += std::string(": Debian's package ") + kFashionMnistDebianPackage + " installs it in " +
           kFashionMnistDefaultDir;
  msg += "; or pass the directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])";
  return NotFound(msg);
}

}  // namespace

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

Result<std::unique_ptr<Dataset>> OpenFashionMnist(const FashionMnistOptions& opt) {
  const std::string dir = opt.dir.empty() ? kFashionMnistDefaultDir : opt.dir;
  std::string prefix;
  if (opt.split == "train")
    prefix = "train";
  else if (opt.split == "test")
    prefix = "t10k";
  else
    return InvalidArgument("fashion-mnist: split '" + opt.split + "': expected 'train' or 'test'");
  const std::vector<std::string>& all_names = FashionMnistClassNames();
  TTE_ASSIGN_OR_RETURN(std::vector<int> classes,
                       ParseClassList(opt.classes, all_names, "fashion-mnist: classes"));
  if (opt.max_samples < -1 || opt.max_samples == 0)
    return InvalidArgument("fashion-mnist: max_samples " + std::to_string(opt.max_samples) +
                           " must be positive (or -1 for all)");
  if (!IsDirectory(dir) && !FileExists(dir))
    return NotFound(dir + ": Fashion-MNIST directory not found (Debian's package " +
                    kFashionMnistDebianPackage + " installs it in " + kFashionMnistDefaultDir +
                    ")");

  TTE_ASSIGN_OR_RETURN(std::string img_path, FindFile(dir, prefix + "-images-idx3-ubyte"));
  TTE_ASSIGN_OR_RETURN(std::string lbl_path, FindFile(dir, prefix + "-labels-idx1-ubyte"));
  TTE_ASSIGN_OR_RETURN(IdxImages images, ReadIdxImages(img_path));
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadIdxLabels(lbl_path));
  if (labels.size() != size_t(images.count))
    return DataLoss(lbl_path + ": " + std::to_string(labels.size()) + " labels but " + img_path +
                    " holds " + std::to_string(images.count) + " images");

  int remap[256];
  for (int& m : remap) m = -1;
  for (size_t k = 0; k < classes.size(); ++k) remap[classes[k]] = static_cast<int>(k);
  std::vector<std::string> names;
  for (int c : classes) names.push_back(all_names[c]);

  const size_t item = size_t(images.rows) * images.cols;
  std::vector<uint8_t> pixels;
  std::vector<int> kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= all_names.size())
      return DataLoss(lbl_path + ": label[" + std::to_string(i) +
                      "] = " + std::to_string(labels[i]) + " is not a Fashion-MNIST class (0..9)");
    if (opt.max_samples >= 0 && int64_t(kept.size()) >= opt.max_samples) continue;
    const int m = remap[labels[i]];
    if (m < 0) continue;
    kept.push_back(m);
    pixels.insert(pixels.end(), images.pixels.begin() + i * item,
                  images.pixels.begin() + (i + 1) * item);
  }
  if (kept.empty()) return InvalidArgument(img_path + ": no samples of the selected classes");
  return std::unique_ptr<Dataset>(new FashionMnistDataset(
      images.rows, images.cols, std::move(pixels), std::move(kept), std::move(names), opt.eval));
}

}  // namespace tte
