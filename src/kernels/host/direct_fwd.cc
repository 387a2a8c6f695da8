// Host fast path: direct int8 conv forward for depthwise convs (any k, stride 1 or 2, padding) and
// dense convs with groups == 1 and k > 1 (the 3x3 stride-2 first conv with 3 input channels), whole
// tensors, with the clamp mask. Bit-identical to conv_fwd.c (conv_depthwise / conv_generic).
//
// Method: each input plane is prepared in scratch as fp32 (x - x_zero), zero-padded by `pad` on every
// side (zero in the shifted domain is exactly the portable kernel's skipped padding). The output is
// computed on a "virtual" grid that is the padded plane flattened row-major, so that every tap (kh, kw)
// is ONE constant offset for all outputs and 8 outputs are one unaligned load + FMA per tap:
//   stride 1: V[q] = sum_t w[t] * P[q + kh*pw + kw],       q = oy*pw + ox;
//   stride 2: the padded plane is split by row and column parity into four quarter planes
//             Q[a][b][r][c] = P[2r + a][2c + b] of width vw = pw/2 (pw rounded up to even); output
//             (oy, ox) at tap (kh, kw) reads P[2oy + kh][2ox + kw] = Q[kh%2][kw%2][oy + kh/2][ox + kw/2],
//             i.e. Q[kh%2][kw%2] at q + (kh/2)*vw + kw/2,  q = oy*vw + ox.
// Columns ox >= out.w of the virtual grid are computed and dropped.
// Exactness: every product and every partial sum is an integer of magnitude at most
// taps * max|x - x_zero| * 128 < 2^24 (checked in DirectFwdApplies; taps = k*k, or cin*k*k for dense
// convs), so fp32 FMA sums are exact in any order and equal (float)acc of the portable int32 sum.
// Requantization then uses the portable fp32 operations (avx2_util.h Requant8).
#include <algorithm>
#include <cstring>

#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {
namespace {

struct Geom {
  int32_t k = 0, s = 1, pad = 0, h = 0, w = 0, oh = 0, ow = 0;
  size_t pw = 0, ph = 0;  // padded plane (pw even for stride 2)
  size_t vw = 0;          // virtual row width
  size_t nvp = 0;         // virtual outputs computed (multiple of 8)
  size_t quarter = 0;     // stride 2: floats per quarter plane
  size_t plane = 0;       // floats per prepared input plane
};

Geom MakeGeom(const tte_conv_params& p) {
  Geom g;
  g.k = p.k;
  g.s = p.stride;
  g.pad = p.pad;
  g.h = p.in_h;
  g.w = p.in_w;
  g.oh = p.out.h;
  g.ow = p.out.w;
  g.ph = static_cast<size_t>(p.in_h + 2 * p.pad);
  const size_t k1 = static_cast<size_t>(p.k - 1);
  if (p.stride == 1) {
    g.pw = static_cast<size_t>(p.in_w + 2 * p.pad);
    g.vw = g.pw;
    g.nvp = RoundUp((g.oh - 1) * g.vw + g.ow, 8);
    g.plane = RoundUp(std::max(g.ph * g.pw, g.nvp + k1 * g.pw + k1), 8);
  } else {
    g.pw = RoundUp(static_cast<size_t>(p.in_w + 2 * p.pad), 2);
    g.vw = g.pw / 2;
    g.nvp = RoundUp((g.oh - 1) * g.vw + g.ow, 8);
    g.quarter = RoundUp(std::max((g.ph + 1) / 2 * g.vw, g.nvp + (k1 / 2) * g.vw + k1 / 2), 8);
    g.plane = 4 * g.quarter;
  }
  return g;
}

struct Buffers {
  float* planes;  // depthwise: one plane; dense: cin planes
  float* v;       // virtual accumulators [nvp]
  float* d;       // compacted accumulators [oh*ow] (+ 8 lanes of slack)
  float* wts;     // weights as fp32: depthwise [k*k]; dense [cin][k*k]
  size_t* off;    // tap offsets [k*k]
};

size_t Carve(const tte_conv_params& p, const Geom& g, uint8_t* base, Buffers* b) {
  const bool dw = IsDepthwise(p);
  const size_t kk = static_cast<size_t>(p.k) * static_cast<size_t>(p.k);
  const size_t np = dw ? 1 : static_cast<size_t>(p.cin);
  Carver c(base);
  b->planes = c.Take<float>(np * g.plane);
  b->v = c.Take<float>(g.nvp);
  b->d = c.Take<float>(RoundUp(static_cast<size_t>(g.oh) * static_cast<size_t>(g.ow), 8));
  b->wts = c.Take<float>(np * kk);
  b->off = c.Take<size_t>(kk);
  return c.bytes();
}

}  // namespace

bool DirectFwdApplies(const tte_conv_params& p) {
  if (!IsWhole(p) || p.k < 1 || p.pad < 0 || (p.stride != 1 && p.stride != 2)) return false;
  if (p.out.h < 1 || p.out.w < 1 || p.in_h < 1 || p.in_w < 1) return false;
  const bool dw = IsDepthwise(p);
  if (!dw && !(p.groups == 1 && p.k > 1)) return false;
  const int64_t taps = static_cast<int64_t>(p.k) * p.k * (dw ? 1 : p.cin);
  return taps * MaxAbsShifted(p.x_zero) * 128 < (int64_t{1} << 24);
}

size_t DirectFwdScratchBytes(const tte_conv_params& p) {
  if (!DirectFwdApplies(p)) return 0;
  Buffers b;
  return Carve(p, MakeGeom(p), nullptr, &b);
}

#if TTE_HOST_X86
namespace {

// Prepares one input plane (x - x_zero as fp32, zero padded; stride 2: split into quarter planes).
TTE_AVX2 void PreparePlane(const Geom& g, const int8_t* xc, int32_t x_zero, float* dst) {
  std::memset(dst, 0, g.plane * sizeof(float));
  const __m256i z = _mm256_set1_epi32(x_zero);
  const size_t w = static_cast<size_t>(g.w);
  for (int32_t r = 0; r < g.h; ++r) {
    const int8_t* src = xc + static_cast<size_t>(r) * w;
    const size_t f0 = (static_cast<size_t>(r + g.pad)) * g.pw + static_cast<size_t>(g.pad);
    size_t c = 0;
    if (g.s == 1) {
      float* row = dst + f0;
      for (; c + 8 <= w; c += 8) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + c)));
        _mm256_storeu_ps(row + c, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)));
      }
      for (; c < w; ++c) row[c] = static_cast<float>(src[c] - x_zero);
    } else {
      // Padded row pr = r + pad, column pc = c + pad lands in quarter (pr % 2, pc % 2) at
      // (pr / 2) * vw + pc / 2.
      const size_t pr = static_cast<size_t>(r + g.pad), row0 = (pr / 2) * g.vw;
      float* qa = dst + (pr & 1) * 2 * g.quarter;  // even padded columns
      float* qb = qa + g.quarter;                  // odd padded columns
      const size_t pad = static_cast<size_t>(g.pad);
      const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
      for (; c + 16 <= w; c += 16) {
        // Columns c, c+2, ... (ev) and c+1, c+3, ... (od).
        const __m128i v = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + c)), split);
        const __m256 ev = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(v), z));
        const __m256 od = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)), z));
        const size_t pc = c + pad;
        if ((pc & 1) == 0) {
          _mm256_storeu_ps(qa + row0 + pc / 2, ev);
          _mm256_storeu_ps(qb + row0 + pc / 2, od);
        } else {
          _mm256_storeu_ps(qb + row0 + pc / 2, ev);
          _mm256_storeu_ps(qa + row0 + pc / 2 + 1, od);
        }
      }
      for (; c < w; ++c) {
        const size_t pc = c + pad;
        ((pc & 1) ? qb : qa)[row0 + pc / 2] = static_cast<float>(src[c] - x_zero);
      }
    }
  }
}

// Tap offsets into a prepared plane, in (kh, kw) order.
void TapOffsets(const Geom& g, size_t* off) {
  for (int32_t kh = 0; kh < g.k; ++kh)
    for (int32_t kw = 0; kw < g.k; ++kw) {
      if (g.s == 1) {
        off[kh * g.k + kw] = static_cast<size_t>(kh) * g.pw + static_cast<size_t>(kw);
      } else {
        const size_t sub = static_cast<size_t>((kh & 1) * 2 + (kw & 1));
        off[kh * g.k + kw] = sub * g.quarter + static_cast<size_t>(kh / 2) * g.vw + static_cast<size_t>(kw / 2);
      }
    }
}

// V[q] = sum over planes and taps of w * plane[q + off], q in [0, nvp). Exact (integers < 2^24).
TTE_AVX2 void Accumulate(const Geom& g, const float* planes, size_t nplanes, const float* wts, const size_t* off,
                         float* v) {
  const size_t kk = static_cast<size_t>(g.k) * static_cast<size_t>(g.k);
  size_t q = 0;
  for (; q + 32 <= g.nvp; q += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (size_t pl = 0; pl < nplanes; ++pl) {
      const float* base = planes + pl * g.plane + q;
      const float* w = wts + pl * kk;
      for (size_t t = 0; t < kk; ++t) {
        const __m256 wv = _mm256_broadcast_ss(w + t);
        const float* src = base + off[t];
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(src), wv, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(src + 8), wv, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(src + 16), wv, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(src + 24), wv, a3);
      }
    }
    _mm256_storeu_ps(v + q, a0);
    _mm256_storeu_ps(v + q + 8, a1);
    _mm256_storeu_ps(v + q + 16, a2);
    _mm256_storeu_ps(v + q + 24, a3);
  }
  for (; q < g.nvp; q += 8) {
    __m256 a0 = _mm256_setzero_ps();
    for (size_t pl = 0; pl < nplanes; ++pl) {
      const float* base = planes + pl * g.plane + q;
      const float* w = wts + pl * kk;
      for (size_t t = 0; t < kk; ++t) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(base + off[t]), _mm256_broadcast_ss(w + t), a0);
    }
    _mm256_storeu_ps(v + q, a0);
  }
}

// Compacts the virtual grid to [oh][ow] and requantizes output channel o.
TTE_AVX2 void Finish(const tte_conv_params& p, const Geom& g, const Buffers& b, int32_t o, int8_t* y, uint8_t* mask,
                     Fault fault) {
  const size_t ow = static_cast<size_t>(g.ow), n_out = static_cast<size_t>(g.oh) * ow;
  for (int32_t oy = 0; oy < g.oh; ++oy) std::memcpy(b.d + oy * ow, b.v + oy * g.vw, ow * sizeof(float));
  const __m256 bias = _mm256_set1_ps(BiasOf(p, o)), eff = _mm256_set1_ps(p.eff[o]);
  const __m256 yz = _mm256_set1_ps(static_cast<float>(p.y_zero));
  const bool int_bias = fault == Fault::kIntegerBiasAdd && p.bias_i32;
  const bool excl = fault == Fault::kMaskExcludes127;
  const size_t base = static_cast<size_t>(o) * n_out;
  for (size_t q = 0; q < n_out; q += 8) {
    const int count = n_out - q < 8 ? static_cast<int>(n_out - q) : 8;
    const __m256 acc = _mm256_loadu_ps(b.d + q);  // exact integers; lanes past n_out are ignored
    const __m256 t = int_bias ? _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_cvttps_epi32(acc),
                                                                    _mm256_set1_epi32(p.bias_i32[o])))
                              : _mm256_add_ps(acc, bias);
    uint32_t in_range;
    const __m128i r = Requant8(t, eff, yz, excl, &in_range);
    StoreBytes(y + base + q, r, count);
    if (mask) WriteMaskBits(mask, base + q, in_range, count);
  }
}

}  // namespace

TTE_AVX2 void DirectFwdAvx2(const tte_conv_params& p, const int8_t* x, int8_t* y, uint8_t* mask, uint8_t* scratch) {
  const Geom g = MakeGeom(p);
  Buffers b;
  Carve(p, g, scratch, &b);
  TapOffsets(g, b.off);
  const size_t kk = static_cast<size_t>(p.k) * static_cast<size_t>(p.k);
  const size_t in_plane = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const Fault fault = CurrentFault();
  // The slack lanes of d (past oh*ow) are read by the last requant vector: keep them defined.
  std::memset(b.d, 0, RoundUp(static_cast<size_t>(g.oh) * static_cast<size_t>(g.ow), 8) * sizeof(float));
  if (IsDepthwise(p)) {
    // Input plane c is copied to scratch before output plane c is written: host::ConvDepthwiseInPlace
    // relies on this to run with y == x. Keep it so.
    for (int32_t c = 0; c < p.cout; ++c) {
      const int8_t* wr = tte_weight_row(&p.w, c, 0, c, static_cast<int32_t>(kk), 1, 1);
      for (size_t t = 0; t < kk; ++t) b.wts[t] = static_cast<float>(wr[t]);
      PreparePlane(g, x + static_cast<size_t>(c) * in_plane, p.x_zero, b.planes);
      Accumulate(g, b.planes, 1, b.wts, b.off, b.v);
      Finish(p, g, b, c, y, mask, fault);
    }
    return;
  }
  for (int32_t i = 0; i < p.cin; ++i)
    PreparePlane(g, x + static_cast<size_t>(i) * in_plane, p.x_zero, b.planes + static_cast<size_t>(i) * g.plane);
  for (int32_t o = 0; o < p.cout; ++o) {
    for (int32_t i = 0; i < p.cin; ++i) {
      const int8_t* wr = tte_weight_row(&p.w, o, i, i, static_cast<int32_t>(kk), 0, p.cin);
      for (size_t t = 0; t < kk; ++t) b.wts[static_cast<size_t>(i) * kk + t] = static_cast<float>(wr[t]);
    }
    Accumulate(g, b.planes, static_cast<size_t>(p.cin), b.wts, b.off, b.v);
    Finish(p, g, b, o, y, mask, fault);
  }
}
#endif  // TTE_HOST_X86

}  // namespace tte::host::internal
