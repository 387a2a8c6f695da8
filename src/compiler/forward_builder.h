// Builds the forward part of a Program from a Model: first conv, blocks (pointwise1, depthwise,
// pointwise2, residual add), feature mix, average pool and, for inference, the int8 classifier.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "model/model.h"

namespace tte {

struct ForwardOptions {
  int resolution = 0;              // 0: the model's own
  bool int8_classifier = true;     // inference: end with the model's int8 classifier conv
  std::vector<bool> conv_mask;     // by conv index: emit the clamp mask (training); empty = none
  std::vector<bool> add_mask;      // by block index: emit the residual-add clamp mask
};

struct ForwardGraph {
  std::vector<int> conv_in, conv_out, conv_mask;  // by conv index (the classifier is index NumConvs())
  std::vector<int> block_in, block_out, add_mask; // by block index (-1 where absent)
  int pooled = -1;
  std::vector<std::pair<std::string, int>> stages;  // per stage output, named as the reference's dumps
};

// Index used for the int8 classifier in Op::conv.
inline int ClassifierIndex(const Model& m) { return m.NumConvs(); }
const ConvLayer& LayerOf(const Model& m, int conv_index);

// A binding with every parameter frozen, the data copied into flash tensors of prog.
ConvBinding MakeFrozenBinding(const ConvLayer& c, int index, int in_hw, Program* prog);

// Appends the fp32 head's forward (pooled int8 features -> fp32 logits, HeadBinding already set) and returns
// the logits tensor, which becomes the program's output.
int AppendHeadForward(Program* prog, int pooled, int num_classes);

Result<ForwardGraph> BuildForward(const Model& model, const ForwardOptions& opt, Program* prog);

}  // namespace tte
