// The "npy" and "mlperf" dataset kinds and the loader of inference inputs (see dataset.h and
// tensor_datasets.h): samples stored as tensors in the model's own layout are fed as stored
// (transposed to tte's CHW); 8-bit images stored as tensors go through the image pipeline.
#include "data/tensor_datasets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/image.h"
#include "data/sample_store.h"

namespace tte {
namespace {

std::vector<int64_t> Squeezed(const std::vector<int64_t>& dims) {
  std::vector<int64_t> out;
  for (int64_t d : dims)
    if (d != 1) out.push_back(d);
  return out;
}

std::vector<int64_t> FileDims(const SampleFormat& f) {
  return f.file_nhwc ? std::vector<int64_t>{f.h, f.w, f.c} : std::vector<int64_t>{f.c, f.h, f.w};
}

// Labels -> the selected classes (spec.classes), remapped in list order; at most spec.max_samples.
struct Selection {
  std::vector<int64_t> index;  // sample -> row of the stored data
  std::vector<int> labels;
  std::vector<std::string> names;
};
Result<Selection> SelectClasses(const std::vector<int64_t>& raw, int64_t num_classes, const DatasetSpec& spec) {
  std::vector<std::string> all_names;
  for (int64_t c = 0; c < num_classes; ++c) all_names.push_back(std::to_string(c));
  TTE_ASSIGN_OR_RETURN(std::vector<int> classes, ParseClassList(spec.classes, all_names, spec.path + ": classes"));
  std::vector<int> remap(all_names.size(), -1);
  Selection s;
  for (size_t k = 0; k < classes.size(); ++k) {
    remap[classes[k]] = static_cast<int>(k);
    s.names.push_back(all_names[classes[k]]);
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    if (spec.max_samples >= 0 && int64_t(s.labels.size()) >= spec.max_samples) break;
    if (remap[raw[i]] < 0) continue;
    s.index.push_back(static_cast<int64_t>(i));
    s.labels.push_back(remap[raw[i]]);
  }
  if (s.labels.empty()) return InvalidArgument(spec.path + ": no samples of the selected classes");
  return s;
}

Status CheckMaxSamples(const DatasetSpec& spec) {
  if (spec.max_samples < -1 || spec.max_samples == 0)
    return InvalidArgument(spec.path + ": max_samples " + std::to_string(spec.max_samples) +
                           " must be positive (or -1 for all)");
  return Status::Ok();
}

// int8 samples of an .npy with integer labels, read from the file on demand (sample_store.h).
class NpyDataset : public LabelledDataset {
 public:
  NpyDataset(std::string path, std::vector<int64_t> shape, SampleStore samples, Selection sel, EvalTransform eval)
      : LabelledDataset("npy dataset", std::move(sel.labels), std::move(sel.names), eval),
        path_(std::move(path)),
        shape_(std::move(shape)),
        samples_(std::move(samples)),
        index_(std::move(sel.index)),
        dims_(shape_.begin() + 1, shape_.end()) {}

 protected:
  Status LoadSample(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                    int8_t* out) const override {
    std::vector<int8_t> sample(samples_.record());
    TTE_RETURN_IF_ERROR(samples_.Read(static_cast<uint64_t>(index_[i]), reinterpret_cast<uint8_t*>(sample.data())));
    const int8_t* src = sample.data();
    const bool plain = !aug && presize() == 0 && eval() == EvalTransform::kResize;
    if (plain && SampleShapeMatches(dims_, f)) {
      FileLayoutToChw(src, f, out);
      return Status::Ok();
    }
    if (dims_.size() == 3 && dims_[0] == 3 && f.is_image())  // (N, 3, H, W) images, q = p - 128
      return Transform(Int8ChwToImage(src, static_cast<int>(dims_[2]), static_cast<int>(dims_[1])), f, aug,
                       sample_seed, out);
    return InvalidArgument(path_ + ": samples " + ShapeString(shape_) + " are not the model's input " +
                           f.FileShape() + (plain ? "" : " (and only (N,3,H,W) image arrays can be augmented or resized)"));
  }

 private:
  std::string path_;
  std::vector<int64_t> shape_;
  SampleStore samples_;
  std::vector<int64_t> index_;
  std::vector<int64_t> dims_;
};

Result<std::vector<int64_t>> ReadLabelsNpy(const std::string& path, int64_t n) {
  TTE_ASSIGN_OR_RETURN(Tensor t, ReadNpy(path));
  if (t.shape.size() != 1 || t.shape[0] != n)
    return InvalidArgument(path + ": labels: shape " + ShapeString(t.shape) + ", expected [" + std::to_string(n) +
                           "] (one label per sample)");
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kInt8: out[i] = t.data<int8_t>()[i]; break;
      case DType::kUInt8: out[i] = t.data<uint8_t>()[i]; break;
      case DType::kInt16: out[i] = t.data<int16_t>()[i]; break;
      case DType::kInt32: out[i] = t.data<int32_t>()[i]; break;
      case DType::kInt64: out[i] = t.data<int64_t>()[i]; break;
      default:
        return InvalidArgument(path + ": labels: dtype " + DTypeName(t.dtype) + ", expected an integer type");
    }
    if (out[i] < 0 || out[i] >= 65536)
      return InvalidArgument(path + ": labels[" + std::to_string(i) + "] = " + std::to_string(out[i]) +
                             " is out of range (0..65535)");
  }
  return out;
}

// MLPerf Tiny's raw samples: DIR/<file> bytes in the model's layout, labels from y_labels.csv.
class MlperfDataset : public LabelledDataset {
 public:
  MlperfDataset(std::string dir, std::vector<std::string> files, int64_t file_bytes, std::string raw, Selection sel,
                EvalTransform eval)
      : LabelledDataset("mlperf dataset", std::move(sel.labels), std::move(sel.names), eval),
        dir_(std::move(dir)),
        files_(std::move(files)),
        file_bytes_(file_bytes),
        raw_(std::move(raw)),
        index_(std::move(sel.index)) {}

 protected:
  Status LoadSample(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                    int8_t* out) const override {
    const std::string path = dir_ + "/" + files_[static_cast<size_t>(index_[i])];
    if (file_bytes_ != static_cast<int64_t>(f.bytes()))
      return InvalidArgument(path + ": " + std::to_string(file_bytes_) + " bytes per sample, the model input " +
                             f.FileShape() + " takes " + std::to_string(f.bytes()));
    TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
    if (static_cast<int64_t>(bytes.size()) != file_bytes_)
      return DataLoss(path + ": size changed to " + std::to_string(bytes.size()) + " bytes while reading");
    const bool uint8 = raw_ == "uint8" || (raw_ == "auto" && f.c == 3);
    const bool plain = !aug && presize() == 0 && eval() == EvalTransform::kResize;
    if (!uint8) {
      if (!plain)
        return InvalidArgument(path + ": int8 samples are fed as stored: no augmentation, presize or crop "
                               "(train with --no-augment)");
      FileLayoutToChw(reinterpret_cast<const int8_t*>(bytes.data()), f, out);
      return Status::Ok();
    }
    std::vector<int8_t> q(bytes.size());
    for (size_t k = 0; k < bytes.size(); ++k) q[k] = static_cast<int8_t>(int(bytes[k]) - 128);
    if (plain) {
      FileLayoutToChw(q.data(), f, out);
      return Status::Ok();
    }
    if (!f.is_image()) return InvalidArgument(path + ": only 1- or 3-channel image samples can be augmented");
    Image img(f.w, f.h, f.c);  // HWC, as the samples when NHWC
    if (f.file_nhwc) {
      img.pixels = bytes;
    } else {
      const size_t plane = size_t(f.h) * f.w;
      for (size_t p = 0; p < plane; ++p)
        for (int c = 0; c < f.c; ++c) img.pixels[p * f.c + c] = bytes[c * plane + p];
    }
    SampleFormat pm = f;  // the MLPerf Tiny convention holds for augmented samples too
    pm.pixels = PixelQuant::kMinus128;
    return Transform(img, pm, aug, sample_seed, out);
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  int64_t file_bytes_;
  std::string raw_;
  std::vector<int64_t> index_;
};

bool HasImageExtension(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "gif";
}

}  // namespace

bool SampleShapeMatches(const std::vector<int64_t>& dims, const SampleFormat& f) {
  return Squeezed(dims) == Squeezed(FileDims(f));
}

Result<std::unique_ptr<Dataset>> OpenNpy(const DatasetSpec& spec, EvalTransform eval) {
  if (spec.path.empty()) return InvalidArgument("npy dataset: no samples .npy path given");
  if (spec.labels_path.empty()) return InvalidArgument(spec.path + ": npy dataset needs a labels .npy (--labels)");
  TTE_RETURN_IF_ERROR(CheckMaxSamples(spec));
  TTE_ASSIGN_OR_RETURN(NpyHeader samples, ReadNpyHeader(spec.path));
  bool sizes_ok = samples.shape.size() >= 2 && samples.shape.size() <= 5;
  for (size_t d = 1; d < samples.shape.size(); ++d) sizes_ok = sizes_ok && samples.shape[d] > 0 && samples.shape[d] <= 65536;
  if (samples.dtype != DType::kInt8 || !sizes_ok)
    return InvalidArgument(spec.path + ": found " + DTypeName(samples.dtype) + " " + ShapeString(samples.shape) +
                           ", expected int8 [N, ...] samples in the model's input layout");
  TTE_ASSIGN_OR_RETURN(std::vector<int64_t> raw, ReadLabelsNpy(spec.labels_path, samples.shape[0]));
  int64_t max_label = -1;
  for (int64_t l : raw) max_label = std::max(max_label, l);
  TTE_ASSIGN_OR_RETURN(Selection sel, SelectClasses(raw, max_label + 1, spec));
  uint64_t per = 1;
  for (size_t d = 1; d < samples.shape.size(); ++d) per *= static_cast<uint64_t>(samples.shape[d]);
  TTE_ASSIGN_OR_RETURN(SampleStore store, SampleStore::File(spec.path, samples.data_offset, static_cast<size_t>(per),
                                                            static_cast<uint64_t>(samples.shape[0])));
  std::string path = spec.path;
  return std::unique_ptr<Dataset>(
      new NpyDataset(std::move(path), std::move(samples.shape), std::move(store), std::move(sel), eval));
}

Result<std::unique_ptr<Dataset>> OpenMlperf(const DatasetSpec& spec, EvalTransform eval) {
  if (spec.path.empty()) return InvalidArgument("mlperf dataset: no folder given (mlperf:DIR)");
  if (spec.raw != "auto" && spec.raw != "int8" && spec.raw != "uint8")
    return InvalidArgument("mlperf dataset: raw sample type '" + spec.raw + "': expected auto, int8 or uint8");
  TTE_RETURN_IF_ERROR(CheckMaxSamples(spec));
  const std::string csv = spec.path + "/y_labels.csv";
  if (!FileExists(csv))
    return NotFound(csv + ": not found (an MLPerf Tiny data folder holds the samples and y_labels.csv, "
                    "one 'file,n_classes,label' line per sample)");
  TTE_ASSIGN_OR_RETURN(std::string text, ReadTextFile(csv));
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  int64_t num_classes = -1, file_bytes = -1;
  size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string row = text.substr(start, end - start);
    start = end + 1;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty()) continue;
    const std::string where = csv + ": line " + std::to_string(line);
    const size_t c1 = row.find(','), c2 = c1 == std::string::npos ? c1 : row.find(',', c1 + 1);
    if (c2 == std::string::npos || row.find(',', c2 + 1) != std::string::npos)
      return InvalidArgument(where + ": expected 'file,n_classes,label', got '" + row.substr(0, 80) + "'");
    const std::string file = row.substr(0, c1);
    char* e1 = nullptr;
    char* e2 = nullptr;
    const std::string n_text = row.substr(c1 + 1, c2 - c1 - 1), l_text = row.substr(c2 + 1);
    const long n = std::strtol(n_text.c_str(), &e1, 10), l = std::strtol(l_text.c_str(), &e2, 10);
    if (n_text.empty() || l_text.empty() || *e1 || *e2 || n < 1 || n > 65536 || l < 0 || l >= n)
      return InvalidArgument(where + ": n_classes '" + n_text + "' and label '" + l_text +
                             "' must be integers with 0 <= label < n_classes <= 65536");
    if (num_classes >= 0 && n != num_classes)
      return InvalidArgument(where + ": n_classes " + std::to_string(n) + " differs from the first line's " +
                             std::to_string(num_classes));
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      return InvalidArgument(where + ": file '" + file + "' must be a plain file name inside " + spec.path);
    struct stat st {};
    const std::string path = spec.path + "/" + file;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return NotFound(path + ": not found (listed at " + where + ")");
    if (file_bytes >= 0 && st.st_size != file_bytes)
      return InvalidArgument(path + ": " + std::to_string(st.st_size) + " bytes, the first sample has " +
                             std::to_string(file_bytes) + " (every sample has the model input's size)");
    if (st.st_size == 0) return InvalidArgument(path + ": empty sample file");
    file_bytes = st.st_size;
    num_classes = n;
    files.push_back(file);
    labels.push_back(l);
  }
  if (files.empty()) return InvalidArgument(csv + ": no samples listed");
  TTE_ASSIGN_OR_RETURN(Selection sel, SelectClasses(labels, num_classes, spec));
  return std::unique_ptr<Dataset>(
      new MlperfDataset(spec.path, std::move(files), file_bytes, spec.raw, std::move(sel), eval));
}

Result<Tensor> LoadInferenceInputs(const std::vector<std::string>& paths, const SampleFormat& f) {
  TTE_RETURN_IF_ERROR(f.Check());
  if (paths.empty()) return InvalidArgument("inputs: no input files given");
  const size_t item = f.bytes();
  std::vector<uint8_t> all;
  int64_t n = 0;
  auto append = [&](const int8_t* chw) {
    all.insert(all.end(), reinterpret_cast<const uint8_t*>(chw), reinterpret_cast<const uint8_t*>(chw) + item);
    ++n;
  };
  std::vector<int8_t> sample(item);
  for (const std::string& path : paths) {
    TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
    if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0) {
      TTE_ASSIGN_OR_RETURN(Tensor t, ParseNpy(bytes, path));
      const std::vector<int64_t> dims = t.shape.empty() ? std::vector<int64_t>{} :
                                        std::vector<int64_t>(t.shape.begin() + 1, t.shape.end());
      // Tensors are model inputs as they are: never resized (image files are).
      if (t.dtype != DType::kInt8 || t.shape.size() < 2 || !SampleShapeMatches(dims, f))
        return InvalidArgument(path + ": found " + DTypeName(t.dtype) + " " + ShapeString(t.shape) +
                               ", expected int8 " + f.FileShape() + " (the model's input layout" +
                               (f.pixels == PixelQuant::kMinus128 && f.c == 3 ? ", q = pixel - 128)" : ")"));
      for (int64_t i = 0; i < t.shape[0]; ++i) {
        FileLayoutToChw(t.data<int8_t>() + i * int64_t(item), f, sample.data());
        append(sample.data());
      }
      continue;
    }
    if (LooksLikeImage(bytes) || HasImageExtension(path)) {
      TTE_ASSIGN_OR_RETURN(Image img, DecodeImage(bytes.data(), bytes.size(), path));
      Status st = TransformToInt8(img, f, nullptr, 0, EvalTransform::kResize, sample.data());
      if (!st.ok()) return st.WithContext(path);
      append(sample.data());
      continue;
    }
    if (bytes.empty()) return InvalidArgument(path + ": empty file");
    if (bytes.size() % item != 0)
      return InvalidArgument(path + ": neither .npy nor an image (PNG, JPEG, BMP, GIF), and " + std::to_string(bytes.size()) +
                             " bytes is not a whole number of raw int8 samples of " + f.FileShape() + " (" +
                             std::to_string(item) + " bytes each)");
    for (size_t at = 0; at < bytes.size(); at += item) {
      FileLayoutToChw(reinterpret_cast<const int8_t*>(bytes.data() + at), f, sample.data());
      append(sample.data());
    }
  }
  Tensor out(DType::kInt8, {n, f.c, f.h, f.w});
  out.bytes = std::move(all);
  return out;
}

}  // namespace tte
