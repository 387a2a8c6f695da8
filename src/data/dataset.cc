// Dataset factory, class-list parsing, the .npy dataset and inference-input loading (see
// dataset.h).
#include "data/dataset.h"

#include <cstring>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/image_folder.h"

namespace tte {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Non-negative decimal integer (at most 9 digits), or -1.
int64_t ParseIndex(const std::string& s) {
  if (s.empty() || s.size() > 9) return -1;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 20; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 20) out += ", ...";
  return out;
}

// (N, 3, H, W) int8 images in q = pixel - 128 form with integer labels.
class NpyDataset : public LabelledDataset {
 public:
  NpyDataset(Tensor images, std::vector<int64_t> index, std::vector<int> labels,
             std::vector<std::string> names, EvalTransform eval)
      : LabelledDataset("npy dataset", std::move(labels), std::move(names), eval),
        images_(std::move(images)),
        index_(std::move(index)) {}

 protected:
  Status LoadSample(size_t i, int r, const Augmenter* aug, uint64_t sample_seed,
                    int8_t* out) const override {
    const int h = static_cast<int>(images_.shape[2]), w = static_cast<int>(images_.shape[3]);
    const int8_t* src = images_.data<int8_t>() + size_t(index_[i]) * 3 * h * w;
    if (!aug && presize() == 0 && eval() == EvalTransform::kResize && h == r && w == r) {
      std::memcpy(out, src, size_t(3) * h * w);  // resizing to the same size is the identity
      return Status::Ok();
    }
    return Transform(Int8ChwToImage(src, w, h), r, aug, sample_seed, out);
  }

 private:
  Tensor images_;
  std::vector<int64_t> index_;  // sample -> row of images_
};

Result<std::vector<int64_t>> ReadLabelsNpy(const std::string& path, int64_t n) {
  TTE_ASSIGN_OR_RETURN(Tensor t, ReadNpy(path));
  if (t.shape.size() != 1 || t.shape[0] != n)
    return InvalidArgument(path + ": labels: shape " + ShapeString(t.shape) + ", expected [" +
                           std::to_string(n) + "] (one label per image)");
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kInt8:
        out[i] = t.data<int8_t>()[i];
        break;
      case DType::kUInt8:
        out[i] = t.data<uint8_t>()[i];
        break;
      case DType::kInt16:
        out[i] = t.data<int16_t>()[i];
        break;
      case DType::kInt32:
        out[i] = t.data<int32_t>()[i];
        break;
      case DType::kInt64:
        out[i] = t.data<int64_t>()[i];
        break;
      default:
        return InvalidArgument(path + ": labels: dtype " + DTypeName(t.dtype) +
                               ", expected an integer type");
    }
    if (out[i] < 0 || out[i] >= 65536)
      return InvalidArgument(path + ": labels[" + std::to_string(i) +
                             "] = " + std::to_string(out[i]) + " is out of range (0..65535)");
  }
  return out;
}

Result<std::unique_ptr<Dataset>> OpenNpy(const DatasetSpec& spec, EvalTransform eval) {
  if (spec.path.empty()) return InvalidArgument("npy dataset: no images .npy path given");
  if (spec.labels_path.empty())
    return InvalidArgument(spec.path + ": npy dataset needs a labels .npy (labels_path)");
  if (spec.max_samples < -1 || spec.max_samples == 0)
    return InvalidArgument(spec.path + ": max_samples " + std::to_string(spec.max_samples) +
                           " must be positive (or -1 for all)");
  TTE_ASSIGN_OR_RETURN(Tensor images, ReadNpy(spec.path));
  if (images.dtype != DType::kInt8 || images.shape.size() != 4 || images.shape[1] != 3 ||
      images.shape[2] <= 0 || images.shape[3] <= 0 || images.shape[2] > 65536 ||
      images.shape[3] > 65536)
    return InvalidArgument(spec.path + ": found " + DTypeName(images.dtype) + " " +
                           ShapeString(images.shape) +
                           ", expected int8 [N,3,R,R] (NCHW, q = pixel - 128)");
  TTE_ASSIGN_OR_RETURN(std::vector<int64_t> raw, ReadLabelsNpy(spec.labels_path, images.shape[0]));
  int64_t max_label = -1;
  for (int64_t l : raw) max_label = std::max(max_label, l);
  std::vector<std::string> all_names;
  for (int64_t c = 0; c <= max_label; ++c) all_names.push_back(std::to_string(c));
  TTE_ASSIGN_OR_RETURN(std::vector<int> classes,
                       ParseClassList(spec.classes, all_names, spec.path + ": classes"));
  std::vector<int> remap(all_names.size(), -1);
  std::vector<std::string> names;
  for (size_t k = 0; k < classes.size(); ++k) {
    remap[classes[k]] = static_cast<int>(k);
    names.push_back(all_names[classes[k]]);
  }
  std::vector<int64_t> index;
  std::vector<int> labels;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (spec.max_samples >= 0 && int64_t(labels.size()) >= spec.max_samples) break;
    if (remap[raw[i]] < 0) continue;
    index.push_back(static_cast<int64_t>(i));
    labels.push_back(remap[raw[i]]);
  }
  if (labels.empty()) return InvalidArgument(spec.path + ": no samples of the selected classes");
  return std::unique_ptr<Dataset>(new NpyDataset(std::move(images), std::move(index),
                                                 std::move(labels), std::move(names), eval));
}

}  // namespace

Result<std::vector<int>> ParseClassList(const std::string& text,
                                        const std::vector<std::string>& names,
                                        const std::string& what) {
  const int n = static_cast<int>(names.size());
  std::vector<int> out;
  if (Trim(text).empty()) {
    for (int i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  std::vector<bool> seen(n, false);
  auto add = [&](int64_t c, const std::string& item) -> Status {
    if (c < 0 || c >= n)
      return InvalidArgument(what + ": class " + std::to_string(c) + " (in '" + item +
                             "') is out of range 0.." + std::to_string(n - 1));
    if (seen[c])
      return InvalidArgument(what + ": class " + std::to_string(c) + " ('" + names[c] +
                             "') is listed twice");
    seen[c] = true;
    out.push_back(static_cast<int>(c));
    return Status::Ok();
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) return InvalidArgument(what + ": empty item in class list '" + text + "'");
    int by_name = -1;
    for (int i = 0; i < n; ++i)
      if (names[i] == item) by_name = i;
    if (by_name >= 0) {
      TTE_RETURN_IF_ERROR(add(by_name, item));
      continue;
    }
    const size_t dash = item.find('-', 1);
    if (dash == std::string::npos) {
      const int64_t c = ParseIndex(item);
      if (c < 0)
        return InvalidArgument(what + ": unknown class '" + item +
                               "' (classes: " + JoinNames(names) + ")");
      TTE_RETURN_IF_ERROR(add(c, item));
      continue;
    }
    const int64_t a = ParseIndex(Trim(item.substr(0, dash)));
    const int64_t b = ParseIndex(Trim(item.substr(dash + 1)));
    if (a < 0 || b < 0)
      return InvalidArgument(what + ": unknown class '" + item + "' (classes: " + JoinNames(names) +
                             ")");
    if (a > b)
      return InvalidArgument(what + ": range '" + item + "' is empty (expected a-b with a <= b)");
    if (b >= n)
      return InvalidArgument(what + ": range '" + item + "' goes past the last class " +
                             std::to_string(n - 1));
    for (int64_t c = a; c <= b; ++c) TTE_RETURN_IF_ERROR(add(c, item));
  }
  return out;
}

namespace {
// Samples skip..size()-1 of another dataset (DatasetSpec::skip).
class SkippedDataset final : public Dataset {
 public:
  SkippedDataset(std::unique_ptr<Dataset> all, size_t skip) : all_(std::move(all)), skip_(skip) {}
  size_t size() const override { return all_->size() - skip_; }
  int num_classes() const override { return all_->num_classes(); }
  const std::vector<std::string>& class_names() const override { return all_->class_names(); }
  int label(size_t i) const override { return all_->label(skip_ + i); }
  Status Load(size_t i, int r, const Augmenter* aug, uint64_t sample_seed, int8_t* out) const override {
    if (i >= size())
      return InvalidArgument("dataset: sample " + std::to_string(i) + " out of range (size " + std::to_string(size()) +
                             " after skipping " + std::to_string(skip_) + ")");
    return all_->Load(skip_ + i, r, aug, sample_seed, out);
  }

 private:
  std::unique_ptr<Dataset> all_;
  size_t skip_;
};

// Opens the kind with max_samples counting the skipped samples too (skip + max_samples matching samples).
Result<std::unique_ptr<Dataset>> OpenKind(const DatasetSpec& spec) {
  TTE_ASSIGN_OR_RETURN(EvalTransform eval, ParseEvalTransform(spec.eval_transform));
  const int64_t max_samples = spec.max_samples > 0 ? spec.skip + spec.max_samples : spec.max_samples;
  if (spec.kind == "fmnist") {
    FashionMnistOptions o;
    o.dir = spec.path;
    o.split = spec.split;
    o.classes = spec.classes;
    o.max_samples = max_samples;
    o.eval = eval;
    return OpenFashionMnist(o);
  }
  if (spec.kind == "folder") {
    ImageFolderOptions o;
    o.root = spec.path;
    o.classes = spec.classes;
    o.max_samples = max_samples;
    o.eval = eval;
    return OpenImageFolder(o);
  }
  if (spec.kind == "npy") {
    DatasetSpec s = spec;
    s.max_samples = max_samples;
    return OpenNpy(s, eval);
  }
  return InvalidArgument("dataset kind '" + spec.kind + "': expected fmnist, folder or npy");
}
}  // namespace

Result<std::unique_ptr<Dataset>> OpenDataset(const DatasetSpec& spec) {
  if (spec.presize < 0 || spec.presize > 4096)
    return InvalidArgument("presize " + std::to_string(spec.presize) + ": expected 0 (off) to 4096");
  if (spec.skip < 0) return InvalidArgument("skip " + std::to_string(spec.skip) + ": must be 0 or more");
  TTE_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, OpenKind(spec));
  if (spec.presize > 0) {
    auto* labelled = dynamic_cast<LabelledDataset*>(ds.get());
    if (!labelled) return InvalidArgument("dataset kind '" + spec.kind + "' does not support presize");
    labelled->set_presize(spec.presize);
  }
  if (spec.skip > 0) {
    if (static_cast<int64_t>(ds->size()) <= spec.skip)
      return InvalidArgument((spec.path.empty() ? spec.kind : spec.path) + ": skipping " + std::to_string(spec.skip) +
                             " samples leaves none (the selection has " + std::to_string(ds->size()) + ")");
    ds = std::make_unique<SkippedDataset>(std::move(ds), static_cast<size_t>(spec.skip));
  }
  return ds;
}

Result<Tensor> LoadInferenceInputs(const std::vector<std::string>& paths, int r) {
  if (r <= 0 || r > 4096)
    return InvalidArgument("inputs: resolution " + std::to_string(r) + " is out of range");
  if (paths.empty()) return InvalidArgument("inputs: no input files given");
  const size_t item = size_t(3) * r * r;
  std::vector<uint8_t> all;
  int64_t n = 0;
  for (const std::string& path : paths) {
    TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
    if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0) {
      TTE_ASSIGN_OR_RETURN(Tensor t, ParseNpy(bytes, path));
      if (t.dtype != DType::kInt8 || t.shape.size() != 4 || t.shape[1] != 3 || t.shape[2] != r ||
          t.shape[3] != r)
        return InvalidArgument(path + ": found " + DTypeName(t.dtype) + " " + ShapeString(t.shape) +
                               ", expected int8 [N,3," + std::to_string(r) + "," +
                               std::to_string(r) + "] (NCHW, q = pixel - 128)");
      all.insert(all.end(), t.bytes.begin(), t.bytes.end());
      n += t.shape[0];
      continue;
    }
    TTE_ASSIGN_OR_RETURN(Image img, DecodeImage(bytes.data(), bytes.size(), path));
    TTE_ASSIGN_OR_RETURN(Image resized, ApplyEvalTransform(img, r, EvalTransform::kResize));
    const size_t at = all.size();
    all.resize(at + item);
    TTE_RETURN_IF_ERROR(ImageToInt8Chw(resized, reinterpret_cast<int8_t*>(all.data() + at)));
    ++n;
  }
  if (n == 0) return InvalidArgument("inputs: the given files hold no samples");
  Tensor out(DType::kInt8, {n, 3, r, r});
  out.bytes = std::move(all);
  return out;
}

}  // namespace tte
