// Kernel parameter structs and the op list of the generated tte_model.c (see op_emitter.h).
//
// Parameters come from compiler/kernel_args.h, the mapping the host executor (src/runtime/executor.cc) uses too;
// this file prints them and calls, case by case as Executor::RunOps, the portable tte_* kernel wherever the
// executor calls a host::* equivalent (host_kernels.h: bit-identical). The host parity tests (tests/codegen)
// run both and compare the losses and the state checksum.
#include "codegen/op_emitter.h"

#include <map>
#include <set>
#include <string>

#include "codegen/c_text.h"
#include "compiler/kernel_args.h"
#include "kernels/tte_kernels.h"

namespace tte::codegen {

TensorNames NameTensors(const Program& prog) {
  TensorNames n;
  n.expr.resize(prog.tensors.size());
  n.ctype.resize(prog.tensors.size());
  for (size_t i = 0; i < prog.tensors.size(); ++i) {
    const TensorInfo& t = prog.tensors[i];
    const std::string id = std::to_string(i) + "_" + CIdentifier(t.name);
    n.ctype[i] = t.bits ? "uint8_t" : CType(t.dtype);
    switch (t.storage) {
      case Storage::kFlash: n.expr[i] = "f" + id; break;
      case Storage::kState: n.expr[i] = "s" + id; break;
      case Storage::kArena: n.expr[i] = "A" + id; break;
    }
  }
  return n;
}

namespace {

class OpWriter {
 public:
  OpWriter(const Program& p, const TensorNames& n, bool profile) : P(p), N(n), profile_(profile) {}

  Result<EmittedOps> Run();

 private:
  // A kernel argument: NULL for id < 0, else the tensor's expression, cast to `type*` if its element type
  // differs. `writable`: the kernel writes through it (never into flash).
  Result<std::string> Arg(int id, const std::string& type, bool writable, const std::string& what);
  Result<std::string> ConvParams(const KernelArgs& a, int conv, const Op* windowed);
  Result<std::string> TrainParams(const KernelArgs& a, int conv);
  std::string AddParams(const KernelArgs& a, int aux);
  std::string HeadParams(const KernelArgs& a);
  std::string AuxParams(const std::string& type, const std::string& kind, int aux, const std::string& body);
  std::string PoolParams(const KernelArgs& a, int aux);
  std::string MeanParams(const KernelArgs& a, int aux);
  std::string PadParams(const KernelArgs& a, int aux);
  static std::string ReshapeDims(const KernelArgs& a);
  Result<std::string> Call(size_t i);

  const Program& P;
  const TensorNames& N;
  const bool profile_;
  std::string params_;
  std::map<int, std::string> conv_names_, train_names_, add_names_;
  std::set<std::string> aux_names_;
  std::map<int, int> windowed_count_;
  std::string head_name_;
  std::string error_context_;
};

Result<std::string> OpWriter::Arg(int id, const std::string& type, bool writable, const std::string& what) {
  if (id < 0) return std::string("NULL");
  if (id >= static_cast<int>(P.tensors.size()))
    return Internal("codegen: " + error_context_ + ": " + what + " refers to tensor " + std::to_string(id) +
                    ", the program has " + std::to_string(P.tensors.size()));
  const TensorInfo& t = P.tensors[id];
  if (writable && t.storage == Storage::kFlash)
    return Internal("codegen: " + error_context_ + ": the kernel writes its " + what + " into flash tensor '" +
                    t.name + "'");
  if (N.ctype[id] == type) return N.expr[id];
  return "(" + std::string(writable || t.storage != Storage::kFlash ? "" : "const ") + type + "*)" + N.expr[id];
}

// The tte_conv_params of KernelArgs (+ the op's windows when windowed) as a static const struct.
Result<std::string> OpWriter::ConvParams(const KernelArgs& a, int conv, const Op* windowed) {
  if (!windowed) {
    if (auto it = conv_names_.find(conv); it != conv_names_.end()) return it->second;
  }
  const ConvBinding& b = P.convs[static_cast<size_t>(conv)];
  const tte_conv_params& cp = a.conv;
  std::string name = "conv_" + CIdentifier(b.name);
  if (windowed) name += "_patch" + std::to_string(windowed_count_[conv]++);
  auto w = [](const tte_window& x) {
    return "{" + std::to_string(x.y0) + ", " + std::to_string(x.x0) + ", " + std::to_string(x.h) + ", " +
           std::to_string(x.w) + "}";
  };
  const ConvTensorIds& ids = a.conv_ids;
  TTE_ASSIGN_OR_RETURN(std::string frozen, Arg(ids.w_frozen, "int8_t", false, "frozen weights"));
  TTE_ASSIGN_OR_RETURN(std::string train, Arg(ids.w_train, "int8_t", true, "trainable weights"));
  TTE_ASSIGN_OR_RETURN(std::string slot, Arg(ids.slot, "uint16_t", false, "slot table"));
  TTE_ASSIGN_OR_RETURN(std::string bias_i32, Arg(ids.bias_i32, "int32_t", false, "bias"));
  TTE_ASSIGN_OR_RETURN(std::string bias_f32, Arg(ids.bias_f32, "float", false, "master bias"));
  TTE_ASSIGN_OR_RETURN(std::string eff, Arg(ids.eff, "float", false, "eff"));
  TTE_ASSIGN_OR_RETURN(std::string mult, Arg(ids.mult, "int32_t", false, "multipliers"));
  TTE_ASSIGN_OR_RETURN(std::string shift, Arg(ids.shift, "int32_t", false, "shifts"));
  params_ += "static const tte_conv_params " + name + " = {  /* " + CommentSafe(b.name) +
             (windowed ? ", " + CommentSafe(windowed->note) : std::string()) + " */\n";
  auto i = [](int32_t v) { return std::to_string(v); };
  params_ += "    .cin = " + i(cp.cin) + ", .cout = " + i(cp.cout) + ", .groups = " + i(cp.groups) +
             ", .depthwise = " + i(cp.depthwise) + ", .kh = " + i(cp.kh) + ", .kw = " + i(cp.kw) + ", .sh = " +
             i(cp.sh) + ", .sw = " + i(cp.sw) + ", .dh = " + i(cp.dh) + ", .dw = " + i(cp.dw) + ",\n";
  params_ += "    .pad_t = " + i(cp.pad_t) + ", .pad_b = " + i(cp.pad_b) + ", .pad_l = " + i(cp.pad_l) +
             ", .pad_r = " + i(cp.pad_r) + ", .in_h = " + i(cp.in_h) + ", .in_w = " + i(cp.in_w) + ",\n";
  params_ += "    .in_buf = " + w(cp.in_buf) + ", .out = " + w(cp.out) + ", .out_buf = " + w(cp.out_buf) +
             ", .x_zero = " + i(cp.x_zero) + ", .y_zero = " + i(cp.y_zero) + ",\n";
  params_ += "    .act_min = " + i(cp.act_min) + ", .act_max = " + i(cp.act_max) + ", .requant = " +
             (cp.requant == TTE_REQUANT_TFLITE ? "TTE_REQUANT_TFLITE" : "TTE_REQUANT_FP32") + ",\n";
  params_ += "    .w = {.frozen = " + frozen + ", .train = " + train + ", .slot = " + slot +
             ", .n_frozen = " + std::to_string(cp.w.n_frozen) + ", .n_train = " + std::to_string(cp.w.n_train) + "},\n";
  params_ += "    .bias_i32 = " + bias_i32 + ", .bias_f32 = " + bias_f32 + ", .eff = " + eff + ", .mult = " + mult +
             ", .shift = " + shift + "};\n";
  if (!windowed) conv_names_[conv] = name;
  return name;
}

// The tte_conv_train of KernelArgs as a static const struct.
Result<std::string> OpWriter::TrainParams(const KernelArgs& a, int conv) {
  if (auto it = train_names_.find(conv); it != train_names_.end()) return it->second;
  const ConvBinding& b = P.convs[static_cast<size_t>(conv)];
  const std::string name = "train_" + CIdentifier(b.name);
  const TrainTensorIds& ids = a.train_ids;
  const tte_conv_train& t = a.train;
  TTE_ASSIGN_OR_RETURN(std::string sel, Arg(ids.sel, "uint16_t", false, "selection"));
  TTE_ASSIGN_OR_RETURN(std::string qas_w, Arg(ids.qas_w, "float", false, "QAS weight divisors"));
  TTE_ASSIGN_OR_RETURN(std::string qas_b, Arg(ids.qas_b, "float", false, "QAS bias divisors"));
  TTE_ASSIGN_OR_RETURN(std::string w, Arg(ids.w, "int8_t", true, "trainable weights"));
  TTE_ASSIGN_OR_RETURN(std::string w_master, Arg(ids.w_master, "float", true, "weight master"));
  TTE_ASSIGN_OR_RETURN(std::string w_mom, Arg(ids.w_mom, "float", true, "weight momentum"));
  TTE_ASSIGN_OR_RETURN(std::string bias, Arg(ids.b, "int32_t", true, "trainable bias"));
  TTE_ASSIGN_OR_RETURN(std::string b_master, Arg(ids.b_master, "float", true, "bias master"));
  TTE_ASSIGN_OR_RETURN(std::string b_mom, Arg(ids.b_mom, "float", true, "bias momentum"));
  params_ += "static const tte_conv_train " + name + " = {  /* " + CommentSafe(b.name) + ": trained " +
             (b.train_bias ? "bias" : "") + (b.train_bias && b.train_weight ? " + " : "") +
             (b.train_weight ? std::to_string(b.n_train) + " weight channels" : "") + " */\n";
  params_ += "    .cout = " + std::to_string(t.cout) + ", .n_train = " + std::to_string(t.n_train) +
             ", .kk = " + std::to_string(t.kk) + ", .depthwise = " + std::to_string(t.depthwise) +
             ", .sel = " + sel + ", .qas_w = " + qas_w + ", .qas_b = " + qas_b + ",\n";
  params_ += "    .w = " + w + ", .w_master = " + w_master + ", .w_mom = " + w_mom + ", .b = " + bias +
             ", .b_master = " + b_master + ", .b_mom = " + b_mom + "};\n";
  train_names_[conv] = name;
  return name;
}

std::string OpWriter::AddParams(const KernelArgs& a, int aux) {
  if (auto it = add_names_.find(aux); it != add_names_.end()) return it->second;
  const tte_add_params& p = a.add;
  const std::string name = "add_" + std::to_string(aux);
  params_ += "static const tte_add_params " + name + " = {.n = " + std::to_string(p.n) + ", .z1 = " +
             std::to_string(p.z1) + ", .z2 = " + std::to_string(p.z2) + ", .zy = " + std::to_string(p.zy) +
             ", .s1 = " + FloatLiteral(p.s1) + ", .s2 = " + FloatLiteral(p.s2) + ", .sy = " + FloatLiteral(p.sy) +
             ", .act_min = " + std::to_string(p.act_min) + ", .act_max = " + std::to_string(p.act_max) +
             (p.requant == TTE_REQUANT_TFLITE
                  ? ", .requant = TTE_REQUANT_TFLITE, .left_shift = " + std::to_string(p.left_shift) +
                        ", .mult1 = " + std::to_string(p.mult1) + ", .shift1 = " + std::to_string(p.shift1) +
                        ", .mult2 = " + std::to_string(p.mult2) + ", .shift2 = " + std::to_string(p.shift2) +
                        ", .mult_out = " + std::to_string(p.mult_out) + ", .shift_out = " + std::to_string(p.shift_out)
                  : std::string(", .requant = TTE_REQUANT_FP32")) +
             "};\n";
  add_names_[aux] = name;
  return name;
}

// A static const params struct `type name = {body};` defined once per (kind, aux).
std::string OpWriter::AuxParams(const std::string& type, const std::string& kind, int aux, const std::string& body) {
  const std::string name = kind + "_" + std::to_string(aux);
  if (aux_names_.insert(name).second) params_ += "static const " + type + " " + name + " = {" + body + "};\n";
  return name;
}

std::string OpWriter::PoolParams(const KernelArgs& a, int aux) {
  const tte_pool_params& p = a.pool;
  auto i = [](int32_t v) { return std::to_string(v); };
  return AuxParams("tte_pool_params", "pool", aux,
                   ".c = " + i(p.c) + ", .in_h = " + i(p.in_h) + ", .in_w = " + i(p.in_w) + ", .out_h = " + i(p.out_h) +
                       ", .out_w = " + i(p.out_w) + ", .kh = " + i(p.kh) + ", .kw = " + i(p.kw) + ", .sh = " + i(p.sh) +
                       ", .sw = " + i(p.sw) + ", .pad_t = " + i(p.pad_t) + ", .pad_l = " + i(p.pad_l) +
                       ", .act_min = " + i(p.act_min) + ", .act_max = " + i(p.act_max) + ", .requant = " +
                       (p.requant == TTE_REQUANT_TFLITE ? "TTE_REQUANT_TFLITE" : "TTE_REQUANT_FP32"));
}

std::string OpWriter::MeanParams(const KernelArgs& a, int aux) {
  const tte_mean_params& p = a.mean;
  auto i = [](int32_t v) { return std::to_string(v); };
  return AuxParams("tte_mean_params", "mean", aux,
                   ".c = " + i(p.c) + ", .hw = " + i(p.hw) + ", .x_zero = " + i(p.x_zero) + ", .y_zero = " + i(p.y_zero) +
                       ", .same_quant = " + i(p.same_quant) + ", .mult = " + i(p.mult) + ", .shift = " + i(p.shift) +
                       ", .s_x = " + FloatLiteral(p.s_x) + ", .s_y = " + FloatLiteral(p.s_y));
}

std::string OpWriter::PadParams(const KernelArgs& a, int aux) {
  const tte_pad_params& p = a.pad;
  auto i = [](int32_t v) { return std::to_string(v); };
  auto two = [&](const int32_t* v) { return "{" + i(v[0]) + ", " + i(v[1]) + "}"; };
  return AuxParams("tte_pad_params", "pad", aux,
                   ".c = " + i(p.c) + ", .h = " + i(p.h) + ", .w = " + i(p.w) + ", .pad_c = " + two(p.pad_c) +
                       ", .pad_h = " + two(p.pad_h) + ", .pad_w = " + two(p.pad_w) + ", .value = " + i(p.value));
}

std::string OpWriter::ReshapeDims(const KernelArgs& a) {
  const ReshapeBinding& r = a.reshape;
  return std::to_string(r.in_c) + ", " + std::to_string(r.in_h) + ", " + std::to_string(r.in_w) + ", " +
         std::to_string(r.out_c) + ", " + std::to_string(r.out_h) + ", " + std::to_string(r.out_w);
}

std::string OpWriter::HeadParams(const KernelArgs& a) {
  if (!head_name_.empty()) return head_name_;
  const tte_head_params& h = a.head;
  head_name_ = "head";
  params_ += "static const tte_head_params head = {.in = " + std::to_string(h.in) + ", .out = " +
             std::to_string(h.out) + ", .x_zero = " + std::to_string(h.x_zero) +
             ", .x_scale = " + FloatLiteral(h.x_scale) + "};\n";
  return head_name_;
}

Result<std::string> OpWriter::Call(size_t i) {
  const Op& op = P.ops[i];
  TTE_ASSIGN_OR_RETURN(KernelArgs a, KernelArgsOf(P, i));
  const std::string opt = a.fused ? "&tte_opt" : "NULL";
  const std::string c_hw = std::to_string(a.c) + ", " + std::to_string(a.hw);
  auto train = [&]() -> Result<std::string> {
    if (!a.fused) return std::string("NULL");
    TTE_ASSIGN_OR_RETURN(std::string tn, TrainParams(a, op.conv));
    return "&" + tn;
  };
#define ARG(var, id, type, writable, what) TTE_ASSIGN_OR_RETURN(std::string var, Arg(id, type, writable, what))
  switch (a.code) {
    case OpCode::kConv: {
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(a, op.conv, a.windowed ? &op : nullptr));
      if (a.in_place) {
        ARG(buf, a.out0, "int8_t", true, "output");
        ARG(scratch, a.in1, "int8_t", true, "plane scratch");
        ARG(mask, a.out1, "uint8_t", true, "mask");
        return "tte_conv_dw_inplace_s8(&" + cp + ", " + buf + ", " + scratch + ", " + mask + ");";
      }
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      std::string mask = "NULL";  // a patch of a windowed conv never writes a mask (executor.cc)
      if (!a.windowed) {
        ARG(m, a.out1, "uint8_t", true, "mask");
        mask = m;
      }
      return "tte_conv_s8(&" + cp + ", " + x + ", " + y + ", " + mask + ");";
    }
    case OpCode::kAdd: {
      ARG(x1, a.in0, "int8_t", false, "x1");
      ARG(x2, a.in1, "int8_t", false, "x2");
      ARG(y, a.out0, "int8_t", true, "output");
      ARG(mask, a.out1, "uint8_t", true, "mask");
      return "tte_add_s8(&" + AddParams(a, op.aux) + ", " + x1 + ", " + x2 + ", " + y + ", " + mask + ");";
    }
    case OpCode::kAvgPool: {
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      if (!a.pool2d) return "tte_avgpool_s8(" + c_hw + ", " + x + ", " + y + ");";
      ARG(mask, a.out1, "uint8_t", true, "mask");
      return "tte_avgpool2d_s8(&" + PoolParams(a, op.aux) + ", " + x + ", " + y + ", " + mask + ");";
    }
    case OpCode::kMean: {
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      ARG(mask, a.out1, "uint8_t", true, "mask");
      return "tte_mean_s8(&" + MeanParams(a, op.aux) + ", " + x + ", " + y + ", " + mask + ");";
    }
    case OpCode::kPad: {
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      return "tte_pad_s8(&" + PadParams(a, op.aux) + ", " + x + ", " + y + ");";
    }
    case OpCode::kReshape: {
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      return "tte_reshape_hwc_s8(" + ReshapeDims(a) + ", " + x + ", " + y + ");";
    }
    case OpCode::kSoftmax: {
      const tte_softmax_params& sm = a.softmax;
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      const std::string name = AuxParams("tte_softmax_params", "softmax", op.aux,
                                         ".n = " + std::to_string(sm.n) + ", .input_mult = " + std::to_string(sm.input_mult) +
                                             ", .input_shift = " + std::to_string(sm.input_shift) +
                                             ", .diff_min = " + std::to_string(sm.diff_min));
      return "tte_softmax_s8(&" + name + ", " + x + ", " + y + ");";
    }
    case OpCode::kMeanBackward: {
      ARG(g, a.in0, "float", false, "gradient");
      ARG(dx, a.out0, "float", true, "input gradient");
      return "tte_mean_backward_f32(&" + MeanParams(a, op.aux) + ", " + g + ", " + dx + ");";
    }
    case OpCode::kPadBackward: {
      ARG(g, a.in0, "float", false, "gradient");
      ARG(dx, a.out0, "float", true, "input gradient");
      return "tte_pad_backward_f32(&" + PadParams(a, op.aux) + ", " + g + ", " + dx + ");";
    }
    case OpCode::kReshapeBackward: {
      ARG(g, a.in0, "float", false, "gradient");
      ARG(dx, a.out0, "float", true, "input gradient");
      return "tte_reshape_hwc_backward_f32(" + ReshapeDims(a) + ", " + g + ", " + dx + ");";
    }
    case OpCode::kGatherChannels: {
      ARG(sel, a.sel, "uint16_t", false, "saved channels");
      ARG(x, a.in0, "int8_t", false, "input");
      ARG(y, a.out0, "int8_t", true, "output");
      return "tte_gather_channels_s8(" + std::to_string(a.n) + ", " + sel + ", " + std::to_string(a.hw) + ", " + x +
             ", " + y + ");";
    }
    case OpCode::kHeadForward: {
      ARG(W, P.head.W, "float", false, "head weight");
      ARG(b, P.head.b, "float", false, "head bias");
      ARG(x, a.in0, "int8_t", false, "features");
      ARG(y, a.out0, "float", true, "logits");
      return "tte_head_forward(&" + HeadParams(a) + ", " + W + ", " + b + ", " + x + ", " + y + ");";
    }
    case OpCode::kLoss: {
      ARG(logits, a.in0, "float", false, "logits");
      ARG(dlogits, a.out0, "float", true, "dlogits");
      ARG(loss, a.out1, "float", true, "loss");
      return "*" + loss + " = tte_softmax_xent(" + std::to_string(a.head.out) + ", " + logits + ", label, " + dlogits + ");";
    }
    case OpCode::kHeadBackward: {
      const HeadBinding& h = P.head;
      ARG(W, h.W, "float", true, "head weight");
      ARG(b, h.b, "float", true, "head bias");
      ARG(mW, h.mW, "float", true, "head weight momentum");
      ARG(mb, h.mb, "float", true, "head bias momentum");
      ARG(x, a.in0, "int8_t", false, "features");
      ARG(g, a.in1, "float", false, "dlogits");
      ARG(dx, a.out0, "float", true, "features gradient");
      ARG(gW, h.gW, "float", true, "head weight gradient");
      ARG(gb, h.gb, "float", true, "head bias gradient");
      return "tte_head_backward(&" + HeadParams(a) + ", " + W + ", " + b + ", " + mW + ", " + mb + ", " + opt + ", " + x +
             ", " + g + ", " + dx + ", " + gW + ", " + gb + ");";
    }
    case OpCode::kAvgPoolBackward: {
      ARG(g, a.in0, "float", false, "pooled gradient");
      ARG(dx, a.out0, "float", true, "gradient");
      if (a.pool2d) return "tte_avgpool2d_backward_f32(&" + PoolParams(a, op.aux) + ", " + g + ", " + dx + ");";
      return "tte_avgpool_backward_f32(" + c_hw + ", " + g + ", " + dx + ");";
    }
    case OpCode::kAddBackward: {
      ARG(g, a.in0, "float", true, "gradient");
      ARG(mask, a.in1, "uint8_t", false, "mask");
      ARG(gx1, a.out0, "float", true, "first input's gradient");
      ARG(gx2, a.out1, "float", true, "second input's gradient");
      return "tte_add_backward_f32(&" + AddParams(a, op.aux) + ", " + g + ", " + mask + ", " + gx1 + ", " +
             (a.accumulate ? "1" : "0") + ", " + gx2 + ");";
    }
    case OpCode::kAccumulate: {
      ARG(g, a.in0, "float", false, "contribution");
      ARG(acc, a.out0, "float", true, "gradient");
      return "tte_accumulate_f32(" + std::to_string(a.n) + ", " + g + ", " + acc + ");";
    }
    case OpCode::kMaskScale: {
      ARG(g, a.in0, "float", true, "gradient");
      ARG(mask, a.in1, "uint8_t", false, "mask");
      ARG(eff, a.conv_ids.eff, "float", false, "eff");
      return "tte_mask_scale_f32(" + c_hw + ", " + g + ", " + mask + ", " + eff + ");";
    }
    case OpCode::kConvBiasGrad: {
      ARG(g, a.in0, "float", false, "gradient");
      ARG(db, a.grad_b, "float", true, "bias gradient buffer");
      TTE_ASSIGN_OR_RETURN(std::string t, train());
      return "tte_conv_bias_grad_f32(" + c_hw + ", " + g + ", " + db + ", " + opt + ", " + t + ");";
    }
    case OpCode::kConvBackwardInput: {
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(a, op.conv, a.windowed ? &op : nullptr));
      if (a.in_place) {
        ARG(buf, a.out0, "float", true, "gradient");
        ARG(scratch, a.in1, "float", true, "plane scratch");
        return "tte_conv_dw_backward_input_inplace_f32(&" + cp + ", " + buf + ", " + scratch + ");";
      }
      ARG(g, a.in0, "float", false, "gradient");
      ARG(dx, a.out0, "float", true, "input gradient");
      return "tte_conv_backward_input_f32(&" + cp + ", " + g + ", " + dx + ", " + (a.accumulate ? "1" : "0") + ");";
    }
    case OpCode::kConvWeightGrad: {
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(a, op.conv, nullptr));
      ARG(sel, a.sel, "uint16_t", false, "selection");
      ARG(xs, a.in1, "int8_t", false, "saved input");
      ARG(g, a.in0, "float", false, "gradient");
      ARG(dw, a.grad_w, "float", true, "weight gradient buffer");
      TTE_ASSIGN_OR_RETURN(std::string t, train());
      return "tte_conv_weight_grad_f32(&" + cp + ", " + std::to_string(a.n) + ", " + sel + ", " + xs + ", " + g + ", " +
             dw + ", " + opt + ", " + t + ");";
    }
    case OpCode::kApplyUpdate:
      return Unsupported("codegen: " + error_context_ +
                         ": deferred updates (apply ops) are not generated: the device runs fused updates (batch 1)");
    default:
      return Unsupported("codegen: " + error_context_ + ": no kernel call for this op yet");
  }
#undef ARG
}

Result<EmittedOps> OpWriter::Run() {
  EmittedOps r;
  size_t head = P.ops.size();
  for (size_t i = 0; i < P.ops.size(); ++i)
    if (P.ops[i].code == OpCode::kHeadForward) {
      head = i;
      break;
    }
  if (head == P.ops.size()) return Unsupported("codegen: the program has no head (not a training program)");
  for (size_t i = 0; i <= head; ++i)
    if (P.ops[i].phase != Phase::kForward)
      return Internal("codegen: op #" + std::to_string(i) + " before the head is not a forward op");
  r.forward_ops = head + 1;
  // The loss op follows the head: the training step checks the loss before any update op runs.
  if (r.forward_ops >= P.ops.size() || P.ops[r.forward_ops].code != OpCode::kLoss)
    return Internal("codegen: the op after the head is not the loss");
  if (P.loss < 0 || P.tensors[P.loss].dtype != DType::kFloat32) return Internal("codegen: the program has no fp32 loss");
  r.loss_expr = "*" + N.expr[P.loss];
  for (size_t i = 0; i < P.ops.size(); ++i) {
    const Op& op = P.ops[i];
    std::string label = "#" + std::to_string(i) + " " + OpCodeName(op.code);
    if (op.conv >= 0 && op.conv < static_cast<int>(P.convs.size())) label += " " + P.convs[op.conv].name;
    if (op.aux >= 0) label += " [" + std::to_string(op.aux) + "]";
    if (op.accumulate) label += " (accumulate)";
    error_context_ = "op " + label;
    TTE_ASSIGN_OR_RETURN(std::string call, Call(i));
    std::string text = "  /* " + CommentSafe(label) + (op.note.empty() ? "" : ": " + CommentSafe(op.note)) + " */\n";
    if (profile_) text += "  mcu_mark(" + std::to_string(1000 + i) + "u);  /* profile: op " + std::to_string(i) + " */\n";
    text += "  " + call + "\n";
    (i < r.forward_ops ? r.forward : i == r.forward_ops ? r.loss : r.backward) += text;
  }
  r.params = params_;
  return r;
}

}  // namespace

Result<EmittedOps> EmitOps(const Program& prog, const TensorNames& names, bool profile_ops) {
  return OpWriter(prog, names, profile_ops).Run();
}

}  // namespace tte::codegen
