// Patch-based forward rewrite (see patch_forward.h).
#include "compiler/patch_forward.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tte {
namespace {

// Index (into prog.ops) of the forward chain's ops, from the image, as long as they are patchable.
std::vector<size_t> PatchableChain(const Program& p) {
  std::vector<size_t> chain;
  int cur = p.input;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    if (op.phase != Phase::kForward || op.code != OpCode::kConv || op.in_place || op.windowed) break;
    if (op.ins.size() != 1 || op.ins[0] != cur || op.outs.size() != 1) break;  // masked or not a chain
    const ConvBinding& b = p.convs[op.conv];
    if (b.train_bias || b.train_weight) break;
    // The input of this conv may only be read by this op (and, for the image, nothing else either).
    bool other_reader = false;
    for (size_t j = 0; j < p.ops.size(); ++j)
      if (j != i)
        for (int id : p.ops[j].ins) other_reader |= (id == cur);
    if (other_reader) break;
    chain.push_back(i);
    cur = op.outs[0];
  }
  return chain;
}

// The input rows/columns a conv reads for an output window (clipped to the input: the rest is padding).
Window InputWindow(const ConvBinding& b, const Window& out) {
  Window in;
  int y0 = out.y0 * b.sh - b.pad_t, y1 = (out.y0 + out.h - 1) * b.sh - b.pad_t + (b.kh - 1) * b.dh + 1;
  int x0 = out.x0 * b.sw - b.pad_l, x1 = (out.x0 + out.w - 1) * b.sw - b.pad_l + (b.kw - 1) * b.dw + 1;
  in.y0 = std::max(0, y0);
  in.x0 = std::max(0, x0);
  in.h = std::min(b.in_h, y1) - in.y0;
  in.w = std::min(b.in_w, x1) - in.x0;
  return in;
}

int64_t ConvMacs(const ConvBinding& b, const Window& out) {
  return out.area() * b.cout * (b.cin / b.groups) * b.kh * b.kw;
}

}  // namespace

int LastPatchableConv(const Program& p) {
  std::vector<size_t> chain = PatchableChain(p);
  return chain.empty() ? -1 : p.ops[chain.back()].conv;
}

Result<PatchStats> ApplyPatchForward(Program* prog, int split_conv, int grid) {
  Program& P = *prog;
  if (grid < 1 || grid > 16) return InvalidArgument("patch grid must be in 1..16");
  std::vector<size_t> chain = PatchableChain(P);
  size_t len = 0;
  while (len < chain.size() && P.ops[chain[len]].conv != split_conv) ++len;
  if (len == chain.size())
    return InvalidArgument("conv " + std::to_string(split_conv) + " cannot end a patch stage (the frozen prefix ends at conv " +
                           std::to_string(LastPatchableConv(P)) + ")");
  chain.resize(len + 1);
  PatchStats st;
  st.grid = grid;
  st.split_conv = split_conv;
  st.ops_replaced = static_cast<int>(chain.size());
  const int S = P.ops[chain.back()].outs[0];
  const ConvBinding& last = P.convs[split_conv];
  const int H = last.out_h, W = last.out_w;
  if (grid > H || grid > W)
    return InvalidArgument("patch grid " + std::to_string(grid) + " exceeds the split tensor's " + std::to_string(H) + " x " +
                           std::to_string(W) + " pixels");
  std::vector<Op> stage;
  for (size_t k : chain) {
    const ConvBinding& b = P.convs[P.ops[k].conv];
    st.macs_before += ConvMacs(b, Window{0, 0, b.out_h, b.out_w});
  }
  for (int ty = 0; ty < grid; ++ty) {
    for (int tx = 0; tx < grid; ++tx) {
      // Windows of every tensor of the chain for this tile, from S back to the image.
      std::vector<Window> win(chain.size() + 1);  // win[k] = output window of chain op k; win[-1] input
      Window tile{ty * H / grid, tx * W / grid, (ty + 1) * H / grid - ty * H / grid, (tx + 1) * W / grid - tx * W / grid};
      std::vector<Window> out_win(chain.size());
      out_win.back() = tile;
      for (size_t k = chain.size(); k-- > 1;) out_win[k - 1] = InputWindow(P.convs[P.ops[chain[k]].conv], out_win[k]);
      const std::string tag = "@p" + std::to_string(ty) + "," + std::to_string(tx);
      int x = P.input;
      Window x_buf{0, 0, P.convs[P.ops[chain[0]].conv].in_h, P.convs[P.ops[chain[0]].conv].in_w};
      for (size_t k = 0; k < chain.size(); ++k) {
        const Op& orig = P.ops[chain[k]];
        const ConvBinding& b = P.convs[orig.conv];
        int y;
        Window y_buf;
        if (k + 1 == chain.size()) {
          y = S;
          y_buf = Window{0, 0, b.out_h, b.out_w};
        } else {
          TensorInfo t;
          t.name = P.tensors[orig.outs[0]].name + tag;
          t.dtype = DType::kInt8;
          t.shape = {b.cout, out_win[k].h, out_win[k].w};
          y = P.AddTensor(t);
          y_buf = out_win[k];
        }
        Op op(OpCode::kConv);
        op.conv = orig.conv;
        op.ins = {x};
        op.outs = {y};
        op.windowed = true;
        op.windows = ConvWindows{x_buf, out_win[k], y_buf};
        op.note = "patch " + std::to_string(ty * grid + tx + 1) + "/" + std::to_string(grid * grid) + ": output rows " +
                  std::to_string(out_win[k].y0) + ".." + std::to_string(out_win[k].y0 + out_win[k].h - 1) + ", cols " +
                  std::to_string(out_win[k].x0) + ".." + std::to_string(out_win[k].x0 + out_win[k].w - 1);
        stage.push_back(op);
        st.macs_after += ConvMacs(b, out_win[k]);
        x = y;
        x_buf = y_buf;
      }
    }
  }
  std::vector<Op> ops(stage.begin(), stage.end());
  for (size_t i = chain.back() + 1; i < P.ops.size(); ++i) ops.push_back(P.ops[i]);
  P.ops = std::move(ops);
  return st;
}

}  // namespace tte
