// Image-folder dataset (see image_folder.h). std::filesystem is used only through its error_code
// overloads, so nothing throws.
#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>

namespace tte {
namespace fs = std::filesystem;
namespace {

struct Sample {
  std::string path;
  int label;
};

std::vector<int> LabelsOf(const std::vector<Sample>& samples) {
  std::vector<int> labels;
  labels.reserve(samples.size());
  for (const Sample& s : samples) labels.push_back(s.label);
  return labels;
}

class ImageFolderDataset : public LabelledDataset {
 public:
  ImageFolderDataset(std::vector<Sample> samples, std::vector<std::string> names,
                     EvalTransform eval)
      : LabelledDataset("image folder", LabelsOf(samples), std::move(names), eval),
        samples_(std::move(samples)) {}

 protected:
  Status LoadSample(size_t i, const SampleFormat& f, const Augmenter* aug, uint64_t sample_seed,
                    int8_t* out) const override {
    TTE_ASSIGN_OR_RETURN(Image img, ReadImage(samples_[i].path));
    Status st = Transform(img, f, aug, sample_seed, out);
    return st.ok() ? st : st.WithContext(samples_[i].path);
  }

 private:
  std::vector<Sample> samples_;
};

// Image files under `dir`, recursively, sorted by (parent directory, file name).
Status ListImages(const fs::path& dir, std::vector<std::string>* out) {
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> found;
  auto it =
      fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return NotFound(dir.string() + ": cannot list directory (" + ec.message() + ")");
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return NotFound(dir.string() + ": cannot list directory (" + ec.message() + ")");
    if (it.depth() > 32) return InvalidArgument(dir.string() + ": directories nested too deep");
    std::error_code ec2;
    if (!it->is_regular_file(ec2)) continue;
    const fs::path& p = it->path();
    if (!IsImageFileName(p.filename().string())) continue;
    found.emplace_back(p.parent_path().string(), p.filename().string());
  }
  if (ec) return NotFound(dir.string() + ": cannot list directory (" + ec.message() + ")");
  std::sort(found.begin(), found.end());
  for (const auto& [parent, name] : found) out->push_back(parent + "/" + name);
  return Status::Ok();
}

}  // namespace

bool IsImageFileName(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const kExts[] = {"png", "jpg", "jpeg", "bmp", "ppm", "pgm", "tga", "gif"};
  for (const char* e : kExts)
    if (ext == e) return true;
  return false;
}

Result<std::unique_ptr<Dataset>> OpenImageFolder(const ImageFolderOptions& opt) {
  const fs::path root(opt.root);
  std::error_code ec;
  if (opt.root.empty()) return InvalidArgument("image folder: no root directory given");
  if (!fs::exists(root, ec)) return NotFound(opt.root + ": image folder root not found");
  if (!fs::is_directory(root, ec))
    return InvalidArgument(opt.root + ": image folder root is not a directory");
  if (opt.max_samples < -1 || opt.max_samples == 0)
    return InvalidArgument(opt.root + ": max_samples " + std::to_string(opt.max_samples) +
                           " must be positive (or -1 for all)");

  std::vector<std::string> all_names;
  fs::directory_iterator it(root, ec);
  if (ec) return NotFound(opt.root + ": cannot list directory (" + ec.message() + ")");
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return NotFound(opt.root + ": cannot list directory (" + ec.message() + ")");
    std::error_code ec2;
    if (it->is_directory(ec2)) all_names.push_back(it->path().filename().string());
  }
  if (ec) return NotFound(opt.root + ": cannot list directory (" + ec.message() + ")");
  std::sort(all_names.begin(), all_names.end());
  if (all_names.empty())
    return InvalidArgument(opt.root + ": no class directories (expected root/<class>/<images>)");

  TTE_ASSIGN_OR_RETURN(std::vector<int> classes,
                       ParseClassList(opt.classes, all_names, opt.root + ": classes"));
  std::vector<int> remap(all_names.size(), -1);
  std::vector<std::string> names;
  for (size_t k = 0; k < classes.size(); ++k) {
    remap[classes[k]] = static_cast<int>(k);
    names.push_back(all_names[classes[k]]);
  }

  std::vector<Sample> samples;
  for (size_t c = 0; c < all_names.size(); ++c) {
    if (remap[c] < 0) continue;
    std::vector<std::string> files;
    TTE_RETURN_IF_ERROR(ListImages(root / all_names[c], &files));
    if (files.empty())
      return InvalidArgument((root / all_names[c]).string() +
                             ": class directory holds no image files (.png .jpg .jpeg .bmp ...)");
    for (std::string& f : files) {
      if (opt.max_samples >= 0 && int64_t(samples.size()) >= opt.max_samples) break;
      TTE_RETURN_IF_ERROR(CheckImageHeader(f));
      samples.push_back({std::move(f), remap[c]});
    }
  }
  return std::unique_ptr<Dataset>(
      new ImageFolderDataset(std::move(samples), std::move(names), opt.eval));
}

}  // namespace tte
