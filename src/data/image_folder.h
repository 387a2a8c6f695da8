// Image-folder datasets, laid out like torchvision's ImageFolder: root/<class_name>/<image files>.
//
// Classes are the sub-directories of root, sorted by name (byte order). A class's samples are the
// files under its directory (recursively, following symlinks) whose extension (any case) is one of
// .png .jpg .jpeg .bmp .ppm .pgm .tga .gif, sorted by (directory, file name) like torchvision's
// `sorted(os.walk(...))`; other files are ignored. Samples are ordered class by class (sorted class
// order), the class subset and max_samples apply as in dataset.h (labels follow the subset's
// order). Opening checks every kept file's image header, so an undecodable file is reported up
// front, by name. Load() decodes the file each time (no cache), then applies the transform. Errors:
// root missing or not a directory, no class directories, a class directory without images, unknown
// class names in the subset, undecodable files.
#pragma once

#include <memory>
#include <string>

#include "data/dataset.h"

namespace tte {

struct ImageFolderOptions {
  std::string root;
  std::string classes;  // subset, see dataset.h
  int64_t max_samples = -1;
  EvalTransform eval = EvalTransform::kResize;
};

Result<std::unique_ptr<Dataset>> OpenImageFolder(const ImageFolderOptions& opt);

// True for the file extensions listed above (case-insensitive).
bool IsImageFileName(const std::string& name);

}  // namespace tte
