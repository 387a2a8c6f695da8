// Host-vs-portable kernel tester (see host_kernel_tester.h).
#include "kernels/host_kernel_tester.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels/host/host_kernels.h"

namespace tte::testing {
namespace {

// Scratch for a host call: `bytes` usable bytes at a deliberately odd address, filled with garbage.
struct OddScratch {
  explicit OddScratch(size_t bytes) : storage(bytes + 3, 0xCD) {}
  host::Scratch get() { return host::Scratch{storage.data() + 3, storage.size() - 3}; }
  std::vector<uint8_t> storage;
};

template <typename T>
std::string Compare(const char* what, const std::vector<T>& ref, const std::vector<T>& got) {
  const int64_t i = FirstBitDifference(ref.data(), got.data(), sizeof(T), ref.size());
  if (i < 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << what << "[" << i << "] of " << ref.size() << ": portable = ";
  if constexpr (std::is_floating_point_v<T>)
    os << ref[i] << ", host = " << got[i];
  else
    os << static_cast<int64_t>(ref[i]) << ", host = " << static_cast<int64_t>(got[i]);
  return os.str();
}

void FillBytes(std::mt19937& rng, std::vector<uint8_t>* v) {
  for (uint8_t& b : *v) b = static_cast<uint8_t>(rng());
}

}  // namespace

const char* UpdateModeName(UpdateMode m) {
  switch (m) {
    case UpdateMode::kBuffer: return "buffer";
    case UpdateMode::kMaster: return "master";
    case UpdateMode::kMasterMomentum: return "master+momentum";
    case UpdateMode::kDeviceNearest: return "device-nearest";
    case UpdateMode::kDeviceStochastic: return "device-stochastic";
    case UpdateMode::kDeviceStochasticMomentum: return "device-stochastic+momentum";
  }
  return "?";
}

std::string HostKernelTester::CheckImpl(const char* impl) const {
  if (expect_impl_.empty() || std::string(host::HostIsa()) != "avx2" || expect_impl_ == impl) return "";
  return "expected the host to take " + expect_impl_ + ", it took " + impl;
}

std::string HostKernelTester::TestForward(std::mt19937& rng) const {
  ConvCase c(spec_, rng);
  const size_t n = c.out_elems();
  std::vector<uint8_t> garbage(n + 8);
  FillBytes(rng, &garbage);
  std::vector<int8_t> y_ref(n), y_host(n);
  std::memcpy(y_ref.data(), garbage.data(), n);
  std::memcpy(y_host.data(), garbage.data(), n);
  std::vector<uint8_t> m_ref((n + 7) / 8), m_host((n + 7) / 8);
  FillBytes(rng, &m_ref);
  m_host = m_ref;
  OddScratch scratch(host::ConvScratchBytes(c.params));
  if (std::string e = CheckImpl(host::ConvImpl(c.params, scratch.get().bytes)); !e.empty()) return e;
  tte_conv_s8(&c.params, c.x.data(), y_ref.data(), mask_ ? m_ref.data() : nullptr);
  host::Conv(&c.params, c.x.data(), y_host.data(), mask_ ? m_host.data() : nullptr, scratch.get());
  std::string e = Compare("y", y_ref, y_host);
  if (e.empty()) e = Compare("mask byte", m_ref, m_host);
  return e;
}

std::string HostKernelTester::TestBackwardInput(std::mt19937& rng) const {
  ConvCase c(spec_, rng);
  std::vector<float> g(c.out_elems()), dx_ref(c.in_elems());
  FillGradient(rng, &g);
  if (non_finite_ && !g.empty())
    g[std::uniform_int_distribution<size_t>(0, g.size() - 1)(rng)] = std::numeric_limits<float>::infinity();
  FillGradient(rng, &dx_ref);
  std::vector<float> dx_host = dx_ref;
  OddScratch scratch(host::ConvBackwardInputScratchBytes(c.params));
  if (std::string e = CheckImpl(host::ConvBackwardInputImpl(c.params, scratch.get().bytes)); !e.empty()) return e;
  tte_conv_backward_input_f32(&c.params, g.data(), dx_ref.data(), accumulate_);
  host::ConvBackwardInput(&c.params, g.data(), dx_host.data(), accumulate_, scratch.get());
  return Compare("dx", dx_ref, dx_host);
}

std::string HostKernelTester::TestForwardInPlace(std::mt19937& rng) const {
  ConvCase c(spec_, rng);
  const size_t n = c.out_elems();
  std::vector<int8_t> y_ref(n);
  std::vector<uint8_t> m_ref((n + 7) / 8);
  FillBytes(rng, &m_ref);
  std::vector<uint8_t> m_host = m_ref;
  std::vector<int8_t> buf = c.x;
  buf.resize(std::max(n, c.in_elems()));
  OddScratch scratch(host::ConvScratchBytes(c.params));
  tte_conv_s8(&c.params, c.x.data(), y_ref.data(), mask_ ? m_ref.data() : nullptr);
  const bool fast = host::ConvDepthwiseInPlace(&c.params, buf.data(), mask_ ? m_host.data() : nullptr, scratch.get());
  if (!expect_impl_.empty() && std::string(host::HostIsa()) == "avx2" && fast != (expect_impl_ != "portable"))
    return std::string("in-place fast path ") + (fast ? "taken" : "declined") + ", expected " + expect_impl_;
  if (!fast) return "";  // the caller runs the portable in-place kernel: nothing to compare
  buf.resize(n);
  std::string e = Compare("y", y_ref, buf);
  if (e.empty()) e = Compare("mask byte", m_ref, m_host);
  return e;
}

std::string HostKernelTester::TestBackwardInputInPlace(std::mt19937& rng) const {
  ConvCase c(spec_, rng);
  std::vector<float> g(c.out_elems()), dx_ref(c.in_elems());
  FillGradient(rng, &g);
  FillGradient(rng, &dx_ref);
  OddScratch scratch(host::ConvBackwardInputScratchBytes(c.params));
  tte_conv_backward_input_f32(&c.params, g.data(), dx_ref.data(), 0);
  std::vector<float> buf = g;
  const bool fast = host::ConvDepthwiseBackwardInputInPlace(&c.params, buf.data(), scratch.get());
  if (!expect_impl_.empty() && std::string(host::HostIsa()) == "avx2" && fast != (expect_impl_ != "portable"))
    return std::string("in-place fast path ") + (fast ? "taken" : "declined") + ", expected " + expect_impl_;
  if (!fast) return "";
  return Compare("dx", dx_ref, buf);
}

namespace {

// Everything a weight-gradient call may modify, so that both runs start from identical copies.
struct TrainState {
  std::vector<float> dw, w_master, w_mom;
  std::vector<int8_t> w;
  uint32_t rng_state = 1;
};

}  // namespace

std::string HostKernelTester::TestWeightGrad(std::mt19937& rng) const {
  ConvCase c(spec_, rng);
  const ConvSpec& s = c.spec();
  const tte_conv_params& p = c.params;
  const int32_t kk = s.kk(), S = s.selection_channels();
  // A random selection (random order) of 1..S channels, and their saved input planes.
  std::vector<uint16_t> sel(static_cast<size_t>(S));
  for (int32_t i = 0; i < S; ++i) sel[i] = static_cast<uint16_t>(i);
  std::shuffle(sel.begin(), sel.end(), rng);
  sel.resize(std::uniform_int_distribution<size_t>(1, sel.size())(rng));
  const int32_t n = static_cast<int32_t>(sel.size());
  const size_t in_plane = static_cast<size_t>(s.h) * s.w, out_plane = static_cast<size_t>(s.out_h()) * s.out_w();
  std::vector<int8_t> xs(static_cast<size_t>(n) * in_plane);
  for (int8_t& v : xs) v = static_cast<int8_t>(std::uniform_int_distribution<int32_t>(-128, 127)(rng));
  std::vector<float> g(c.out_elems());
  FillGradient(rng, &g);
  // An infinity in a gradient plane that is read (depthwise: a selected channel's).
  if (non_finite_) g[(s.depthwise() ? static_cast<size_t>(sel[0]) : 0) * out_plane] = -std::numeric_limits<float>::infinity();

  const size_t slice = s.depthwise() ? static_cast<size_t>(n) * kk : static_cast<size_t>(s.cout) * n * kk;
  const bool fused = update_ != UpdateMode::kBuffer;
  const bool master = update_ == UpdateMode::kMaster || update_ == UpdateMode::kMasterMomentum;
  const bool momentum = update_ == UpdateMode::kMasterMomentum || update_ == UpdateMode::kDeviceStochasticMomentum;
  TrainState init;
  init.dw.resize(slice);
  FillGradient(rng, &init.dw);
  init.w.resize(slice);
  for (int8_t& v : init.w) v = static_cast<int8_t>(std::uniform_int_distribution<int32_t>(-128, 127)(rng));
  init.w_master.resize(slice);
  for (float& v : init.w_master) v = std::uniform_real_distribution<float>(-140.0f, 140.0f)(rng);
  if (momentum) {
    init.w_mom.resize(slice);
    FillGradient(rng, &init.w_mom);
  }
  init.rng_state = static_cast<uint32_t>(rng()) | 1u;
  // QAS divisors of the order of the gradients, so that updates are O(1) int8 steps.
  std::vector<float> qas(static_cast<size_t>(s.cout));
  const float typical = 74.0f * std::sqrt(static_cast<float>(out_plane)) * 2.0f;
  for (float& q : qas) q = typical * std::exp2(std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng));
  const float lr = std::exp2(std::uniform_real_distribution<float>(-1.0f, 2.0f)(rng));
  const float grad_scale = std::bernoulli_distribution(0.5)(rng) ? 1.0f : 0.25f;

  OddScratch scratch(host::ConvScratchBytes(p));
  if (std::string e = CheckImpl(host::ConvWeightGradImpl(p, n, scratch.get().bytes)); !e.empty()) return e;

  auto run = [&](bool use_host, TrainState* st) {
    tte_sgd opt{};
    opt.lr = lr;
    opt.momentum = momentum ? 0.9f : 0.0f;
    opt.store = master ? TTE_STORE_MASTER : TTE_STORE_DEVICE;
    opt.rounding = update_ == UpdateMode::kDeviceNearest ? TTE_ROUND_NEAREST : TTE_ROUND_STOCHASTIC;
    opt.rng = &st->rng_state;
    opt.grad_scale = grad_scale;
    tte_conv_train t{};
    t.cout = s.cout;
    t.n_train = n;
    t.kk = kk;
    t.depthwise = s.depthwise();
    t.sel = sel.data();
    t.qas_w = qas.data();
    t.qas_b = qas.data();
    t.w = st->w.data();
    t.w_master = master ? st->w_master.data() : nullptr;
    t.w_mom = momentum ? st->w_mom.data() : nullptr;
    const tte_sgd* o = fused ? &opt : nullptr;
    const tte_conv_train* tp = fused ? &t : nullptr;
    if (use_host)
      host::ConvWeightGrad(&p, n, sel.data(), xs.data(), g.data(), st->dw.data(), o, tp, scratch.get());
    else
      tte_conv_weight_grad_f32(&p, n, sel.data(), xs.data(), g.data(), st->dw.data(), o, tp);
  };
  TrainState ref = init, got = init;
  run(false, &ref);
  run(true, &got);
  std::string e = Compare("dw", ref.dw, got.dw);
  if (e.empty()) e = Compare("w", ref.w, got.w);
  if (e.empty()) e = Compare("w_master", ref.w_master, got.w_master);
  if (e.empty()) e = Compare("w_mom", ref.w_mom, got.w_mom);
  if (e.empty() && ref.rng_state != got.rng_state) e = "stochastic-rounding state differs";
  if (!e.empty()) e += std::string(" (update ") + UpdateModeName(update_) + ", n=" + std::to_string(n) + ")";
  return e;
}

}  // namespace tte::testing
