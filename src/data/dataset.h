// The dataset interface: labelled samples preprocessed to the model's input sample (SampleFormat:
// int8 CHW [c, h, w], batch 1; images quantized by the model's pixel rule), and the loader of
// inference inputs.
//
// No kind holds its samples in memory: Fashion-MNIST and .npy samples are read back from a file per Load
// (sample_store.h), image folders and MLPerf folders read one file per Load.
// Kinds (DatasetSpec::kind):
//   "fmnist"  Fashion-MNIST IDX files (fashion_mnist.h); path = directory, default Debian's
//             /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist); split train|test.
//   "folder"  root/<class>/<image files> (image_folder.h), like torchvision's ImageFolder.
//   "npy"     path = int8 .npy of N samples (read from the file one sample at a time, never whole),
//             labels_path = integer .npy of shape (N). A sample is fed as
//             stored when its shape is the model's input in the model's own layout (NHWC for TFLite,
//             CHW for .pkl; dimensions of size 1 may be left out); (N, 3, H, W) int8 arrays of another
//             size (q = pixel - 128, the .pkl convention) are turned back into images, so any size and
//             augmentation work.
//   "mlperf"  path = a folder of raw samples in the model's input layout plus y_labels.csv
//             (`file,n_classes,label` per line), as MLPerf Tiny packages its evaluation data. int8
//             samples are fed as stored; uint8 (8-bit image) samples as q = p - 128, the MLPerf Tiny
//             convention. DatasetSpec::raw says which: "int8", "uint8", or "auto" (uint8 when the model
//             input has 3 channels, int8 otherwise). Only uint8 image samples can be augmented.
// Class subsets (`classes`): a comma-separated list of class names, indices or index ranges, e.g.
// "0-4", "5,6,7,8,9", "Sandal,Bag"; each item is first matched against the class names exactly,
// then read as an index "i" or range "a-b" (a <= b). Labels are remapped to 0..K-1 in the order of
// the list ("9,5" makes class 9 label 0). Names may not contain commas. Empty = all classes, in
// order. skip drops the first N matching samples, then max_samples keeps the next N (-1 = all): e.g.
// skip 10000, max_samples 2000 are matching samples 10000..11999 (a validation split carved from a
// training split after its first 10000 samples).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "data/augment.h"
#include "data/sample_format.h"

namespace tte {

struct DatasetSpec {            // filled by the CLI
  std::string kind;             // "fmnist" | "folder" | "npy" | "mlperf"
  std::string path;             // fmnist dir ("" = Debian's), folder root, int8 .npy file, mlperf folder
  std::string raw = "auto";     // mlperf only: sample bytes are "int8", "uint8" or "auto" (see above)
  std::string labels_path;      // npy only: labels .npy
  std::string split = "train";  // fmnist: train | test
  std::string classes;          // see the file comment; empty = all
  int64_t skip = 0;             // drop the first N matching samples (before max_samples applies)
  int64_t max_samples = -1;     // first N matching samples (after skip); -1 = all
  std::string eval_transform =
      "resize";  // transform when Load gets no augmenter: resize | center-crop
  int presize = 0;  // > 0: each image is first resized to presize x presize (bilinear, as Pillow), as if
                    // the dataset were stored at that size; augmentation / eval transform follow
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual int num_classes() const = 0;
  // Names of the K classes, index = label.
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual int label(size_t i) const = 0;
  // Writes sample i, preprocessed to the model's int8 CHW sample `f` (see sample_format.h), into out
  // (f.bytes() bytes).
  // aug == nullptr means the deterministic eval transform (DatasetSpec::eval_transform); otherwise
  // aug->Apply(image, r, sample_seed) (see augment.h). Thread-safe: const, no shared mutable state.
  virtual Status Load(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                      int8_t* out) const = 0;
};

// The common part of every kind: labels 0..K-1, class names, the eval transform, and the range check
// of Load (`what` names the kind in its message). Kinds implement LoadSample for i < size().
class LabelledDataset : public Dataset {
 public:
  LabelledDataset(std::string what, std::vector<int> labels, std::vector<std::string> names,
                  EvalTransform eval)
      : what_(std::move(what)), labels_(std::move(labels)), names_(std::move(names)), eval_(eval) {}

  size_t size() const final { return labels_.size(); }
  int num_classes() const final { return static_cast<int>(names_.size()); }
  const std::vector<std::string>& class_names() const final { return names_; }
  int label(size_t i) const final { return labels_[i]; }
  Status Load(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed, int8_t* out) const final {
    if (i >= labels_.size())
      return InvalidArgument(what_ + ": sample " + std::to_string(i) + " out of range (size " +
                             std::to_string(labels_.size()) + ")");
    return LoadSample(i, f, aug, sample_seed, out);
  }
  void set_presize(int n) { presize_ = n; }

 protected:
  virtual Status LoadSample(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                            int8_t* out) const = 0;
  EvalTransform eval() const { return eval_; }
  int presize() const { return presize_; }
  // The decoded image of a sample -> out: the presize resize if set, then augmentation or the eval transform.
  Status Transform(const Image& img, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                   int8_t* out) const {
    if (presize_ <= 0) return TransformToInt8(img, f, aug, sample_seed, eval_, out);
    TTE_ASSIGN_OR_RETURN(Image stored, ResizeBilinear(img, presize_, presize_));
    return TransformToInt8(stored, f, aug, sample_seed, eval_, out);
  }

 private:
  int presize_ = 0;
  std::string what_;
  std::vector<int> labels_;
  std::vector<std::string> names_;
  EvalTransform eval_;
};

Result<std::unique_ptr<Dataset>> OpenDataset(const DatasetSpec& spec);

// Parses a class subset (see the file comment) against `names`; returns original class indices in
// list order, each once. Empty text = all classes. `what` prefixes error messages.
Result<std::vector<int>> ParseClassList(const std::string& text,
                                        const std::vector<std::string>& names,
                                        const std::string& what);

// Loads model inputs for inference, each path one of (told apart by content, not the extension):
//   an int8 .npy of N samples in the model's layout (dimensions of size 1 may be left out; never resized),
//   an image file (PNG/JPEG/BMP: decoded, resized to f.w x f.h, quantized by f's rule),
//   or raw int8 bytes in the model's layout (a multiple of f.bytes(): MLPerf Tiny's .bin samples).
// Returns int8 [N, f.c, f.h, f.w] (CHW), all inputs concatenated along N.
Result<Tensor> LoadInferenceInputs(const std::vector<std::string>& paths, const SampleFormat& f);

}  // namespace tte
