// Kernel parameter structs and the op list of the generated tte_model.c (see op_emitter.h).
//
// The executable specification is src/runtime/executor.cc: Prepare() binds every parameter struct and
// pointer, RunOps() calls one kernel per op. This file follows it field by field and case by case, with the
// portable tte_* kernel wherever the Executor calls a host::* equivalent (host_kernels.h: bit-identical).
// The host parity tests (tests/codegen) run both and compare the losses and the state checksum.
#include "codegen/op_emitter.h"

#include <map>
#include <string>

#include "codegen/c_text.h"
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
  Result<std::string> ConvParams(int conv, const Op* windowed);
  Result<std::string> TrainParams(int conv);
  std::string AddParams(int block);
  std::string HeadParams();
  Result<std::string> Call(size_t i);

  const Program& P;
  const TensorNames& N;
  const bool profile_;
  std::string params_;
  std::map<int, std::string> conv_names_, train_names_, add_names_;
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

// tte_conv_params exactly as Executor::Prepare's bind_conv (+ the op's windows when windowed).
Result<std::string> OpWriter::ConvParams(int conv, const Op* windowed) {
  if (!windowed) {
    if (auto it = conv_names_.find(conv); it != conv_names_.end()) return it->second;
  }
  if (conv < 0 || conv >= static_cast<int>(P.convs.size()))
    return Internal("codegen: " + error_context_ + ": no conv binding " + std::to_string(conv));
  const ConvBinding& b = P.convs[conv];
  tte_conv_params cp{};
  cp.cin = b.cin;
  cp.cout = b.cout;
  cp.k = b.k;
  cp.stride = b.stride;
  cp.pad = b.pad;
  cp.groups = b.groups;
  tte_conv_whole(&cp, b.in_hw, b.in_hw);
  if (windowed) {
    auto win = [](const Window& w) { return tte_window{w.y0, w.x0, w.h, w.w}; };
    cp.in_buf = win(windowed->windows.in_buf);
    cp.out = win(windowed->windows.out);
    cp.out_buf = win(windowed->windows.out_buf);
  }
  std::string name = "conv_" + CIdentifier(b.name);
  if (windowed) name += "_patch" + std::to_string(windowed_count_[conv]++);
  auto w = [](const tte_window& x) {
    return "{" + std::to_string(x.y0) + ", " + std::to_string(x.x0) + ", " + std::to_string(x.h) + ", " +
           std::to_string(x.w) + "}";
  };
  const bool master_bias = b.bias_f32 >= 0;
  TTE_ASSIGN_OR_RETURN(std::string frozen, Arg(b.w_frozen, "int8_t", false, "frozen weights"));
  TTE_ASSIGN_OR_RETURN(std::string train, Arg(b.w_train, "int8_t", true, "trainable weights"));
  TTE_ASSIGN_OR_RETURN(std::string slot, Arg(b.slot, "uint16_t", false, "slot table"));
  TTE_ASSIGN_OR_RETURN(std::string bias_i32, Arg(master_bias ? -1 : b.bias_i32, "int32_t", false, "bias"));
  TTE_ASSIGN_OR_RETURN(std::string bias_f32, Arg(b.bias_f32, "float", false, "master bias"));
  TTE_ASSIGN_OR_RETURN(std::string eff, Arg(b.eff, "float", false, "eff"));
  params_ += "static const tte_conv_params " + name + " = {  /* " + CommentSafe(b.name) +
             (windowed ? ", " + CommentSafe(windowed->note) : std::string()) + " */\n";
  params_ += "    .cin = " + std::to_string(cp.cin) + ", .cout = " + std::to_string(cp.cout) +
             ", .k = " + std::to_string(cp.k) + ", .stride = " + std::to_string(cp.stride) +
             ", .pad = " + std::to_string(cp.pad) + ", .groups = " + std::to_string(cp.groups) +
             ", .in_h = " + std::to_string(cp.in_h) + ", .in_w = " + std::to_string(cp.in_w) + ",\n";
  params_ += "    .in_buf = " + w(cp.in_buf) + ", .out = " + w(cp.out) + ", .out_buf = " + w(cp.out_buf) +
             ", .x_zero = " + std::to_string(b.x_zero) + ", .y_zero = " + std::to_string(b.y_zero) + ",\n";
  params_ += "    .w = {.frozen = " + frozen + ", .train = " + train + ", .slot = " + slot +
             ", .n_frozen = " + std::to_string(b.n_frozen) + ", .n_train = " + std::to_string(b.n_train) + "},\n";
  params_ += "    .bias_i32 = " + bias_i32 + ", .bias_f32 = " + bias_f32 + ", .eff = " + eff + "};\n";
  if (!windowed) conv_names_[conv] = name;
  return name;
}

// tte_conv_train exactly as Executor::Prepare's bind_train.
Result<std::string> OpWriter::TrainParams(int conv) {
  if (auto it = train_names_.find(conv); it != train_names_.end()) return it->second;
  if (conv < 0 || conv >= static_cast<int>(P.convs.size()))
    return Internal("codegen: " + error_context_ + ": no conv binding " + std::to_string(conv));
  const ConvBinding& b = P.convs[conv];
  const std::string name = "train_" + CIdentifier(b.name);
  TTE_ASSIGN_OR_RETURN(std::string sel, Arg(b.sel, "uint16_t", false, "selection"));
  TTE_ASSIGN_OR_RETURN(std::string qas_w, Arg(b.qas_w, "float", false, "QAS weight divisors"));
  TTE_ASSIGN_OR_RETURN(std::string qas_b, Arg(b.qas_b, "float", false, "QAS bias divisors"));
  TTE_ASSIGN_OR_RETURN(std::string w, Arg(b.train_weight ? b.w_train : -1, "int8_t", true, "trainable weights"));
  TTE_ASSIGN_OR_RETURN(std::string w_master, Arg(b.w_master, "float", true, "weight master"));
  TTE_ASSIGN_OR_RETURN(std::string w_mom, Arg(b.w_mom, "float", true, "weight momentum"));
  TTE_ASSIGN_OR_RETURN(std::string bias,
                       Arg(b.train_bias && b.bias_f32 < 0 ? b.bias_i32 : -1, "int32_t", true, "trainable bias"));
  TTE_ASSIGN_OR_RETURN(std::string b_master, Arg(b.train_bias ? b.bias_f32 : -1, "float", true, "bias master"));
  TTE_ASSIGN_OR_RETURN(std::string b_mom, Arg(b.b_mom, "float", true, "bias momentum"));
  params_ += "static const tte_conv_train " + name + " = {  /* " + CommentSafe(b.name) + ": trained " +
             (b.train_bias ? "bias" : "") + (b.train_bias && b.train_weight ? " + " : "") +
             (b.train_weight ? std::to_string(b.n_train) + " weight channels" : "") + " */\n";
  params_ += "    .cout = " + std::to_string(b.cout) + ", .n_train = " + std::to_string(b.n_train) +
             ", .kk = " + std::to_string(b.k * b.k) + ", .depthwise = " + std::to_string(b.depthwise ? 1 : 0) +
             ", .sel = " + sel + ", .qas_w = " + qas_w + ", .qas_b = " + qas_b + ",\n";
  params_ += "    .w = " + w + ", .w_master = " + w_master + ", .w_mom = " + w_mom + ", .b = " + bias +
             ", .b_master = " + b_master + ", .b_mom = " + b_mom + "};\n";
  train_names_[conv] = name;
  return name;
}

std::string OpWriter::AddParams(int block) {
  if (auto it = add_names_.find(block); it != add_names_.end()) return it->second;
  const AddBinding& a = P.adds[block];
  const std::string name = "add_b" + std::to_string(block);
  params_ += "static const tte_add_params " + name + " = {.n = " + std::to_string(a.n) + ", .z1 = " +
             std::to_string(a.z1) + ", .z2 = " + std::to_string(a.z2) + ", .zy = " + std::to_string(a.zy) +
             ", .s1 = " + FloatLiteral(a.s1) + ", .s2 = " + FloatLiteral(a.s2) + ", .sy = " + FloatLiteral(a.sy) +
             "};\n";
  add_names_[block] = name;
  return name;
}

std::string OpWriter::HeadParams() {
  if (!head_name_.empty()) return head_name_;
  const HeadBinding& h = P.head;
  head_name_ = "head";
  params_ += "static const tte_head_params head = {.in = " + std::to_string(h.in) + ", .out = " +
             std::to_string(h.out) + ", .x_zero = " + std::to_string(h.x_zero) +
             ", .x_scale = " + FloatLiteral(h.x_scale) + "};\n";
  return head_name_;
}

// c and hw of a [C, ...] tensor, as Executor::Prepare computes them.
std::string ChannelsAndPlane(const TensorInfo& t) {
  const int64_t c = t.shape.empty() ? 1 : t.shape[0];
  return std::to_string(c) + ", " + std::to_string(c ? t.numel() / c : 0);
}

Result<std::string> OpWriter::Call(size_t i) {
  const Op& op = P.ops[i];
  auto in = [&](size_t k) { return k < op.ins.size() ? op.ins[k] : -1; };
  auto out = [&](size_t k) { return k < op.outs.size() ? op.outs[k] : -1; };
  const bool fused = op.fused_update;
  const std::string opt = fused ? "&tte_opt" : "NULL";
  auto need_in0 = [&]() -> Status {
    if (op.ins.empty() || op.ins[0] < 0) return Internal("codegen: " + error_context_ + ": no input tensor");
    return Status::Ok();
  };
#define ARG(var, id, type, writable, what) TTE_ASSIGN_OR_RETURN(std::string var, Arg(id, type, writable, what))
  switch (op.code) {
    case OpCode::kConv: {
      if (op.in_place) {
        TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(op.conv, nullptr));
        ARG(buf, out(0), "int8_t", true, "output");
        ARG(scratch, in(1), "int8_t", true, "plane scratch");
        ARG(mask, out(1), "uint8_t", true, "mask");
        return "tte_conv_dw_inplace_s8(&" + cp + ", " + buf + ", " + scratch + ", " + mask + ");";
      }
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(op.conv, op.windowed ? &op : nullptr));
      ARG(x, in(0), "int8_t", false, "input");
      ARG(y, out(0), "int8_t", true, "output");
      std::string mask = "NULL";  // a patch of a windowed conv never writes a mask (executor.cc)
      if (!op.windowed) {
        ARG(m, out(1), "uint8_t", true, "mask");
        mask = m;
      }
      return "tte_conv_s8(&" + cp + ", " + x + ", " + y + ", " + mask + ");";
    }
    case OpCode::kAdd: {
      ARG(x1, in(0), "int8_t", false, "x1");
      ARG(x2, in(1), "int8_t", false, "x2");
      ARG(y, out(0), "int8_t", true, "output");
      ARG(mask, out(1), "uint8_t", true, "mask");
      return "tte_add_s8(&" + AddParams(op.block) + ", " + x1 + ", " + x2 + ", " + y + ", " + mask + ");";
    }
    case OpCode::kAvgPool: {
      TTE_RETURN_IF_ERROR(need_in0());
      ARG(x, in(0), "int8_t", false, "input");
      ARG(y, out(0), "int8_t", true, "output");
      return "tte_avgpool_s8(" + ChannelsAndPlane(P.tensors[in(0)]) + ", " + x + ", " + y + ");";
    }
    case OpCode::kGatherChannels: {
      TTE_RETURN_IF_ERROR(need_in0());
      const ConvBinding& b = P.convs[op.conv];
      const TensorInfo& t = P.tensors[in(0)];
      ARG(sel, b.sel, "uint16_t", false, "selection");
      ARG(x, in(0), "int8_t", false, "input");
      ARG(y, out(0), "int8_t", true, "output");
      return "tte_gather_channels_s8(" + std::to_string(b.n_train) + ", " + sel + ", " +
             std::to_string(t.numel() / t.shape[0]) + ", " + x + ", " + y + ");";
    }
    case OpCode::kHeadForward: {
      ARG(W, P.head.W, "float", false, "head weight");
      ARG(b, P.head.b, "float", false, "head bias");
      ARG(x, in(0), "int8_t", false, "pooled features");
      ARG(y, out(0), "float", true, "logits");
      return "tte_head_forward(&" + HeadParams() + ", " + W + ", " + b + ", " + x + ", " + y + ");";
    }
    case OpCode::kLoss: {
      ARG(logits, in(0), "float", false, "logits");
      ARG(dlogits, out(0), "float", true, "dlogits");
      ARG(loss, out(1), "float", true, "loss");
      return "*" + loss + " = tte_softmax_xent(" + std::to_string(P.head.out) + ", " + logits + ", label, " +
             dlogits + ");";
    }
    case OpCode::kHeadBackward: {
      const HeadBinding& h = P.head;
      ARG(W, h.W, "float", true, "head weight");
      ARG(b, h.b, "float", true, "head bias");
      ARG(mW, h.mW, "float", true, "head weight momentum");
      ARG(mb, h.mb, "float", true, "head bias momentum");
      ARG(x, in(0), "int8_t", false, "pooled features");
      ARG(g, in(1), "float", false, "dlogits");
      ARG(dx, out(0), "float", true, "pooled gradient");
      ARG(gW, h.gW, "float", true, "head weight gradient");
      ARG(gb, h.gb, "float", true, "head bias gradient");
      return "tte_head_backward(&" + HeadParams() + ", " + W + ", " + b + ", " + mW + ", " + mb + ", " + opt + ", " +
             x + ", " + g + ", " + dx + ", " + gW + ", " + gb + ");";
    }
    case OpCode::kAvgPoolBackward: {
      if (out(0) < 0) return Internal("codegen: " + error_context_ + ": no output tensor");
      ARG(g, in(0), "float", false, "pooled gradient");
      ARG(dx, out(0), "float", true, "gradient");
      return "tte_avgpool_backward_f32(" + ChannelsAndPlane(P.tensors[out(0)]) + ", " + g + ", " + dx + ");";
    }
    case OpCode::kAddBackward: {
      ARG(g, in(0), "float", true, "gradient");
      ARG(mask, in(1), "uint8_t", false, "mask");
      ARG(gx1, out(0), "float", true, "shortcut gradient");
      ARG(gx2, out(1), "float", true, "branch gradient");
      return "tte_add_backward_f32(&" + AddParams(op.block) + ", " + g + ", " + mask + ", " + gx1 + ", " +
             (op.accumulate ? "1" : "0") + ", " + gx2 + ");";
    }
    case OpCode::kMaskScale: {
      TTE_RETURN_IF_ERROR(need_in0());
      ARG(g, in(0), "float", true, "gradient");
      ARG(mask, in(1), "uint8_t", false, "mask");
      ARG(eff, op.conv >= 0 ? P.convs[op.conv].eff : -1, "float", false, "eff");
      return "tte_mask_scale_f32(" + ChannelsAndPlane(P.tensors[in(0)]) + ", " + g + ", " + mask + ", " + eff + ");";
    }
    case OpCode::kConvBiasGrad: {
      TTE_RETURN_IF_ERROR(need_in0());
      ARG(g, in(0), "float", false, "gradient");
      ARG(db, P.convs[op.conv].grad_b, "float", true, "bias gradient buffer");
      std::string t = "NULL";
      if (fused) {
        TTE_ASSIGN_OR_RETURN(std::string tn, TrainParams(op.conv));
        t = "&" + tn;
      }
      return "tte_conv_bias_grad_f32(" + ChannelsAndPlane(P.tensors[in(0)]) + ", " + g + ", " + db + ", " + opt +
             ", " + t + ");";
    }
    case OpCode::kConvBackwardInput: {
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(op.conv, op.windowed ? &op : nullptr));
      if (op.in_place) {
        ARG(buf, out(0), "float", true, "gradient");
        ARG(scratch, in(1), "float", true, "plane scratch");
        return "tte_conv_dw_backward_input_inplace_f32(&" + cp + ", " + buf + ", " + scratch + ");";
      }
      ARG(g, in(0), "float", false, "gradient");
      ARG(dx, out(0), "float", true, "input gradient");
      return "tte_conv_backward_input_f32(&" + cp + ", " + g + ", " + dx + ", " + (op.accumulate ? "1" : "0") + ");";
    }
    case OpCode::kConvWeightGrad: {
      TTE_ASSIGN_OR_RETURN(std::string cp, ConvParams(op.conv, nullptr));
      const ConvBinding& b = P.convs[op.conv];
      ARG(sel, b.sel, "uint16_t", false, "selection");
      ARG(xs, in(1), "int8_t", false, "saved input");
      ARG(g, in(0), "float", false, "gradient");
      ARG(dw, b.grad_w, "float", true, "weight gradient buffer");
      std::string t = "NULL";
      if (fused) {
        TTE_ASSIGN_OR_RETURN(std::string tn, TrainParams(op.conv));
        t = "&" + tn;
      }
      return "tte_conv_weight_grad_f32(&" + cp + ", " + std::to_string(b.n_train) + ", " + sel + ", " + xs + ", " +
             g + ", " + dw + ", " + opt + ", " + t + ");";
    }
    case OpCode::kApplyUpdate:
      return Unsupported("codegen: " + error_context_ +
                         ": deferred updates (apply ops) are not generated: the device runs fused updates (batch 1)");
  }
#undef ARG
  return Internal("codegen: " + error_context_ + ": unknown op code");
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
  for (size_t i = 0; i < P.ops.size(); ++i) {
    const Op& op = P.ops[i];
    std::string label = "#" + std::to_string(i) + " " + OpCodeName(op.code);
    if (op.conv >= 0 && op.conv < static_cast<int>(P.convs.size())) label += " " + P.convs[op.conv].name;
    if (op.block >= 0) label += " block " + std::to_string(op.block);
    if (op.accumulate) label += " (accumulate)";
    error_context_ = "op " + label;
    if ((op.code == OpCode::kConv || op.code == OpCode::kConvBackwardInput || op.code == OpCode::kConvWeightGrad ||
         op.code == OpCode::kConvBiasGrad || op.code == OpCode::kGatherChannels) &&
        (op.conv < 0 || op.conv >= static_cast<int>(P.convs.size())))
      return Internal("codegen: " + error_context_ + ": no conv binding");
    if ((op.code == OpCode::kAdd || op.code == OpCode::kAddBackward) &&
        (op.block < 0 || op.block >= static_cast<int>(P.adds.size())))
      return Internal("codegen: " + error_context_ + ": no add binding");
    TTE_ASSIGN_OR_RETURN(std::string call, Call(i));
    std::string text = "  /* " + CommentSafe(label) + (op.note.empty() ? "" : ": " + CommentSafe(op.note)) + " */\n";
    if (profile_) text += "  mcu_mark(" + std::to_string(1000 + i) + "u);  /* profile: op " + std::to_string(i) + " */\n";
    text += "  " + call + "\n";
    (i < r.forward_ops ? r.forward : r.backward) += text;
  }
  r.params = params_;
  return r;
}

}  // namespace

Result<EmittedOps> EmitOps(const Program& prog, const TensorNames& names, bool profile_ops) {
  return OpWriter(prog, names, profile_ops).Run();
}

}  // namespace tte::codegen
