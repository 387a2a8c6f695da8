// Dataset factory, class-list parsing and skipping (see dataset.h); the tensor kinds (npy, mlperf) and
// inference inputs are in tensor_datasets.cc.
#include "data/dataset.h"

#include <cstring>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data/tensor_datasets.h"

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
  Status Load(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
              int8_t* out) const override {
    if (i >= size())
      return InvalidArgument("dataset: sample " + std::to_string(i) + " out of range (size " + std::to_string(size()) +
                             " after skipping " + std::to_string(skip_) + ")");
    return all_->Load(skip_ + i, f, aug, sample_seed, out);
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
  if (spec.kind == "mlperf") {
    DatasetSpec s = spec;
    s.max_samples = max_samples;
    return OpenMlperf(s, eval);
  }
  return InvalidArgument("dataset kind '" + spec.kind + "': expected fmnist, folder, npy or mlperf");
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

}  // namespace tte
