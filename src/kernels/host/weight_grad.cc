// Host fast paths: conv weight gradients (fp32) of the trainable slice for pointwise and depthwise
// convs, whole tensors, fused with the update or added to a gradient buffer. Bit-identical to conv_bwd.c
// tte_conv_weight_grad_f32(), including the order of the updates (device mode with stochastic rounding
// consumes one random number per element, so that order is part of the contract; fused updates run
// through sgd_update.cc, which is exactly tte_sgd_weight element by element).
//
// Each gradient element is one fp32 sum in the portable order (ho, wo ascending, from 0, each term a
// multiplication then an addition). The fast paths vectorize across independent elements only:
//   pointwise: dW(o, j) = sum_q g[o][q] * (x[j][q] - x_zero); lanes are 8 channels j (the saved input is
//              transposed per call to fp32 [q][j]), tiles of 4 outputs o x 3 vectors of j;
//   depthwise: (any kernel, stride, dilation, padding, channel multiplier) dW(j, kh, kw) = sum
//              g[sel[j]][ho][wo] * (x[j][y][x] - x_zero); lanes are 8 selections j (input and gradient planes
//              interleaved per call as [pixel][8 channels]); one register per kw tap.
//              Rows outside the input are skipped exactly as in the portable kernel; columns outside it
//              read a zero from the zero-padded input: g*0 is +-0 for finite g and acc + (+-0) == acc
//              (acc starts at +0 and is never -0), so that is exact for finite gradients. A non-finite
//              gradient makes the fast path decline the call (the caller runs the portable kernel).
// Gradients are computed for a block of elements first, then emitted (fused update or dw +=) in the
// portable order: pointwise o, then j; depthwise j, then kh, kw. Computing ahead is safe: gradients
// read g and the saved input only, never the weights being updated.
#include <cmath>
#include <cstring>

#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {
namespace {

constexpr int kMo = 4;   // pointwise: outputs per tile
constexpr int kMaxNk = 7;  // depthwise: kw taps per register block

inline void Emit(float v, int32_t idx, int32_t o, float* dw, const tte_sgd* opt, const tte_conv_train* t) {
  if (t)
    tte_sgd_weight(opt, t, idx, o, v);
  else
    dw[idx] += v;
}

size_t CarvePw(const tte_conv_params& p, int32_t n, uint8_t* base, float** xt, float** gbuf) {
  const size_t nj8 = RoundUp(static_cast<size_t>(n), 8);
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  Carver c(base);
  *xt = c.Take<float>(hw * nj8);
  *gbuf = c.Take<float>(kMo * nj8);
  return c.bytes();
}

struct DwBufs {
  float* x8;    // [(pad_t + in_h + pad_b) * (pad_l + in_w + pad_r)][8]
  float* g8;    // [out.h * out.w][8]
  float* gbuf;  // [cout][kh*kw]: gradients of every selected channel (n <= cout selection channels)
};

size_t DwPaddedW(const tte_conv_params& p) { return static_cast<size_t>(p.pad_l + p.in_w + p.pad_r); }
size_t DwPaddedH(const tte_conv_params& p) { return static_cast<size_t>(p.pad_t + p.in_h + p.pad_b); }

size_t CarveDw(const tte_conv_params& p, uint8_t* base, DwBufs* b) {
  Carver c(base);
  b->x8 = c.Take<float>(DwPaddedH(p) * DwPaddedW(p) * 8);
  b->g8 = c.Take<float>(static_cast<size_t>(p.out.h) * static_cast<size_t>(p.out.w) * 8);
  b->gbuf = c.Take<float>(static_cast<size_t>(p.cout) * static_cast<size_t>(p.kh) * static_cast<size_t>(p.kw));
  return c.bytes();
}

}  // namespace

bool PointwiseWeightGradApplies(const tte_conv_params& p) { return IsWhole(p) && IsPointwise(p); }

size_t PointwiseWeightGradScratchBytes(const tte_conv_params& p, int32_t n) {
  if (!PointwiseWeightGradApplies(p) || n < 1) return 0;
  float *xt, *gbuf;
  return CarvePw(p, n, nullptr, &xt, &gbuf);
}

bool DepthwiseWeightGradApplies(const tte_conv_params& p) {
  return IsWhole(p) && SaneGeometry(p) && IsDepthwise(p) && p.out.h >= 1 && p.out.w >= 1;
}

size_t DepthwiseWeightGradScratchBytes(const tte_conv_params& p) {
  if (!DepthwiseWeightGradApplies(p)) return 0;
  DwBufs b;
  return CarveDw(p, nullptr, &b);
}

#if TTE_HOST_X86
namespace {

// acc[m][r] (+)= g[o0 + m][q] * xt[q][jv + r] over q ascending, stored to gbuf[m][(jv + r) * 8 ..].
// kPairwise (fault test only): even and odd q in separate sums, added at the end.
template <int MO, int NJ, bool kPairwise>
TTE_AVX2 void PwTile(const float* g, size_t hw, size_t o0, const float* xt, size_t nj8, size_t jv, float* gbuf) {
  __m256 acc[MO][NJ], acc2[MO][NJ];
  for (int m = 0; m < MO; ++m)
    for (int r = 0; r < NJ; ++r) acc[m][r] = acc2[m][r] = _mm256_setzero_ps();
  for (size_t q = 0; q < hw; ++q) {
    __m256 xv[NJ];
    for (int r = 0; r < NJ; ++r) xv[r] = _mm256_load_ps(xt + q * nj8 + (jv + r) * 8);
    for (int m = 0; m < MO; ++m) {
      const __m256 gv = _mm256_broadcast_ss(g + (o0 + m) * hw + q);
      for (int r = 0; r < NJ; ++r) {
        if (kPairwise && (q & 1))
          acc2[m][r] = _mm256_add_ps(acc2[m][r], _mm256_mul_ps(gv, xv[r]));
        else
          acc[m][r] = _mm256_add_ps(acc[m][r], _mm256_mul_ps(gv, xv[r]));
      }
    }
  }
  for (int m = 0; m < MO; ++m)
    for (int r = 0; r < NJ; ++r)
      _mm256_store_ps(gbuf + m * nj8 + (jv + r) * 8, kPairwise ? _mm256_add_ps(acc[m][r], acc2[m][r]) : acc[m][r]);
}

template <int MO, bool kPairwise>
TTE_AVX2 void PwRows(const float* g, size_t hw, size_t o0, const float* xt, size_t nj8, float* gbuf) {
  const size_t nv = nj8 / 8;
  size_t v = 0;
  for (; v + 3 <= nv; v += 3) PwTile<MO, 3, kPairwise>(g, hw, o0, xt, nj8, v, gbuf);
  if (nv - v == 2) PwTile<MO, 2, kPairwise>(g, hw, o0, xt, nj8, v, gbuf);
  if (nv - v == 1) PwTile<MO, 1, kPairwise>(g, hw, o0, xt, nj8, v, gbuf);
}

// Depthwise: gradients of the kh row, taps kw0 .. kw0 + NK - 1, for the 8 channels of the block.
template <int NK, bool kPairwise>
TTE_AVX2 void DwTaps(const tte_conv_params& p, const DwBufs& b, int32_t kh, int32_t kw0, size_t jb, size_t n) {
  const int32_t sh = p.sh, sw = p.sw, ow = p.out.w, r = kh * p.dh;
  const size_t pw = DwPaddedW(p), dwl = static_cast<size_t>(p.dw) * 8;
  // ho with 0 <= ho*sh - pad_t + kh*dh < in_h, ascending (the portable kernel skips the other rows).
  int32_t ho0 = 0;
  while (ho0 < p.out.h && ho0 * sh - p.pad_t + r < 0) ++ho0;
  int32_t ho1 = ho0;
  while (ho1 < p.out.h && ho1 * sh - p.pad_t + r < p.in_h) ++ho1;
  __m256 acc[NK], acc2[NK];
  for (int u = 0; u < NK; ++u) acc[u] = acc2[u] = _mm256_setzero_ps();
  for (int32_t ho = ho0; ho < ho1; ++ho) {
    const float* xrow = b.x8 + (static_cast<size_t>(ho * sh + r) * pw + static_cast<size_t>(kw0 * p.dw)) * 8;
    const float* grow = b.g8 + static_cast<size_t>(ho) * static_cast<size_t>(ow) * 8;
    for (int32_t wo = 0; wo < ow; ++wo) {
      const __m256 gv = _mm256_load_ps(grow + static_cast<size_t>(wo) * 8);
      const float* xv = xrow + static_cast<size_t>(wo * sw) * 8;
      const bool odd = kPairwise && (wo & 1);
      for (int u = 0; u < NK; ++u) {
        const __m256 prod = _mm256_mul_ps(gv, _mm256_load_ps(xv + static_cast<size_t>(u) * dwl));
        if (odd)
          acc2[u] = _mm256_add_ps(acc2[u], prod);
        else
          acc[u] = _mm256_add_ps(acc[u], prod);
      }
    }
  }
  const size_t kk = static_cast<size_t>(p.kh) * static_cast<size_t>(p.kw);
  for (int u = 0; u < NK; ++u) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, kPairwise ? _mm256_add_ps(acc[u], acc2[u]) : acc[u]);
    for (size_t l = 0; l < 8 && jb * 8 + l < n; ++l)
      b.gbuf[(jb * 8 + l) * kk + static_cast<size_t>(kh * p.kw + kw0 + u)] = lanes[l];
  }
}

template <bool kPairwise>
TTE_AVX2 void DwRow(const tte_conv_params& p, const DwBufs& b, int32_t kh, size_t jb, size_t n) {
  for (int32_t kw0 = 0; kw0 < p.kw; kw0 += kMaxNk) {
    switch (p.kw - kw0 < kMaxNk ? p.kw - kw0 : kMaxNk) {
      case 1: DwTaps<1, kPairwise>(p, b, kh, kw0, jb, n); break;
      case 2: DwTaps<2, kPairwise>(p, b, kh, kw0, jb, n); break;
      case 3: DwTaps<3, kPairwise>(p, b, kh, kw0, jb, n); break;
      case 4: DwTaps<4, kPairwise>(p, b, kh, kw0, jb, n); break;
      case 5: DwTaps<5, kPairwise>(p, b, kh, kw0, jb, n); break;
      case 6: DwTaps<6, kPairwise>(p, b, kh, kw0, jb, n); break;
      default: DwTaps<7, kPairwise>(p, b, kh, kw0, jb, n); break;
    }
  }
}

bool AllFinite(const float* v, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

}  // namespace

TTE_AVX2 void PointwiseWeightGradAvx2(const tte_conv_params& p, int32_t n, const int8_t* xs, const float* g, float* dw,
                                      const tte_sgd* opt, const tte_conv_train* t, uint8_t* scratch) {
  if (n < 1) return;
  float *xt, *gbuf;
  CarvePw(p, n, scratch, &xt, &gbuf);
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const size_t nn = static_cast<size_t>(n), nj8 = RoundUp(nn, 8);
  for (size_t q = 0; q < hw; ++q) {
    float* row = xt + q * nj8;
    for (size_t j = 0; j < nn; ++j) row[j] = static_cast<float>(static_cast<int32_t>(xs[j * hw + q]) - p.x_zero);
    for (size_t j = nn; j < nj8; ++j) row[j] = 0.0f;
  }
  const Fault fault = CurrentFault();
  const bool pairwise = fault == Fault::kWeightGradPairwise, swapped = fault == Fault::kUpdateOrderSwapped;
  const size_t cout = static_cast<size_t>(p.cout);
  for (size_t o0 = 0; o0 < cout;) {
    const size_t mo = cout - o0 >= kMo ? kMo : 1;
    if (mo == kMo)
      pairwise ? PwRows<kMo, true>(g, hw, o0, xt, nj8, gbuf) : PwRows<kMo, false>(g, hw, o0, xt, nj8, gbuf);
    else
      pairwise ? PwRows<1, true>(g, hw, o0, xt, nj8, gbuf) : PwRows<1, false>(g, hw, o0, xt, nj8, gbuf);
    if (swapped) {
      for (size_t j = 0; j < nn; ++j)
        for (size_t m = 0; m < mo; ++m) {
          const int32_t o = static_cast<int32_t>(o0 + m);
          Emit(gbuf[m * nj8 + j], static_cast<int32_t>((o0 + m) * nn + j), o, dw, opt, t);
        }
    } else {
      for (size_t m = 0; m < mo; ++m) {
        const int32_t o = static_cast<int32_t>(o0 + m);
        if (t) {
          SgdWeightRunAvx2(opt, t, static_cast<int32_t>((o0 + m) * nn), o, gbuf + m * nj8, n);
          continue;
        }
        for (size_t j = 0; j < nn; ++j) Emit(gbuf[m * nj8 + j], static_cast<int32_t>((o0 + m) * nn + j), o, dw, opt, t);
      }
    }
    o0 += mo;
  }
}

TTE_AVX2 bool DepthwiseWeightGradAvx2(const tte_conv_params& p, int32_t n, const uint16_t* sel, const int8_t* xs,
                                      const float* g, float* dw, const tte_sgd* opt, const tte_conv_train* t,
                                      uint8_t* scratch) {
  const size_t in_plane = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const size_t out_plane = static_cast<size_t>(p.out.h) * static_cast<size_t>(p.out.w);
  const size_t nn = n > 0 ? static_cast<size_t>(n) : 0;
  for (size_t j = 0; j < nn; ++j)
    if (!AllFinite(g + static_cast<size_t>(sel[j]) * out_plane, out_plane)) return false;
  DwBufs b;
  CarveDw(p, scratch, &b);
  const size_t pw = DwPaddedW(p), ph = DwPaddedH(p);
  const size_t kk = static_cast<size_t>(p.kh) * static_cast<size_t>(p.kw);
  const Fault fault = CurrentFault();
  for (size_t jb = 0; jb * 8 < nn; ++jb) {
    // Interleave 8 channels: x8[(y + pad_t) * pw + x + pad_l][l] = x - x_zero (0 in the padding and past n),
    // g8[q][l] = g[sel[j]][q].
    std::memset(b.x8, 0, ph * pw * 8 * sizeof(float));
    for (size_t l = 0; l < 8; ++l) {
      const size_t j = jb * 8 + l;
      if (j >= nn) {
        for (size_t q = 0; q < out_plane; ++q) b.g8[q * 8 + l] = 0.0f;
        continue;
      }
      const int8_t* xj = xs + j * in_plane;
      for (int32_t y = 0; y < p.in_h; ++y) {
        float* dst = b.x8 + ((static_cast<size_t>(y + p.pad_t)) * pw + static_cast<size_t>(p.pad_l)) * 8 + l;
        const int8_t* src = xj + static_cast<size_t>(y) * static_cast<size_t>(p.in_w);
        for (int32_t x = 0; x < p.in_w; ++x) dst[static_cast<size_t>(x) * 8] = static_cast<float>(src[x] - p.x_zero);
      }
      const float* gc = g + static_cast<size_t>(sel[j]) * out_plane;
      for (size_t q = 0; q < out_plane; ++q) b.g8[q * 8 + l] = gc[q];
    }
    for (int32_t kh = 0; kh < p.kh; ++kh) {
      if (fault == Fault::kWeightGradPairwise)
        DwRow<true>(p, b, kh, jb, nn);
      else
        DwRow<false>(p, b, kh, jb, nn);
    }
  }
  if (fault == Fault::kUpdateOrderSwapped) {
    for (size_t e = 0; e < kk; ++e)
      for (size_t j = 0; j < nn; ++j)
        Emit(b.gbuf[j * kk + e], static_cast<int32_t>(j * kk + e), static_cast<int32_t>(sel[j]), dw, opt, t);
  } else if (t) {
    for (size_t j = 0; j < nn; ++j)
      SgdWeightRunAvx2(opt, t, static_cast<int32_t>(j * kk), static_cast<int32_t>(sel[j]), b.gbuf + j * kk,
                       static_cast<int32_t>(kk));
  } else {
    for (size_t j = 0; j < nn; ++j)
      for (size_t e = 0; e < kk; ++e)
        Emit(b.gbuf[j * kk + e], static_cast<int32_t>(j * kk + e), static_cast<int32_t>(sel[j]), dw, opt, t);
  }
  return true;
}
#endif  // TTE_HOST_X86

}  // namespace tte::host::internal
