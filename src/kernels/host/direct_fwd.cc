// Host fast path: direct int8 conv forward for depthwise convs (any kernel, stride, dilation, padding and
// channel multiplier) and dense convs with groups == 1 that are not pointwise (the first convs: 3x3 stride 2,
// DS-CNN's 10x4; ResNet's 1x1 stride-2 shortcuts), whole tensors, with the clamp mask, in either requant
// mode. Bit-identical to conv_fwd.c (conv_generic).
//
// Method: each input plane is prepared in scratch as fp32 (x - x_zero), zero-padded by pad_t / pad_b /
// pad_l / pad_r (zero in the shifted domain is exactly the portable kernel's skipped padding), and split by
// the stride into sh * sw phase planes Q[a][b][r][c] = P[r*sh + a][c*sw + b] of width vw = ceil(pw / sw)
// (P the padded plane; for stride 1 this is P itself). The output is computed on a "virtual" grid of rows
// vw wide, q = oy*vw + ox, so that tap (kh, kw), which reads P[oy*sh + R][ox*sw + C] with R = kh*dh,
// C = kw*dw, i.e. Q[R % sh][C % sw] at q + (R / sh)*vw + C / sw, is ONE constant offset for all outputs, and
// 8 outputs are one unaligned load + FMA per tap. Columns ox >= out.w of the virtual grid are computed and
// dropped.
// Exactness: every product and every partial sum is an integer of magnitude at most
// taps * max|x - x_zero| * 128 < 2^24 (checked in DirectFwdApplies; taps = kh*kw, or cin*kh*kw for dense
// convs), so fp32 FMA sums are exact in any order and equal (float)acc of the portable int32 sum.
// Requantization then uses the portable operations (avx2_util.h Requant8, or RequantTflite8 on the exact
// int32 accumulators).
#include <algorithm>
#include <cstring>

#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {
namespace {

struct Geom {
  int32_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pad_t = 0, pad_l = 0, h = 0, w = 0, oh = 0, ow = 0;
  size_t ph = 0, pw = 0;  // padded plane
  size_t vw = 0;          // virtual row width = phase plane width
  size_t nvp = 0;         // virtual outputs computed (multiple of 8)
  size_t phase = 0;       // floats per phase plane
  size_t plane = 0;       // floats per prepared input plane (sh * sw phase planes)
};

Geom MakeGeom(const tte_conv_params& p) {
  Geom g;
  g.kh = p.kh;
  g.kw = p.kw;
  g.sh = p.sh;
  g.sw = p.sw;
  g.dh = p.dh;
  g.dw = p.dw;
  g.pad_t = p.pad_t;
  g.pad_l = p.pad_l;
  g.h = p.in_h;
  g.w = p.in_w;
  g.oh = p.out.h;
  g.ow = p.out.w;
  g.ph = static_cast<size_t>(p.pad_t + p.in_h + p.pad_b);
  g.pw = static_cast<size_t>(p.pad_l + p.in_w + p.pad_r);
  const size_t sh = static_cast<size_t>(p.sh), sw = static_cast<size_t>(p.sw);
  const size_t r_max = static_cast<size_t>((p.kh - 1) * p.dh), c_max = static_cast<size_t>((p.kw - 1) * p.dw);
  g.vw = (g.pw + sw - 1) / sw;
  const size_t qh = (g.ph + sh - 1) / sh;
  g.nvp = RoundUp((static_cast<size_t>(g.oh) - 1) * g.vw + static_cast<size_t>(g.ow), 8);
  g.phase = RoundUp(std::max(qh * g.vw, g.nvp + (r_max / sh) * g.vw + c_max / sw), 8);
  g.plane = sh * sw * g.phase;
  return g;
}

struct Buffers {
  float* planes;  // depthwise: one plane; dense: cin planes
  float* v;       // virtual accumulators [nvp]
  float* d;       // compacted accumulators [oh*ow] (+ 8 lanes of slack)
  float* wts;     // weights as fp32: depthwise [kh*kw]; dense [cin][kh*kw]
  size_t* off;    // tap offsets [kh*kw]
};

size_t Carve(const tte_conv_params& p, const Geom& g, uint8_t* base, Buffers* b) {
  const bool dw = IsDepthwise(p);
  const size_t kk = static_cast<size_t>(p.kh) * static_cast<size_t>(p.kw);
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
  if (!IsWhole(p) || !SaneGeometry(p)) return false;
  if (p.out.h < 1 || p.out.w < 1 || p.in_h < 1 || p.in_w < 1) return false;
  const bool dw = IsDepthwise(p);
  if (!dw && !(p.groups == 1 && !p.depthwise && !IsPointwise(p))) return false;
  const int64_t taps = static_cast<int64_t>(p.kh) * p.kw * (dw ? 1 : p.cin);
  return taps * MaxAbsShifted(p.x_zero) * 128 < (int64_t{1} << 24);
}

size_t DirectFwdScratchBytes(const tte_conv_params& p) {
  if (!DirectFwdApplies(p)) return 0;
  Buffers b;
  return Carve(p, MakeGeom(p), nullptr, &b);
}

#if TTE_HOST_X86
namespace {

// Prepares one input plane (x - x_zero as fp32, zero padded, split into the stride's phase planes).
TTE_AVX2 void PreparePlane(const Geom& g, const int8_t* xc, int32_t x_zero, float* dst) {
  std::memset(dst, 0, g.plane * sizeof(float));
  const __m256i z = _mm256_set1_epi32(x_zero);
  const size_t w = static_cast<size_t>(g.w), sh = static_cast<size_t>(g.sh), sw = static_cast<size_t>(g.sw);
  const size_t pad_l = static_cast<size_t>(g.pad_l);
  for (int32_t r = 0; r < g.h; ++r) {
    const int8_t* src = xc + static_cast<size_t>(r) * w;
    // Padded row pr = r + pad_t lands in phase row pr % sh, at row pr / sh of its phase planes.
    const size_t pr = static_cast<size_t>(r + g.pad_t), row0 = (pr / sh) * g.vw;
    float* phases = dst + (pr % sh) * sw * g.phase;  // the sw phase planes of that row phase
    size_t c = 0;
    if (sw == 1) {
      float* row = phases + row0 + pad_l;
      for (; c + 8 <= w; c += 8) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + c)));
        _mm256_storeu_ps(row + c, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)));
      }
      for (; c < w; ++c) row[c] = static_cast<float>(src[c] - x_zero);
    } else if (sw == 2) {
      // Padded column pc = c + pad_l lands in phase pc % 2 at column pc / 2.
      float* qa = phases;           // even padded columns
      float* qb = qa + g.phase;     // odd padded columns
      const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
      for (; c + 16 <= w; c += 16) {
        // Columns c, c+2, ... (ev) and c+1, c+3, ... (od).
        const __m128i v = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + c)), split);
        const __m256 ev = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(v), z));
        const __m256 od = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)), z));
        const size_t pc = c + pad_l;
        if ((pc & 1) == 0) {
          _mm256_storeu_ps(qa + row0 + pc / 2, ev);
          _mm256_storeu_ps(qb + row0 + pc / 2, od);
        } else {
          _mm256_storeu_ps(qb + row0 + pc / 2, ev);
          _mm256_storeu_ps(qa + row0 + pc / 2 + 1, od);
        }
      }
      for (; c < w; ++c) {
        const size_t pc = c + pad_l;
        ((pc & 1) ? qb : qa)[row0 + pc / 2] = static_cast<float>(src[c] - x_zero);
      }
    } else {
      for (; c < w; ++c) {
        const size_t pc = c + pad_l;
        phases[(pc % sw) * g.phase + row0 + pc / sw] = static_cast<float>(src[c] - x_zero);
      }
    }
  }
}

// Tap offsets into a prepared plane, in (kh, kw) order.
void TapOffsets(const Geom& g, size_t* off) {
  const size_t sh = static_cast<size_t>(g.sh), sw = static_cast<size_t>(g.sw);
  for (int32_t kh = 0; kh < g.kh; ++kh)
    for (int32_t kw = 0; kw < g.kw; ++kw) {
      const size_t R = static_cast<size_t>(kh * g.dh), C = static_cast<size_t>(kw * g.dw);
      off[kh * g.kw + kw] = ((R % sh) * sw + C % sw) * g.phase + (R / sh) * g.vw + C / sw;
    }
}

// V[q] = sum over planes and taps of w * plane[q + off], q in [0, nvp). Exact (integers < 2^24).
TTE_AVX2 void Accumulate(const Geom& g, const float* planes, size_t nplanes, const float* wts, const size_t* off,
                         float* v) {
  const size_t kk = static_cast<size_t>(g.kh) * static_cast<size_t>(g.kw);
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
  const size_t base = static_cast<size_t>(o) * n_out;
  if (p.requant == TTE_REQUANT_TFLITE) {
    const int32_t bias = p.bias_i32 ? p.bias_i32[o] : 0;
    for (size_t q = 0; q < n_out; q += 8) {
      const int count = n_out - q < 8 ? static_cast<int>(n_out - q) : 8;
      const __m256i acc = _mm256_cvtps_epi32(_mm256_loadu_ps(b.d + q));  // exact integers
      uint32_t in_range;
      const __m128i r = RequantTflite8(acc, bias, p.mult[o], p.shift[o], p.y_zero, p.act_min, p.act_max, &in_range);
      StoreBytes(y + base + q, r, count);
      if (mask) WriteMaskBits(mask, base + q, in_range, count);
    }
    return;
  }
  const __m256 bias = _mm256_set1_ps(BiasOf(p, o)), eff = _mm256_set1_ps(p.eff[o]);
  const __m256 yz = _mm256_set1_ps(static_cast<float>(p.y_zero));
  const __m256 lo = _mm256_set1_ps(static_cast<float>(p.act_min)), hi = _mm256_set1_ps(static_cast<float>(p.act_max));
  const bool int_bias = fault == Fault::kIntegerBiasAdd && p.bias_i32;
  const bool excl = fault == Fault::kMaskExcludes127;
  for (size_t q = 0; q < n_out; q += 8) {
    const int count = n_out - q < 8 ? static_cast<int>(n_out - q) : 8;
    const __m256 acc = _mm256_loadu_ps(b.d + q);  // exact integers; lanes past n_out are ignored
    const __m256 t = int_bias ? _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_cvttps_epi32(acc),
                                                                    _mm256_set1_epi32(p.bias_i32[o])))
                              : _mm256_add_ps(acc, bias);
    uint32_t in_range;
    const __m128i r = Requant8(t, eff, yz, lo, hi, excl, &in_range);
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
  const size_t kk = static_cast<size_t>(p.kh) * static_cast<size_t>(p.kw);
  const size_t in_plane = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const Fault fault = CurrentFault();
  // The slack lanes of d (past oh*ow) are read by the last requant vector: keep them defined.
  std::memset(b.d, 0, RoundUp(static_cast<size_t>(g.oh) * static_cast<size_t>(g.ow), 8) * sizeof(float));
  if (IsDepthwise(p)) {
    // Input plane i is prepared in scratch before the output planes of its channels (i*m .. i*m + m - 1)
    // are written: with m == 1, host::ConvDepthwiseInPlace relies on this to run with y == x. Keep it so.
    const int32_t m = p.cout / p.cin;
    for (int32_t i = 0; i < p.cin; ++i) {
      PreparePlane(g, x + static_cast<size_t>(i) * in_plane, p.x_zero, b.planes);
      for (int32_t o = i * m; o < (i + 1) * m; ++o) {
        const int8_t* wr = tte_weight_row(&p.w, o, 0, i, static_cast<int32_t>(kk), 1, 1);
        for (size_t t = 0; t < kk; ++t) b.wts[t] = static_cast<float>(wr[t]);
        Accumulate(g, b.planes, 1, b.wts, b.off, b.v);
        Finish(p, g, b, o, y, mask, fault);
      }
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
