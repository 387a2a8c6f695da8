// Model helpers.
#include "model/model.h"

namespace tte {

void ConvLayer::ComputeEffectiveScales() {
  eff.resize(w_scales.size());
  for (size_t c = 0; c < w_scales.size(); ++c)
    eff[c] = static_cast<float>(x_scale * static_cast<double>(w_scales[c]) / y_scale);
}

std::vector<const ConvLayer*> Model::Convs() const {
  std::vector<const ConvLayer*> out{&first_conv};
  for (const auto& b : blocks) {
    if (b.pointwise1) out.push_back(&*b.pointwise1);
    out.push_back(&b.depthwise);
    out.push_back(&b.pointwise2);
  }
  if (feature_mix) out.push_back(&*feature_mix);
  return out;
}

std::vector<ConvLayer*> Model::MutableConvs() {
  std::vector<ConvLayer*> out{&first_conv};
  for (auto& b : blocks) {
    if (b.pointwise1) out.push_back(&*b.pointwise1);
    out.push_back(&b.depthwise);
    out.push_back(&b.pointwise2);
  }
  if (feature_mix) out.push_back(&*feature_mix);
  return out;
}

int Model::NumConvs() const { return static_cast<int>(Convs().size()); }

}  // namespace tte
