// Host fast paths: conv input gradients (fp32) for pointwise and depthwise convs, whole tensors.
// Bit-identical to conv_bwd.c tte_conv_backward_input_f32().
//
// The portable order for each dx element is: acc = 0; for o ascending, kh, kw: acc += (float)w * g
// (a multiplication, then an addition: no FMA); dx = accumulate ? dx + acc : acc. The fast paths keep
// exactly this sequence of IEEE operations per element and vectorize only across dx elements:
//   pointwise: 4 input channels x 3 vectors of pixels per tile; o ascending is the inner loop of every
//              tile, so each lane sees the portable order (weights re-packed per call as fp32 [i][o]).
//   depthwise: (multiplier 1, no dilation, pad_t <= kh - 1, pad_l <= kw - 1, strides 1 or 2) the transposed
//              conv as a stride-1 correlation over a zero-padded, zero-inserted gradient plane Gq
//              (g[ho][wo] at row Tr + sh*ho, column Tc + sw*wo, Tr = kh - 1 - pad_t, Tc = kw - 1 - pad_l),
//              flattened so that every tap (kh, kw) is one constant offset; taps run kh, kw ascending for
//              every lane. A tap the portable kernel skips (out of range, or not on the stride grid) reads
//              a zero: acc + w*0 == acc exactly, because w is finite (int8), so w*0 is +-0, and acc is
//              never -0 (it starts at +0, and x + y is -0 only if both are -0). Stride 2 therefore costs
//              up to 4x the taps of the portable kernel but stays exact.
#include <algorithm>
#include <cstring>

#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {
namespace {

constexpr int kMi = 4;  // input channels per pointwise tile

struct DwGeom {
  int32_t kh = 0, kw = 0, sh = 1, sw = 1, h = 0, w = 0, oh = 0, ow = 0, tr = 0, tc = 0;
  size_t qw = 0, qh = 0, nvp = 0, plane = 0;
};

DwGeom MakeDwGeom(const tte_conv_params& p) {
  DwGeom g;
  g.kh = p.kh;
  g.kw = p.kw;
  g.sh = p.sh;
  g.sw = p.sw;
  g.h = p.in_h;
  g.w = p.in_w;
  g.oh = p.out.h;
  g.ow = p.out.w;
  g.tr = p.kh - 1 - p.pad_t;
  g.tc = p.kw - 1 - p.pad_l;
  const size_t kh1 = static_cast<size_t>(p.kh - 1), kw1 = static_cast<size_t>(p.kw - 1);
  g.qw = static_cast<size_t>(p.in_w) + kw1;
  g.qh = static_cast<size_t>(p.in_h) + kh1;
  g.nvp = RoundUp((static_cast<size_t>(p.in_h) - 1) * g.qw + static_cast<size_t>(p.in_w), 8);
  g.plane = RoundUp(std::max(g.qh * g.qw, g.nvp + kh1 * g.qw + kw1), 8);
  return g;
}

size_t CarveDw(const DwGeom& g, uint8_t* base, float** gq, float** v, float** wts, size_t** off) {
  Carver c(base);
  const size_t kk = static_cast<size_t>(g.kh) * static_cast<size_t>(g.kw);
  *gq = c.Take<float>(g.plane);
  *v = c.Take<float>(g.nvp + 8);  // + 8: the row copies read whole vectors
  *wts = c.Take<float>(kk);
  *off = c.Take<size_t>(kk);
  return c.bytes();
}

size_t CarvePw(const tte_conv_params& p, uint8_t* base, float** wt) {
  Carver c(base);
  *wt = c.Take<float>(RoundUp(static_cast<size_t>(p.cin), kMi) * static_cast<size_t>(p.cout));
  return c.bytes();
}

}  // namespace

bool PointwiseBwdInputApplies(const tte_conv_params& p) {
  return IsWhole(p) && IsPointwise(p) && p.cin >= 1 && p.cout >= 1;
}

size_t PointwiseBwdInputScratchBytes(const tte_conv_params& p) {
  if (!PointwiseBwdInputApplies(p)) return 0;
  float* wt;
  return CarvePw(p, nullptr, &wt);
}

bool DepthwiseBwdInputApplies(const tte_conv_params& p) {
  return IsWhole(p) && SaneGeometry(p) && IsDepthwiseMult1(p) && p.dh == 1 && p.dw == 1 && p.sh <= 2 &&
         p.sw <= 2 && p.pad_t <= p.kh - 1 && p.pad_l <= p.kw - 1 && p.in_h >= 1 && p.in_w >= 1 && p.out.h >= 1 &&
         p.out.w >= 1;
}

size_t DepthwiseBwdInputScratchBytes(const tte_conv_params& p) {
  if (!DepthwiseBwdInputApplies(p)) return 0;
  float *gq, *v, *wts;
  size_t* off;
  return CarveDw(MakeDwGeom(p), nullptr, &gq, &v, &wts, &off);
}

#if TTE_HOST_X86
namespace {

// acc + w * g with the portable kernel's two roundings (or one, for the fault test).
template <bool kFma>
TTE_AVX2 inline __m256 MulAdd(__m256 acc, __m256 w, __m256 g) {
  if constexpr (kFma) return _mm256_fmadd_ps(w, g, acc);
  return _mm256_add_ps(acc, _mm256_mul_ps(w, g));
}

// dx[i][q] = sum_o wt[o][m] * g[o][q] for kMi channels i = ib*kMi + m and NR pixel vectors at q0; the last
// vector holds `last` valid lanes (masked loads and stores).
template <int NR, bool kFma>
TTE_AVX2 void PwTile(const tte_conv_params& p, const float* g, const float* wt, size_t ib, size_t q0, int last,
                     float* dx, int32_t accumulate) {
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const __m256i lm = FirstLanes(last);
  __m256 acc[kMi][NR];
  for (int m = 0; m < kMi; ++m)
    for (int r = 0; r < NR; ++r) acc[m][r] = _mm256_setzero_ps();
  for (int32_t o = 0; o < p.cout; ++o) {
    const float* go = g + static_cast<size_t>(o) * hw + q0;
    __m256 gv[NR];
    for (int r = 0; r < NR; ++r)
      gv[r] = (r == NR - 1 && last < 8) ? _mm256_maskload_ps(go + 8 * r, lm) : _mm256_loadu_ps(go + 8 * r);
    const float* w = wt + static_cast<size_t>(o) * kMi;
    for (int m = 0; m < kMi; ++m) {
      const __m256 wv = _mm256_broadcast_ss(w + m);
      for (int r = 0; r < NR; ++r) acc[m][r] = MulAdd<kFma>(acc[m][r], wv, gv[r]);
    }
  }
  for (int m = 0; m < kMi; ++m) {
    const size_t i = ib * kMi + static_cast<size_t>(m);
    if (i >= static_cast<size_t>(p.cin)) break;
    float* d = dx + i * hw + q0;
    for (int r = 0; r < NR; ++r) {
      const bool partial = r == NR - 1 && last < 8;
      __m256 v = acc[m][r];
      if (accumulate) v = _mm256_add_ps(partial ? _mm256_maskload_ps(d + 8 * r, lm) : _mm256_loadu_ps(d + 8 * r), v);
      if (partial)
        _mm256_maskstore_ps(d + 8 * r, lm, v);
      else
        _mm256_storeu_ps(d + 8 * r, v);
    }
  }
}

template <bool kFma>
TTE_AVX2 void PwRun(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate, const float* wt) {
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const size_t nv = (hw + 7) / 8;
  const int last = static_cast<int>(hw - (nv - 1) * 8);
  const size_t nib = RoundUp(static_cast<size_t>(p.cin), kMi) / kMi;
  for (size_t ib = 0; ib < nib; ++ib) {
    const float* w = wt + ib * kMi * static_cast<size_t>(p.cout);
    size_t v = 0;
    for (; v + 3 <= nv; v += 3) PwTile<3, kFma>(p, g, w, ib, v * 8, v + 3 == nv ? last : 8, dx, accumulate);
    if (nv - v == 2) PwTile<2, kFma>(p, g, w, ib, v * 8, last, dx, accumulate);
    if (nv - v == 1) PwTile<1, kFma>(p, g, w, ib, v * 8, last, dx, accumulate);
  }
}

// V[q] = sum_{kh, kw ascending} w[kh][kw] * Gq[q + off(kh, kw)] for q in [0, nvp).
template <bool kFma>
TTE_AVX2 void DwAccumulate(const DwGeom& g, const float* gq, const float* wts, const size_t* off, float* v) {
  const size_t kk = static_cast<size_t>(g.kh) * static_cast<size_t>(g.kw);
  size_t q = 0;
  for (; q + 32 <= g.nvp; q += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    const float* base = gq + q;
    for (size_t t = 0; t < kk; ++t) {
      const __m256 wv = _mm256_broadcast_ss(wts + t);
      const float* src = base + off[t];
      a0 = MulAdd<kFma>(a0, wv, _mm256_loadu_ps(src));
      a1 = MulAdd<kFma>(a1, wv, _mm256_loadu_ps(src + 8));
      a2 = MulAdd<kFma>(a2, wv, _mm256_loadu_ps(src + 16));
      a3 = MulAdd<kFma>(a3, wv, _mm256_loadu_ps(src + 24));
    }
    _mm256_storeu_ps(v + q, a0);
    _mm256_storeu_ps(v + q + 8, a1);
    _mm256_storeu_ps(v + q + 16, a2);
    _mm256_storeu_ps(v + q + 24, a3);
  }
  for (; q < g.nvp; q += 8) {
    __m256 a0 = _mm256_setzero_ps();
    for (size_t t = 0; t < kk; ++t) a0 = MulAdd<kFma>(a0, _mm256_broadcast_ss(wts + t), _mm256_loadu_ps(gq + q + off[t]));
    _mm256_storeu_ps(v + q, a0);
  }
}

template <bool kFma>
TTE_AVX2 void DwRun(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate, uint8_t* scratch) {
  const DwGeom gm = MakeDwGeom(p);
  float *gq, *v, *wts;
  size_t* off;
  CarveDw(gm, scratch, &gq, &v, &wts, &off);
  const int32_t kh_n = p.kh, kw_n = p.kw;
  for (int32_t kh = 0; kh < kh_n; ++kh)
    for (int32_t kw = 0; kw < kw_n; ++kw)
      off[kh * kw_n + kw] = static_cast<size_t>(kh_n - 1 - kh) * gm.qw + static_cast<size_t>(kw_n - 1 - kw);
  const size_t kk = static_cast<size_t>(kh_n) * static_cast<size_t>(kw_n);
  const size_t in_plane = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const size_t out_plane = static_cast<size_t>(p.out.h) * static_cast<size_t>(p.out.w);
  const size_t w = static_cast<size_t>(p.in_w), ow = static_cast<size_t>(p.out.w);
  const size_t tr = static_cast<size_t>(gm.tr), tc = static_cast<size_t>(gm.tc);
  const size_t sh = static_cast<size_t>(gm.sh), sw = static_cast<size_t>(gm.sw);
  // Rows / columns of g that land inside Gq (the others are never read by the portable kernel either).
  const size_t rows = std::min(static_cast<size_t>(p.out.h), (gm.qh - tr + sh - 1) / sh);
  const size_t cols = std::min(ow, (gm.qw - tc + sw - 1) / sw);
  const int last = static_cast<int>(w - (w - 1) / 8 * 8);
  const __m256i lm = FirstLanes(last);
  for (int32_t c = 0; c < p.cin; ++c) {
    const int8_t* wr = tte_weight_row(&p.w, c, 0, c, static_cast<int32_t>(kk), 1, 1);
    for (size_t i = 0; i < kk; ++i) wts[i] = static_cast<float>(wr[i]);
    std::memset(gq, 0, gm.plane * sizeof(float));
    const float* gc = g + static_cast<size_t>(c) * out_plane;
    for (size_t ho = 0; ho < rows; ++ho) {
      float* dst = gq + (tr + sh * ho) * gm.qw + tc;
      const float* src = gc + ho * ow;
      if (sw == 1)
        std::memcpy(dst, src, cols * sizeof(float));
      else
        for (size_t wo = 0; wo < cols; ++wo) dst[sw * wo] = src[wo];
    }
    // Gradient plane c is in scratch now; dx plane c may overwrite it (in-place use, stride 1).
    DwAccumulate<kFma>(gm, gq, wts, off, v);
    float* dc = dx + static_cast<size_t>(c) * in_plane;
    for (int32_t y = 0; y < p.in_h; ++y) {
      float* d = dc + static_cast<size_t>(y) * w;
      const float* a = v + static_cast<size_t>(y) * gm.qw;
      for (size_t x = 0; x < w; x += 8) {
        const bool partial = x + 8 > w;
        __m256 r = _mm256_loadu_ps(a + x);  // inside v (nvp + 8 lanes); lanes past w are not stored
        if (accumulate) r = _mm256_add_ps(partial ? _mm256_maskload_ps(d + x, lm) : _mm256_loadu_ps(d + x), r);
        if (partial)
          _mm256_maskstore_ps(d + x, lm, r);
        else
          _mm256_storeu_ps(d + x, r);
      }
    }
  }
}

}  // namespace

TTE_AVX2 void PointwiseBwdInputAvx2(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate,
                                    uint8_t* scratch) {
  float* wt;
  CarvePw(p, scratch, &wt);
  // wt[ib][o][m] = w(o, i = ib*kMi + m) as fp32 (0 past cin), filled row by row of the weights.
  const size_t cout = static_cast<size_t>(p.cout), cin = static_cast<size_t>(p.cin);
  const size_t cinp = RoundUp(cin, kMi);
  for (size_t o = 0; o < cout; ++o) {
    float* dst = wt + o * kMi;
    if (!p.w.slot) {
      const int8_t* src = p.w.frozen + o * cin;
      for (size_t i = 0; i < cin; ++i) dst[(i / kMi) * kMi * cout + i % kMi] = static_cast<float>(src[i]);
    } else {
      const int8_t* fr = p.w.frozen + o * static_cast<size_t>(p.w.n_frozen);
      const int8_t* tr = p.w.train + o * static_cast<size_t>(p.w.n_train);
      for (size_t i = 0; i < cin; ++i) {
        const uint16_t sl = p.w.slot[i];
        dst[(i / kMi) * kMi * cout + i % kMi] = static_cast<float>(((sl & TTE_SLOT_TRAIN) ? tr : fr)[sl & TTE_SLOT_INDEX]);
      }
    }
    for (size_t i = cin; i < cinp; ++i) dst[(i / kMi) * kMi * cout + i % kMi] = 0.0f;
  }
  if (CurrentFault() == Fault::kFmaInBackwardInput)
    PwRun<true>(p, g, dx, accumulate, wt);
  else
    PwRun<false>(p, g, dx, accumulate, wt);
}

TTE_AVX2 void DepthwiseBwdInputAvx2(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate,
                                    uint8_t* scratch) {
  if (CurrentFault() == Fault::kFmaInBackwardInput)
    DwRun<true>(p, g, dx, accumulate, scratch);
  else
    DwRun<false>(p, g, dx, accumulate, scratch);
}
#endif  // TTE_HOST_X86

}  // namespace tte::host::internal
