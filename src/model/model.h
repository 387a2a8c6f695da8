// The imported int8 network: MCUNetV3's layout (first conv, MobileNetV2-style blocks, optional
// feature-mix conv, global average pool, 1x1-conv classifier), with every quantization parameter
// exactly as stored in the .pkl.
//
// Conv indices follow the sparse-update configs of the reference: convs in forward order (first_conv,
// then per block pointwise1 if present, depthwise, pointwise2, then feature_mix if present), 0-based,
// classifier excluded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace tte {

struct ConvLayer {
  std::string path;       // "first_conv", "blocks.3.pointwise1", "classifier": used in messages and tables
  int index = -1;         // conv index (sparse-update numbering); -1 for the classifier
  int in_channels = 0, out_channels = 0;
  int kernel = 1, stride = 1, groups = 1;
  int in_hw = 0, out_hw = 0;  // as recorded in the file (0 for the classifier, which records none)
  bool depthwise = false;
  std::vector<int8_t> weight;  // OIHW: [out, in/groups, k, k]
  std::vector<int32_t> bias;   // [out]
  std::vector<float> w_scales; // [out]
  double x_scale = 1.0, y_scale = 1.0;
  int x_zero = 0, y_zero = 0;
  // Derived: eff[c] = float32(x_scale * w_scales[c] / y_scale), the product taken in double.
  std::vector<float> eff;

  int pad() const { return (kernel - 1) / 2; }
  int OutSize(int in) const { return (in + 2 * pad() - kernel) / stride + 1; }
  int InPerGroup() const { return in_channels / groups; }
  int64_t WeightCount() const { return static_cast<int64_t>(weight.size()); }
  bool IsPointwise() const { return kernel == 1 && groups == 1; }
  void ComputeEffectiveScales();
};

struct ResidualAdd {
  int in_channels = 0, in_hw = 0;
  double x_scale = 1.0, y_scale = 1.0;  // x: the block input (shortcut); y: the block output
  int x_zero = 0, y_zero = 0;
};

struct Block {
  std::optional<ConvLayer> pointwise1;
  ConvLayer depthwise;
  ConvLayer pointwise2;
  std::optional<ResidualAdd> residual;
};

// The fp32 classifier head trained by tte (ScaledLinear of the reference): logits = W ((x - x_zero) x_scale) + b
// over the pooled int8 features. Stored in the .pkl under the extra top-level key "tte_head"; the int8
// `classifier` of a trained model is this head quantized, so plain int8 inference also works.
struct FpHead {
  int in = 0, out = 0;
  std::vector<float> weight;  // [out][in]
  std::vector<float> bias;    // [out]
  std::vector<std::string> class_names;
};

struct Model {
  std::string source;  // file it was read from (for messages)
  std::optional<FpHead> fp_head;
  ConvLayer first_conv;
  std::vector<Block> blocks;
  std::optional<ConvLayer> feature_mix;
  ConvLayer classifier;

  int resolution() const { return first_conv.in_hw; }
  int in_channels() const { return first_conv.in_channels; }
  int feature_channels() const { return classifier.in_channels; }
  int num_classes() const { return classifier.out_channels; }

  // Backbone convs in conv-index order (classifier excluded).
  std::vector<const ConvLayer*> Convs() const;
  std::vector<ConvLayer*> MutableConvs();
  int NumConvs() const;
};

}  // namespace tte
