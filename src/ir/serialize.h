// ir::Graph <-> JSON + named constant tensors: the form `tte info --dump-graph DIR` writes (graph.json +
// constants.npz), which offline tools (tools/oracle: the PyTorch gradient oracle) read to rebuild the same network.
//
// graph.json: {"format", "source", "requant", "input", "output", "input_spec": {...},
//              "values": [{"name", "dtype", "shape", "scale", "zero", "axis", "const": key?}, ...],
//              "nodes": [{"op", "name", "inputs", "outputs", "window": {...}, "groups", "depth_multiplier",
//                         "global_pool", "act": [min, max], "pad": [c0, c1, h0, h1, w0, w1], "reshape_hwc",
//                         "source_op"}, ...],
//              "class_names", "fp_head": {"in", "out", "weight": key, "bias": key}?}
// Constant data lives in the tensor map under "v<id>" (and "fp_head.weight" / "fp_head.bias"), in the value's
// dtype and shape (tte's layout: CHW activations, OIHW weights).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tte::ir {

nlohmann::json GraphToJson(const Graph& g);
std::map<std::string, Tensor> GraphConstants(const Graph& g);

// The inverse; the result is verified (Verify). `label` names the source in messages.
Result<Graph> GraphFromJson(const nlohmann::json& j, const std::map<std::string, Tensor>& constants, const std::string& label);

}  // namespace tte::ir
