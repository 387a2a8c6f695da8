// Fashion-MNIST dataset (see fashion_mnist.h).
#include "data/fashion_mnist.h"

#include <cstring>
#include <optional>

#include "core/file_io.h"
#include "data/idx.h"
#include "data/sample_store.h"

namespace tte {
namespace {

class FashionMnistDataset : public LabelledDataset {
 public:
  FashionMnistDataset(int rows, int cols, SampleStore pixels, std::vector<int> labels,
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
    TTE_RETURN_IF_ERROR(pixels_.Read(i, img.pixels.data()));
    return Transform(img, f, aug, sample_seed, out);
  }

 private:
  int rows_, cols_;
  SampleStore pixels_;  // the kept images, in order, out of memory (sample_store.h)
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
  // The labels first (they say which images are kept), then the images in one streamed pass that
  // stores only the kept ones (sample_store.h). Errors come in the order of reading the images whole
  // first: the images file's, the labels file's, their counts, a bad label, an empty selection.
  Result<std::vector<uint8_t>> labels = ReadIdxLabels(lbl_path);
  int remap[256];
  for (int& m : remap) m = -1;
  for (size_t k = 0; k < classes.size(); ++k) remap[classes[k]] = static_cast<int>(k);
  std::vector<std::string> names;
  for (int c : classes) names.push_back(all_names[c]);
  std::vector<bool> want;
  std::vector<int> kept;
  if (labels.ok()) {
    want.assign(labels->size(), false);
    for (size_t i = 0; i < labels->size(); ++i) {
      if (opt.max_samples >= 0 && int64_t(kept.size()) >= opt.max_samples) break;
      const int m = (*labels)[i] < all_names.size() ? remap[(*labels)[i]] : -1;
      if (m < 0) continue;
      kept.push_back(m);
      want[i] = true;
    }
  }
  std::optional<SampleStore> store;
  IdxImages images;
  TTE_RETURN_IF_ERROR(StreamIdxImages(
      img_path,
      [&](const IdxImages& header) -> Status {
        images = header;
        TTE_ASSIGN_OR_RETURN(SampleStore s, SampleStore::Temporary(img_path, size_t(header.rows) * header.cols));
        store.emplace(std::move(s));
        return Status::Ok();
      },
      [&](int64_t image, const uint8_t* p, size_t n) {
        return size_t(image) < want.size() && want[size_t(image)] ? store->Append(p, n) : Status::Ok();
      }));
  if (!labels.ok()) return labels.status();
  if (labels->size() != size_t(images.count))
    return DataLoss(lbl_path + ": " + std::to_string(labels->size()) + " labels but " + img_path +
                    " holds " + std::to_string(images.count) + " images");
  for (size_t i = 0; i < labels->size(); ++i)
    if ((*labels)[i] >= all_names.size())
      return DataLoss(lbl_path + ": label[" + std::to_string(i) +
                      "] = " + std::to_string((*labels)[i]) + " is not a Fashion-MNIST class (0..9)");
  if (kept.empty()) return InvalidArgument(img_path + ": no samples of the selected classes");
  TTE_RETURN_IF_ERROR(store->Finish());
  if (store->rows() != kept.size())
    return Internal(img_path + ": stored " + std::to_string(store->rows()) + " images, selected " +
                    std::to_string(kept.size()));
  return std::unique_ptr<Dataset>(new FashionMnistDataset(
      images.rows, images.cols, std::move(*store), std::move(kept), std::move(names), opt.eval));
}

}  // namespace tte
