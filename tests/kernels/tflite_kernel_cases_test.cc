// TFLite's own int8 kernel outputs (../shared/tflite/kernel-cases: Arm CMSIS-NN's unit-test vectors,
// generated with TFLite's interpreter) reproduced bit for bit by tte's kernels in TTE_REQUANT_TFLITE mode:
// every conv, depthwise (channel multipliers), grouped, fully connected (as a 1x1 conv over [depth, 1, 1]
// and as a conv whose kernel is the whole input), average pool, add, pad and softmax case, and the two
// whole DS-CNN networks end to end (their parameterless layer run as the reshape it is). Conv-like cases
// run through the portable kernels, the host fast paths (host::Conv) and the Cortex-M DSP emulation.
// Layouts: the cases are NHWC / OHWI (depthwise 1HWC), transposed here to tte's CHW / OIHW; batches > 1
// run sample by sample. The one case tte cannot run (fully_connected_w_zp: a non-zero weight zero point,
// which TFLite's int8 spec excludes) is skipped with that reason. The data stay in ../shared (read at run
// time, never copied); the test skips visibly without it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/npy.h"
#include "kernels/conv_case.h"
#include "kernels/host/host_kernels.h"
#include "kernels/tte_kernels.h"
#include "support/test_support.h"

extern "C" void tte_emu_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

namespace tte::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kCases[] = "tflite/kernel-cases";

// One case folder (or one layer folder of a network case): its JSON and its arrays.
struct Case {
  std::string name, dir;
  json j;  // case.json or layer.json["layer"]
  const json& cfg() const { return j.at("config"); }
  int32_t I(const char* key) const { return cfg().at(key).get<int32_t>(); }
  bool Has(const char* key) const { return cfg().contains(key); }
  bool HasArray(const std::string& name) const {
    if (j.at("arrays").contains(name)) return true;
    return j.contains("aliases") && j["aliases"].contains(name) && j["aliases"][name].is_string();
  }
  template <typename T>
  std::vector<T> Array(const std::string& name) const {
    std::string key = name;
    if (!j.at("arrays").contains(key) && j.contains("aliases") && j["aliases"].contains(key)) key = j["aliases"][key];
    const std::string file = j.at("arrays").at(key).at("file").get<std::string>();
    Result<Tensor> t = ReadNpy((fs::path(dir) / file).string());
    EXPECT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    if (!t.ok()) return {};
    const T* d = t->template data<T>();
    return std::vector<T>(d, d + t->numel());
  }
};

json ReadJson(const std::string& path) {
  std::ifstream f(path);
  return json::parse(f);
}

// Every case folder of `kind` (case.json "kind"), by name.
std::vector<Case> CasesOfKind(const std::string& kind) {
  std::vector<Case> out;
  const std::string root = SharedPath(kCases);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "case.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& d : dirs) {
    Case c{d.filename().string(), d.string(), ReadJson((d / "case.json").string())};
    if (c.j.at("kind") == kind) out.push_back(std::move(c));
  }
  return out;
}

// NHWC [h][w][c] <-> CHW [c][h][w].
template <typename T>
std::vector<T> NhwcToChw(const T* x, int32_t h, int32_t w, int32_t c) {
  std::vector<T> y(static_cast<size_t>(h) * w * c);
  for (int32_t i = 0; i < h; ++i)
    for (int32_t j = 0; j < w; ++j)
      for (int32_t k = 0; k < c; ++k) y[(static_cast<size_t>(k) * h + i) * w + j] = x[(static_cast<size_t>(i) * w + j) * c + k];
  return y;
}
template <typename T>
std::vector<T> ChwToNhwc(const T* x, int32_t c, int32_t h, int32_t w) {
  std::vector<T> y(static_cast<size_t>(h) * w * c);
  for (int32_t k = 0; k < c; ++k)
    for (int32_t i = 0; i < h; ++i)
      for (int32_t j = 0; j < w; ++j) y[(static_cast<size_t>(i) * w + j) * c + k] = x[(static_cast<size_t>(k) * h + i) * w + j];
  return y;
}

// The pad after the input that gives `out` outputs (TFLite pads only implicitly: taps past the input are
// skipped), 0 when the input is already long enough.
int32_t PadAfter(int32_t in, int32_t out, int32_t k, int32_t s, int32_t d, int32_t before) {
  return std::max(0, (out - 1) * s + (k - 1) * d + 1 - in - before);
}

// A conv with its parameter arrays, ready to run.
struct Conv {
  tte_conv_params p{};
  std::vector<int8_t> w;  // OIHW
  std::vector<int32_t> bias, mult, shift;
  bool null_bias = false;
  void Bind() {
    p.w.frozen = w.data();
    p.w.n_frozen = p.cin / p.groups;
    p.bias_i32 = null_bias || bias.empty() ? nullptr : bias.data();
    p.mult = mult.data();
    p.shift = shift.data();
    p.requant = TTE_REQUANT_TFLITE;
  }
};

enum class Impl { kPortable, kHost, kDsp };
const char* ImplName(Impl i) { return i == Impl::kPortable ? "portable" : i == Impl::kHost ? "host" : "dsp-emulation"; }
constexpr Impl kImpls[] = {Impl::kPortable, Impl::kHost, Impl::kDsp};

// Runs p on one CHW sample through `impl`; the implementation the host took is appended to *took.
std::vector<int8_t> RunConv(const tte_conv_params& p, const std::vector<int8_t>& x, Impl impl, std::string* took) {
  std::vector<int8_t> y(static_cast<size_t>(p.cout) * p.out.h * p.out.w, 0x55);
  std::vector<uint8_t> mask((y.size() + 7) / 8);
  switch (impl) {
    case Impl::kPortable: tte_conv_s8(&p, x.data(), y.data(), mask.data()); break;
    case Impl::kDsp: tte_emu_conv_s8(&p, x.data(), y.data(), mask.data()); break;
    case Impl::kHost: {
      std::vector<uint8_t> scratch(host::ConvScratchBytes(p));
      if (took) *took = host::ConvImpl(p, scratch.size());
      host::Conv(&p, x.data(), y.data(), mask.data(), host::Scratch{scratch.data(), scratch.size()});
      break;
    }
  }
  return y;
}

// Conv geometry from a conv / depthwise / grouped case config (input_h/w, filter_x/y, ...).
Conv ConvFromCase(const Case& c, const std::string& kind) {
  Conv v;
  tte_conv_params& p = v.p;
  const int32_t in_ch = c.I("in_ch"), out_ch = c.I("out_ch"), kh = c.I("filter_y"), kw = c.I("filter_x");
  p.cin = in_ch;
  p.cout = out_ch;
  p.groups = 1;
  if (kind == "depthwise") {
    p.groups = in_ch;
    p.depthwise = 1;
  } else if (kind == "grouped_conv" && c.Has("filter_ch")) {
    p.groups = in_ch / c.I("filter_ch");
  }
  p.kh = kh;
  p.kw = kw;
  p.sh = c.I("stride_y");
  p.sw = c.I("stride_x");
  p.dh = c.Has("dilation_y") ? c.I("dilation_y") : 1;
  p.dw = c.Has("dilation_x") ? c.I("dilation_x") : 1;
  p.pad_t = c.I("pad_y");
  p.pad_l = c.I("pad_x");
  const int32_t in_h = c.I("input_h"), in_w = c.I("input_w");
  p.pad_b = PadAfter(in_h, c.I("output_h"), kh, p.sh, p.dh, p.pad_t);
  p.pad_r = PadAfter(in_w, c.I("output_w"), kw, p.sw, p.dw, p.pad_l);
  tte_conv_whole(&p, in_h, in_w);
  EXPECT_EQ(p.out.h, c.I("output_h"));
  EXPECT_EQ(p.out.w, c.I("output_w"));
  p.x_zero = -c.I("input_offset");
  p.y_zero = c.I("output_offset");
  p.act_min = c.I("out_activation_min");
  p.act_max = c.I("out_activation_max");
  // Weights: OHWI [out][kh][kw][in/groups] (depthwise 1HWC [1][kh][kw][out]) -> OIHW.
  const std::vector<int8_t> w = c.Array<int8_t>(c.HasArray("weights") ? "weights" : "filter");
  const int32_t ipg = in_ch / p.groups;
  v.w.resize(static_cast<size_t>(out_ch) * ipg * kh * kw);
  for (int32_t o = 0; o < out_ch; ++o)
    for (int32_t i = 0; i < ipg; ++i)
      for (int32_t y = 0; y < kh; ++y)
        for (int32_t x = 0; x < kw; ++x)
          v.w[((static_cast<size_t>(o) * ipg + i) * kh + y) * kw + x] =
              p.depthwise ? w[(static_cast<size_t>(y) * kw + x) * out_ch + o]
                          : w[((static_cast<size_t>(o) * kh + y) * kw + x) * ipg + i];
  const std::string bias_name = c.HasArray("biases") ? "biases" : "bias";
  if (c.HasArray(bias_name)) v.bias = c.Array<int32_t>(bias_name);
  v.mult = c.Array<int32_t>("output_mult");
  v.shift = c.Array<int32_t>("output_shift");
  v.Bind();
  return v;
}

// Runs a conv case sample by sample through every implementation; returns the number of outputs compared.
size_t CheckConv(const Case& c, Conv& v, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
                 const std::vector<int8_t>& input, const std::vector<int8_t>& ref) {
  const tte_conv_params& p = v.p;
  const size_t in_n = static_cast<size_t>(in_h) * in_w * in_c, out_n = static_cast<size_t>(p.cout) * p.out.h * p.out.w;
  EXPECT_EQ(input.size(), in_n * batches) << c.name;
  EXPECT_EQ(ref.size(), out_n * batches) << c.name;
  if (input.size() != in_n * batches || ref.size() != out_n * batches) return 0;
  size_t compared = 0;
  for (int32_t b = 0; b < batches; ++b) {
    const std::vector<int8_t> x = NhwcToChw(input.data() + b * in_n, in_h, in_w, in_c);
    for (Impl impl : kImpls) {
      std::string took;
      const std::vector<int8_t> y = ChwToNhwc(RunConv(p, x, impl, &took).data(), p.cout, p.out.h, p.out.w);
      const int64_t d = FirstBitDifference(ref.data() + b * out_n, y.data(), 1, out_n);
      EXPECT_EQ(d, -1) << c.name << " batch " << b << " " << ImplName(impl) << (took.empty() ? "" : " (" + took + ")")
                       << ": output " << d << " is " << (d >= 0 ? int(y[d]) : 0) << ", TFLite "
                       << (d >= 0 ? int(ref[b * out_n + d]) : 0);
      compared += out_n;
    }
  }
  return compared;
}

class TfliteKernelCases : public ::testing::Test {
 protected:
  void SetUp() override { TTE_REQUIRE_SHARED(kCases); }
};

void RunConvKind(const std::string& kind) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind(kind)) {
    SCOPED_TRACE(c.name);
    Conv v = ConvFromCase(c, kind);
    const int32_t batches = c.I("input_batches");
    CheckConv(c, v, batches, c.I("input_h"), c.I("input_w"), c.I("in_ch"), c.Array<int8_t>("input"),
              c.Array<int8_t>("output_ref"));
    // An all-zero bias is what CMSIS-NN passes as NULL: the same outputs without a bias.
    if (!v.bias.empty() && std::all_of(v.bias.begin(), v.bias.end(), [](int32_t b) { return b == 0; })) {
      v.null_bias = true;
      v.Bind();
      CheckConv(c, v, batches, c.I("input_h"), c.I("input_w"), c.I("in_ch"), c.Array<int8_t>("input"),
                c.Array<int8_t>("output_ref"));
    }
    ++cases;
  }
  EXPECT_GT(cases, 0u) << "no " << kind << " case found";
  std::printf("[ cases    ] %zu %s cases bit-exact (portable, host, DSP emulation)\n", cases, kind.c_str());
}

TEST_F(TfliteKernelCases, Conv) { RunConvKind("conv"); }
TEST_F(TfliteKernelCases, Depthwise) { RunConvKind("depthwise"); }
TEST_F(TfliteKernelCases, GroupedConv) { RunConvKind("grouped_conv"); }

// Fully connected: weights [out][depth] over the NHWC-flattened input; as a 1x1 conv over [depth, 1, 1],
// and (input larger than 1x1) as a conv whose kernel is the whole H x W input.
TEST_F(TfliteKernelCases, FullyConnected) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind("fully_connected")) {
    SCOPED_TRACE(c.name);
    if (c.Has("filter_offset") && c.I("filter_offset") != 0) {
      std::printf("[ SKIPPED  ] %s: weight zero point %d; TFLite's int8 spec requires symmetric weights (zero "
                  "point 0), which tte's kernels assume\n",
                  c.name.c_str(), -c.I("filter_offset"));
      continue;
    }
    const int32_t out = c.I("out_ch"), h = c.I("input_h"), w = c.I("input_w");
    const int32_t depth = c.Has("accumulation_depth") ? c.I("accumulation_depth") : c.I("in_ch");
    const int32_t ch = depth / (h * w);
    const int32_t batches = c.Has("input_batches") ? c.I("input_batches") : 1;
    const std::vector<int8_t> wt = c.Array<int8_t>("weights"), input = c.Array<int8_t>("input");
    const std::vector<int8_t> ref = c.Array<int8_t>("output_ref");
    for (int form = 0; form < (h * w > 1 ? 2 : 1); ++form) {
      Conv v;
      tte_conv_params& p = v.p;
      p.cout = out;
      p.groups = 1;
      p.kh = p.kw = p.sh = p.sw = p.dh = p.dw = 1;
      if (form == 0) {  // [depth, 1, 1]
        p.cin = depth;
        v.w = wt;
        tte_conv_whole(&p, 1, 1);
      } else {  // [C, H, W], kernel H x W: OIHW [o][c][y][x] = W[o][(y*w + x)*C + c]
        p.cin = ch;
        p.kh = h;
        p.kw = w;
        v.w.resize(wt.size());
        for (int32_t o = 0; o < out; ++o)
          for (int32_t k = 0; k < ch; ++k)
            for (int32_t y = 0; y < h; ++y)
              for (int32_t x = 0; x < w; ++x)
                v.w[((static_cast<size_t>(o) * ch + k) * h + y) * w + x] = wt[static_cast<size_t>(o) * depth + (y * w + x) * ch + k];
        tte_conv_whole(&p, h, w);
      }
      p.x_zero = -c.I("input_offset");
      p.y_zero = c.I("output_offset");
      p.act_min = c.I("out_activation_min");
      p.act_max = c.I("out_activation_max");
      if (c.HasArray("biases") || c.HasArray("bias")) v.bias = c.Array<int32_t>(c.HasArray("biases") ? "biases" : "bias");
      if (c.Has("output_multiplier")) {  // per tensor
        v.mult.assign(static_cast<size_t>(out), c.I("output_multiplier"));
        v.shift.assign(static_cast<size_t>(out), c.I("output_shift"));
      } else {
        v.mult = c.Array<int32_t>("output_multiplier");
        v.shift = c.Array<int32_t>("output_shift");
      }
      v.Bind();
      if (form == 0)
        CheckConv(c, v, batches, 1, 1, depth, input, ref);
      else
        CheckConv(c, v, batches, h, w, ch, input, ref);
    }
    ++cases;
  }
  EXPECT_GT(cases, 0u);
  std::printf("[ cases    ] %zu fully connected cases bit-exact\n", cases);
}

TEST_F(TfliteKernelCases, AvgPool) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind("avgpool")) {
    SCOPED_TRACE(c.name);
    tte_pool_params p{};
    p.c = c.I("input_c");
    p.in_h = c.I("input_h");
    p.in_w = c.I("input_w");
    p.out_h = c.I("output_h");
    p.out_w = c.I("output_w");
    p.kh = c.I("filter_h");
    p.kw = c.I("filter_w");
    p.sh = c.I("stride_h");
    p.sw = c.I("stride_w");
    p.pad_t = c.I("padding_h");
    p.pad_l = c.I("padding_w");
    p.act_min = c.I("activation_min");
    p.act_max = c.I("activation_max");
    p.requant = TTE_REQUANT_TFLITE;
    const int32_t batches = c.I("batch_size");
    const std::vector<int8_t> input = c.Array<int8_t>("input_tensor"), ref = c.Array<int8_t>("output");
    const size_t in_n = static_cast<size_t>(p.c) * p.in_h * p.in_w, out_n = static_cast<size_t>(p.c) * p.out_h * p.out_w;
    ASSERT_EQ(input.size(), in_n * batches);
    ASSERT_EQ(ref.size(), out_n * batches);
    for (int32_t b = 0; b < batches; ++b) {
      const std::vector<int8_t> x = NhwcToChw(input.data() + b * in_n, p.in_h, p.in_w, p.c);
      std::vector<int8_t> y(out_n);
      std::vector<uint8_t> mask((out_n + 7) / 8);
      tte_avgpool2d_s8(&p, x.data(), y.data(), mask.data());
      EXPECT_EQ(ChwToNhwc(y.data(), p.c, p.out_h, p.out_w), std::vector<int8_t>(ref.begin() + b * out_n, ref.begin() + (b + 1) * out_n))
          << c.name << " batch " << b;
    }
    ++cases;
  }
  EXPECT_GT(cases, 0u);
}

TEST_F(TfliteKernelCases, Add) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind("add")) {
    SCOPED_TRACE(c.name);
    const std::vector<int8_t> x1 = c.Array<int8_t>("input1"), x2 = c.Array<int8_t>("input2");
    const std::vector<int8_t> ref = c.Array<int8_t>("output_ref");
    tte_add_params p{};
    p.n = c.I("dst_size");
    p.z1 = -c.I("input1_offset");
    p.z2 = -c.I("input2_offset");
    p.zy = c.I("output_offset");
    p.act_min = c.I("out_activation_min");
    p.act_max = c.I("out_activation_max");
    p.requant = TTE_REQUANT_TFLITE;
    p.left_shift = c.I("left_shift");
    p.mult1 = c.I("input1_mult");
    p.shift1 = c.I("input1_shift");
    p.mult2 = c.I("input2_mult");
    p.shift2 = c.I("input2_shift");
    p.mult_out = c.I("output_mult");
    p.shift_out = c.I("output_shift");
    ASSERT_EQ(x1.size(), static_cast<size_t>(p.n));
    std::vector<int8_t> y(static_cast<size_t>(p.n));
    tte_add_s8(&p, x1.data(), x2.data(), y.data(), nullptr);
    EXPECT_EQ(y, ref);
    ++cases;
  }
  EXPECT_GT(cases, 0u);
}

TEST_F(TfliteKernelCases, Pad) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind("pad")) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.I("input_n"), 1);
    ASSERT_EQ(c.I("pre_pad_n") + c.I("post_pad_n"), 0);
    tte_pad_params p{};
    p.c = c.I("input_c");
    p.h = c.I("input_h");
    p.w = c.I("input_w");
    p.pad_c[0] = c.I("pre_pad_c");
    p.pad_c[1] = c.I("post_pad_c");
    p.pad_h[0] = c.I("pre_pad_h");
    p.pad_h[1] = c.I("post_pad_h");
    p.pad_w[0] = c.I("pre_pad_w");
    p.pad_w[1] = c.I("post_pad_w");
    p.value = c.I("pad_value");
    const int32_t oc = p.c + p.pad_c[0] + p.pad_c[1], oh = p.h + p.pad_h[0] + p.pad_h[1], ow = p.w + p.pad_w[0] + p.pad_w[1];
    const std::vector<int8_t> input = c.Array<int8_t>("input_tensor"), ref = c.Array<int8_t>("output");
    const std::vector<int8_t> x = NhwcToChw(input.data(), p.h, p.w, p.c);
    std::vector<int8_t> y(static_cast<size_t>(oc) * oh * ow);
    tte_pad_s8(&p, x.data(), y.data());
    EXPECT_EQ(ChwToNhwc(y.data(), oc, oh, ow), ref);
    ++cases;
  }
  EXPECT_GT(cases, 0u);
}

TEST_F(TfliteKernelCases, Softmax) {
  size_t cases = 0;
  for (const Case& c : CasesOfKind("softmax")) {
    SCOPED_TRACE(c.name);
    tte_softmax_params p{};
    p.n = c.I("row_size");
    p.input_mult = c.I("input_mult");
    p.input_shift = c.I("input_left_shift");
    p.diff_min = c.I("diff_min");
    const std::vector<int8_t> x = c.Array<int8_t>("input"), ref = c.Array<int8_t>("output_ref");
    std::vector<int8_t> y(x.size());
    for (int32_t r = 0; r < c.I("num_rows"); ++r) tte_softmax_s8(&p, x.data() + r * p.n, y.data() + r * p.n);
    EXPECT_EQ(y, ref);
    ++cases;
  }
  EXPECT_GT(cases, 0u);
}

// A whole DS-CNN (the case's layers in order on one CHW activation), through one conv implementation.
std::vector<int8_t> RunDsCnn(const std::string& name, Impl impl, std::string* trace) {
  const fs::path root = fs::path(SharedPath(kCases)) / name;
  const json top = ReadJson((root / "case.json").string());
  Result<Tensor> input = ReadNpy((root / "input.npy").string());
  EXPECT_TRUE(input.ok()) << input.status().ToString();
  if (!input.ok()) return {};
  std::vector<int8_t> act(input->data<int8_t>(), input->data<int8_t>() + input->numel());
  int32_t c = 0, h = 0, w = 0;  // current CHW shape (0: still the network input)
  for (const json& entry : top.at("layers")) {
    const std::string dir = entry.is_string() ? entry.get<std::string>() : entry.at("dir").get<std::string>();
    Case l{dir, (root / dir).string(), ReadJson((root / dir / "layer.json").string()).at("layer")};
    const std::string kind = l.j.at("kind");
    *trace += " " + dir;
    if (kind == "conv" || kind == "depthwise") {
      if (c == 0) {  // the network input, NHWC = HWC
        c = l.I("in_ch");
        h = l.I("input_h");
        w = l.I("input_w");
        act = NhwcToChw(act.data(), h, w, c);
      }
      Conv v = ConvFromCase(l, kind);
      EXPECT_EQ(v.p.cin, c);
      act = RunConv(v.p, act, impl, nullptr);
      c = v.p.cout;
      h = v.p.out.h;
      w = v.p.out.w;
    } else if (kind == "avgpool") {
      tte_pool_params p{};
      p.c = c;
      p.in_h = h;
      p.in_w = w;
      p.out_h = l.I("output_h");
      p.out_w = l.I("output_w");
      p.kh = l.I("filter_y");
      p.kw = l.I("filter_x");
      p.sh = l.I("stride_y");
      p.sw = l.I("stride_x");
      p.pad_t = l.I("pad_y");
      p.pad_l = l.I("pad_x");
      p.act_min = l.I("out_activation_min");
      p.act_max = l.I("out_activation_max");
      p.requant = TTE_REQUANT_TFLITE;
      std::vector<int8_t> y(static_cast<size_t>(c) * p.out_h * p.out_w);
      tte_avgpool2d_s8(&p, act.data(), y.data(), nullptr);
      act = y;
      h = p.out_h;
      w = p.out_w;
      // The next layer (without headers) is a reshape to [1, C]: on [C, 1, 1] data the NHWC order is C.
      std::vector<int8_t> r(act.size());
      tte_reshape_hwc_s8(c, h, w, c * h * w, 1, 1, act.data(), r.data());
      act = r;
      c = c * h * w;
      h = w = 1;
    } else if (kind == "fully_connected") {
      // The config's shape fields are copied from neighbouring layers (README): the arrays give the truth.
      Conv v;
      v.w = l.Array<int8_t>("weights");
      v.bias = l.Array<int32_t>("bias");
      const int32_t out = static_cast<int32_t>(v.bias.size());
      EXPECT_EQ(v.w.size(), static_cast<size_t>(out) * c);
      v.p.cin = c;
      v.p.cout = out;
      v.p.groups = 1;
      v.p.kh = v.p.kw = v.p.sh = v.p.sw = v.p.dh = v.p.dw = 1;
      tte_conv_whole(&v.p, 1, 1);
      v.p.x_zero = -l.I("input_offset");
      v.p.y_zero = l.I("output_offset");
      v.p.act_min = l.I("out_activation_min");
      v.p.act_max = l.I("out_activation_max");
      v.mult.assign(static_cast<size_t>(out), l.I("output_multiplier"));
      v.shift.assign(static_cast<size_t>(out), l.I("output_shift"));
      v.Bind();
      act = RunConv(v.p, act, impl, nullptr);
      c = out;
    } else if (kind == "softmax") {
      tte_softmax_params p{};
      p.n = c;
      p.input_mult = l.I("mult");
      p.input_shift = l.I("shift");
      p.diff_min = l.I("diff_min");
      std::vector<int8_t> y(act.size());
      tte_softmax_s8(&p, act.data(), y.data());
      act = y;
    } else {
      ADD_FAILURE() << name << ": layer " << dir << " of unknown kind " << kind;
    }
  }
  return act;
}

void CheckDsCnn(const std::string& name) {
  const fs::path root = fs::path(SharedPath(kCases)) / name;
  Result<Tensor> ref = ReadNpy((root / "output_ref.npy").string());
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const std::vector<int8_t> want(ref->data<int8_t>(), ref->data<int8_t>() + ref->numel());
  for (Impl impl : kImpls) {
    std::string trace;
    EXPECT_EQ(RunDsCnn(name, impl, &trace), want) << name << " through " << ImplName(impl) << ", layers" << trace;
  }
}

TEST_F(TfliteKernelCases, DsCnnSEndToEnd) { CheckDsCnn("ds_cnn_s"); }
TEST_F(TfliteKernelCases, DsCnnLEndToEnd) { CheckDsCnn("ds_cnn_l"); }

}  // namespace
}  // namespace tte::testing
