// Patch-based forward of the frozen prefix (MCUNetV2's idea, as the paper measured with 2x2 patches).
//
// The convs before the first layer that training needs (no masks, no saved tensors, nothing trained)
// are a chain from the image to a split tensor S. Instead of computing each layer over the whole
// feature map, the chain is run once per tile of S (a grid x grid partition): for each tile, every layer
// computes only the window its successors need (windows grow by the receptive field; overlapping halos
// are recomputed), into tile-sized tensors, and the last layer writes its tile straight into S. Only the
// image, S and one tile's intermediates are live at a time, which cuts the peak of early high-resolution
// layers. Results are bit-identical: each output pixel sees the same inputs and the same zero-point
// padding at the true image border.
#pragma once

#include <cstdint>

#include "compiler/program.h"
#include "core/status.h"

namespace tte {

struct PatchStats {
  int grid = 0;
  int split_conv = -1;      // conv index whose output is S
  int ops_replaced = 0;
  int64_t macs_before = 0, macs_after = 0;  // of the stage: the halo recompute overhead
};

// Index of the last conv op that may end a patch stage (-1 if none): the stage must be a chain of
// frozen, unmasked, not-in-place convs starting at the image, whose intermediates are read only inside it.
int LastPatchableConv(const Program& p);

// Rewrites the stage ending at conv `split_conv` (a conv index, <= LastPatchableConv) into grid x grid
// patches. Call before planning; RemoveUnusedTensors afterwards drops the replaced whole tensors.
Result<PatchStats> ApplyPatchForward(Program* prog, int split_conv, int grid);

}  // namespace tte
