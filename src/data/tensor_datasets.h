// The dataset kinds whose samples are tensors rather than images: "npy" (an int8 .npy of samples
// plus a labels .npy) and "mlperf" (a folder of raw samples plus y_labels.csv). See dataset.h for the
// rules; OpenDataset is the public entry point, these are its workers.
#pragma once

#include <memory>

#include "data/dataset.h"

namespace tte {

Result<std::unique_ptr<Dataset>> OpenNpy(const DatasetSpec& spec, EvalTransform eval);
Result<std::unique_ptr<Dataset>> OpenMlperf(const DatasetSpec& spec, EvalTransform eval);

// True when `dims` (one sample's shape as stored) is the model input in its own file layout, ignoring
// dimensions of size 1 on both sides (so (N, 640), (N, 1, 640) and (N, 640, 1, 1) all hold 640-value
// samples).
bool SampleShapeMatches(const std::vector<int64_t>& dims, const SampleFormat& f);

}  // namespace tte
