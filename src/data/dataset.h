// The dataset interface: labelled samples preprocessed to the model's input (int8 CHW, batch 1,
// 3 x r x r, q = pixel - 128), and the loader of inference inputs.
//
// Kinds (DatasetSpec::kind):
//   "fmnist"  Fashion-MNIST IDX files (fashion_mnist.h); path = directory, default Debian's
//             /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist); split train|test.
//   "folder"  root/<class>/<image files> (image_folder.h), like torchvision's ImageFolder.
//   "npy"     path = int8 .npy of shape (N, 3, R, R) (q = pixel - 128); labels_path = integer .npy
//   of
//             shape (N). Samples are turned back into RGB images, so any r and augmentation work;
//             with the "resize" eval transform and r == R the bytes are copied unchanged.
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

namespace tte {

struct DatasetSpec {            // filled by the CLI
  std::string kind;             // "fmnist" | "folder" | "npy"
  std::string path;             // fmnist dir ("" = Debian's), folder root, or int8 .npy file
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
  // Writes sample i, preprocessed to int8 CHW 3 x r x r (q = p - 128), into out (3*r*r bytes).
  // aug == nullptr means the deterministic eval transform (DatasetSpec::eval_transform); otherwise
  // aug->Apply(image, r, sample_seed) (see augment.h). Thread-safe: const, no shared mutable state.
  virtual Status Load(size_t i, int r, const Augmenter* aug, uint64_t sample_seed,
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
  Status Load(size_t i, int r, const Augmenter* aug, uint64_t sample_seed, int8_t* out) const final {
    if (i >= labels_.size())
      return InvalidArgument(what_ + ": sample " + std::to_string(i) + " out of range (size " +
                             std::to_string(labels_.size()) + ")");
    return LoadSample(i, r, aug, sample_seed, out);
  }
  void set_presize(int n) { presize_ = n; }

 protected:
  virtual Status LoadSample(size_t i, int r, const Augmenter* aug, uint64_t sample_seed,
                            int8_t* out) const = 0;
  EvalTransform eval() const { return eval_; }
  int presize() const { return presize_; }
  // The decoded image of a sample -> out: the presize resize if set, then augmentation or the eval transform.
  Status Transform(const Image& img, int r, const Augmenter* aug, uint64_t sample_seed, int8_t* out) const {
    if (presize_ <= 0) return TransformToInt8(img, r, aug, sample_seed, eval_, out);
    TTE_ASSIGN_OR_RETURN(Image stored, ResizeBilinear(img, presize_, presize_));
    return TransformToInt8(stored, r, aug, sample_seed, eval_, out);
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

// Loads model inputs for inference: each path is an int8 NCHW .npy (must be int8, 4-D, C = 3,
// H = W = r) or an image file (decoded, resized to r x r, q = p - 128). Files are told apart by the
// .npy magic, not the extension. Returns int8 [N, 3, r, r], all inputs concatenated along N.
Result<Tensor> LoadInferenceInputs(const std::vector<std::string>& paths, int r);

}  // namespace tte
