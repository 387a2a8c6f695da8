// Graph <-> JSON + constants (see serialize.h).
#include "ir/serialize.h"

#include <cstring>

namespace tte::ir {
namespace {

const char* kRequant[] = {"reference-fp32", "tflite-integer"};

OpKind OpFromName(const std::string& s, bool* ok) {
#define TTE_IR_FIND(e, name, n_data, n_const) \
  if (s == name) return OpKind::e;
  TTE_IR_OPS(TTE_IR_FIND)
#undef TTE_IR_FIND
  *ok = false;
  return OpKind::kConv2d;
}

Result<DType> DTypeFromName(const std::string& s) {
  for (DType t : {DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kInt32, DType::kInt64, DType::kFloat32,
                  DType::kFloat64, DType::kBool})
    if (s == DTypeName(t)) return t;
  return InvalidArgument("unknown dtype '" + s + "'");
}

}  // namespace

nlohmann::json GraphToJson(const Graph& g) {
  using nlohmann::json;
  json j;
  j["format"] = g.format;
  j["source"] = g.source;
  j["requant"] = RequantName(g.requant);
  j["input"] = g.input;
  j["output"] = g.output;
  const InputSpec& s = g.input_spec;
  j["input_spec"] = {{"c", s.c}, {"h", s.h}, {"w", s.w}, {"scale", s.scale}, {"zero", s.zero},
                     {"pixels", s.pixels == PixelRule::kMinus128 ? "p-128" : "scale-zero"}, {"source_nhwc", s.source_nhwc}};
  json values = json::array();
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    json jv = {{"name", v.name}, {"dtype", DTypeName(v.dtype)}, {"shape", v.shape}, {"scale", v.quant.scale},
               {"zero", v.quant.zero}, {"axis", v.quant.axis}, {"source_tensor", v.source_tensor}};
    if (v.is_const()) jv["const"] = "v" + std::to_string(i);
    values.push_back(jv);
  }
  j["values"] = values;
  json nodes = json::array();
  for (const Node& n : g.nodes) {
    const Window2d& w = n.window;
    nodes.push_back({{"op", OpName(n.op)},
                     {"name", n.name},
                     {"inputs", n.inputs},
                     {"outputs", n.outputs},
                     {"window", {{"kh", w.kh}, {"kw", w.kw}, {"sh", w.sh}, {"sw", w.sw}, {"dh", w.dh}, {"dw", w.dw},
                                 {"pad_t", w.pad_t}, {"pad_b", w.pad_b}, {"pad_l", w.pad_l}, {"pad_r", w.pad_r}}},
                     {"groups", n.groups},
                     {"depth_multiplier", n.depth_multiplier},
                     {"global_pool", n.global_pool},
                     {"act", {n.act_min, n.act_max}},
                     {"pad", {n.pad_c[0], n.pad_c[1], n.pad_h[0], n.pad_h[1], n.pad_w[0], n.pad_w[1]}},
                     {"reshape_hwc", n.reshape_hwc},
                     {"source_op", n.source_op}});
  }
  j["nodes"] = nodes;
  j["class_names"] = g.class_names;
  if (g.fp_head.in > 0) j["fp_head"] = {{"in", g.fp_head.in}, {"out", g.fp_head.out}, {"weight", "fp_head.weight"}, {"bias", "fp_head.bias"}};
  return j;
}

std::map<std::string, Tensor> GraphConstants(const Graph& g) {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (!v.is_const()) continue;
    Tensor t(v.dtype, v.shape);
    std::memcpy(t.bytes.data(), v.data.data(), v.data.size());
    out["v" + std::to_string(i)] = std::move(t);
  }
  if (g.fp_head.in > 0) {
    out["fp_head.weight"] = Tensor::From(DType::kFloat32, {g.fp_head.out, g.fp_head.in}, g.fp_head.weight.data());
    out["fp_head.bias"] = Tensor::From(DType::kFloat32, {g.fp_head.out}, g.fp_head.bias.data());
  }
  return out;
}

Result<Graph> GraphFromJson(const nlohmann::json& j, const std::map<std::string, Tensor>& constants, const std::string& label) {
  Graph g;
  auto err = [&](const std::string& msg) { return InvalidArgument(label + ": " + msg); };
  try {
    g.format = j.at("format").get<std::string>();
    g.source = j.value("source", label);
    const std::string rq = j.at("requant").get<std::string>();
    if (rq == kRequant[0]) g.requant = Requant::kReferenceFp32;
    else if (rq == kRequant[1]) g.requant = Requant::kTfliteInteger;
    else return err("requant: unknown mode '" + rq + "'");
    g.input = j.at("input").get<int>();
    g.output = j.at("output").get<int>();
    const auto& s = j.at("input_spec");
    g.input_spec = InputSpec{s.at("c").get<int>(), s.at("h").get<int>(), s.at("w").get<int>(), s.at("scale").get<double>(),
                             s.at("zero").get<int>(),
                             s.at("pixels").get<std::string>() == "p-128" ? PixelRule::kMinus128 : PixelRule::kScaleZero,
                             s.at("source_nhwc").get<bool>()};
    for (const auto& jv : j.at("values")) {
      Value v;
      v.name = jv.at("name").get<std::string>();
      TTE_ASSIGN_OR_RETURN(v.dtype, DTypeFromName(jv.at("dtype").get<std::string>()));
      v.shape = jv.at("shape").get<std::vector<int64_t>>();
      v.quant.scale = jv.at("scale").get<std::vector<double>>();
      v.quant.zero = jv.at("zero").get<std::vector<int32_t>>();
      v.quant.axis = jv.value("axis", 0);
      v.source_tensor = jv.value("source_tensor", -1);
      if (jv.contains("const")) {
        const std::string key = jv.at("const").get<std::string>();
        auto it = constants.find(key);
        if (it == constants.end()) return err("value '" + v.name + "': constant " + key + " is missing");
        if (it->second.dtype != v.dtype || it->second.shape != v.shape)
          return err("value '" + v.name + "': constant " + key + " is " + DTypeName(it->second.dtype) +
                     ShapeString(it->second.shape) + ", expected " + DTypeName(v.dtype) + ShapeString(v.shape));
        v.data = it->second.bytes;
        if (v.data.empty()) return err("value '" + v.name + "': constant " + key + " is empty");
      }
      g.values.push_back(std::move(v));
    }
    for (const auto& jn : j.at("nodes")) {
      Node n;
      bool ok = true;
      n.op = OpFromName(jn.at("op").get<std::string>(), &ok);
      if (!ok) return err("unknown op '" + jn.at("op").get<std::string>() + "'");
      n.name = jn.at("name").get<std::string>();
      n.inputs = jn.at("inputs").get<std::vector<int>>();
      n.outputs = jn.at("outputs").get<std::vector<int>>();
      const auto& w = jn.at("window");
      n.window = Window2d{w.at("kh").get<int>(), w.at("kw").get<int>(), w.at("sh").get<int>(), w.at("sw").get<int>(),
                          w.at("dh").get<int>(), w.at("dw").get<int>(), w.at("pad_t").get<int>(), w.at("pad_b").get<int>(),
                          w.at("pad_l").get<int>(), w.at("pad_r").get<int>()};
      n.groups = jn.at("groups").get<int>();
      n.depth_multiplier = jn.at("depth_multiplier").get<int>();
      n.global_pool = jn.at("global_pool").get<bool>();
      const auto act = jn.at("act").get<std::vector<int>>();
      if (act.size() != 2) return err("node '" + n.name + "': act must be [min, max]");
      n.act_min = act[0];
      n.act_max = act[1];
      const auto pad = jn.at("pad").get<std::vector<int>>();
      if (pad.size() != 6) return err("node '" + n.name + "': pad must have 6 entries");
      n.pad_c[0] = pad[0], n.pad_c[1] = pad[1], n.pad_h[0] = pad[2], n.pad_h[1] = pad[3], n.pad_w[0] = pad[4], n.pad_w[1] = pad[5];
      n.reshape_hwc = jn.at("reshape_hwc").get<bool>();
      n.source_op = jn.value("source_op", -1);
      g.nodes.push_back(std::move(n));
    }
    g.class_names = j.value("class_names", std::vector<std::string>{});
    if (j.contains("fp_head")) {
      const auto& h = j.at("fp_head");
      g.fp_head.in = h.at("in").get<int>();
      g.fp_head.out = h.at("out").get<int>();
      auto wi = constants.find("fp_head.weight"), bi = constants.find("fp_head.bias");
      if (wi == constants.end() || bi == constants.end() || wi->second.dtype != DType::kFloat32 || bi->second.dtype != DType::kFloat32)
        return err("fp_head: float32 constants fp_head.weight / fp_head.bias are missing");
      g.fp_head.weight.assign(wi->second.data<float>(), wi->second.data<float>() + wi->second.numel());
      g.fp_head.bias.assign(bi->second.data<float>(), bi->second.data<float>() + bi->second.numel());
    }
  } catch (const nlohmann::json::exception& e) {
    return err(std::string("malformed graph JSON: ") + e.what());
  }
  TTE_RETURN_IF_ERROR(Verify(g));
  return g;
}

}  // namespace tte::ir
