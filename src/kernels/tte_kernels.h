/*
 * tte_kernels.h - the portable C99 kernel library of tte.
 *
 * The SAME source files are compiled into the host runtime and into every generated Cortex-M project,
 * so a training step gives bit-identical results on both. Rules for every kernel here:
 *   - no allocation, no globals, no I/O; scratch (if any) is a small fixed-size stack array;
 *   - a params struct plus pointers; the plain loop that reads like the math is the specification
 *     (the `*_generic` loops; tests/kernels/conv_reference.cc keeps independent oracles of them), and
 *     every fast path is gated on the exact conditions it supports and must equal it;
 *   - two integer arithmetics: the MCUNetV3 reference's fp32 simulation (TTE_REQUANT_FP32, the .pkl
 *     models: ALGORITHM.md sections 2-4, rounding half to even) and TFLite's integer kernels
 *     (TTE_REQUANT_TFLITE: ../shared/tflite/reference/ARITHMETIC.md, gemmlowp fixed point);
 *   - every fp32 reduction has ONE order, written down in the kernel's comment. Optimized variants
 *     (host SIMD, Cortex-M DSP) may vectorize only across independent outputs and must stay
 *     bit-identical to these loops (integer sums may be reordered: they are exact); they are tested
 *     against them.
 * Build with -ffp-contract=off and without -ffast-math (both host and MCU).
 *
 * Layout: batch 1, activations CHW int8, gradients CHW fp32, conv weights OIHW int8 ([cout][cin/groups]
 * [kh][kw]; depthwise [cout][1][kh][kw]). Gradients are "in the integer domain": with respect to the int8
 * value, straight through the rounding. Masks are 1 bit per element, element n at byte n >> 3, bit n & 7;
 * bit set = gradient passes (the pre-clamp value was inside the op's activation range).
 */
#ifndef TTE_KERNELS_H_
#define TTE_KERNELS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Weights split between flash (frozen) and SRAM (trainable)
 *
 * A conv weight W[O][I/g][kh][kw] is addressed by "selection channel" s: the input channel i for
 * groups == 1 convs, the OUTPUT channel o for depthwise convs (the axis along which sparse update keeps
 * a subset of channels). slot[s] gives the row of s: (slot & TTE_SLOT_TRAIN) ? train : frozen, at index
 * (slot & TTE_SLOT_INDEX). Rows hold kk = kh * kw weights. Row layouts:
 *   groups == 1 : frozen[O][n_frozen][kk]   train[O][n_train][kk]
 *   depthwise   : frozen[n_frozen][kk]      train[n_train][kk]
 * slot == NULL: every channel frozen in natural order, i.e. `frozen` is the plain OIHW tensor. Convs
 * with 1 < groups < in_channels are never split (slot == NULL, or all channels trainable in order).
 * --------------------------------------------------------------------------------------------- */
/* Hot loops get an AVX2 variant on x86-64 hosts, chosen at run time (GCC function multi-versioning); the
 * baseline build stays plain x86-64. Integer math is exact and fp32 ops are the same IEEE operations (no FMA
 * contraction: -ffp-contract=off), so every variant gives identical bits. Empty on the MCU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TTE_NO_MULTIVERSION)
#define TTE_HOT __attribute__((target_clones("avx2", "default")))
#else
#define TTE_HOT
#endif
/* Bodies inlined into each (kernel size, stride, requant mode) specialization so that they are constants, and
 * complete unrolling of the short kw loops (gcc -O2 keeps them loops otherwise). Performance only. */
#if defined(__GNUC__)
#define TTE_SPECIALIZE static inline __attribute__((always_inline))
#else
#define TTE_SPECIALIZE static inline
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define TTE_UNROLL _Pragma("GCC unroll 8")
#else
#define TTE_UNROLL
#endif
/* A hot loop compiled as a function of its own (inlined into a larger caller, GCC allocates its registers
 * worse: measured on the Cortex-M7). Performance only. */
#if defined(__GNUC__)
#define TTE_OUTLINE __attribute__((noinline))
#else
#define TTE_OUTLINE
#endif

#define TTE_SLOT_TRAIN 0x8000u
#define TTE_SLOT_INDEX 0x7fffu

typedef struct {
  const int8_t* frozen;
  int8_t* train;
  const uint16_t* slot; /* [selection channels] or NULL */
  int32_t n_frozen, n_train;
} tte_weights;

/* Pointer to the kk weights of (output channel o, input channel i); depthwise rows are selected by o. */
static inline const int8_t* tte_weight_row(const tte_weights* w, int32_t o, int32_t i_in_group, int32_t i_abs,
                                           int32_t kk, int depthwise, int32_t in_per_group) {
  if (!w->slot) return w->frozen + ((size_t)o * (size_t)in_per_group + (size_t)i_in_group) * (size_t)kk;
  {
    uint16_t sl = w->slot[depthwise ? o : i_abs];
    int32_t row = (int32_t)(sl & TTE_SLOT_INDEX);
    if (depthwise) return ((sl & TTE_SLOT_TRAIN) ? w->train : w->frozen) + (size_t)row * (size_t)kk;
    if (sl & TTE_SLOT_TRAIN) return w->train + ((size_t)o * (size_t)w->n_train + (size_t)row) * (size_t)kk;
    return w->frozen + ((size_t)o * (size_t)w->n_frozen + (size_t)row) * (size_t)kk;
  }
}

/* ------------------------------------------------------------------------------------------------
 * Forward (int8)
 * --------------------------------------------------------------------------------------------- */

/* A rectangle of a feature map, in full-tensor coordinates. */
typedef struct {
  int32_t y0, x0, h, w;
} tte_window;

/* Requantization of int32 accumulators to int8 (conv, add, average pool). */
enum { TTE_REQUANT_FP32 = 0, TTE_REQUANT_TFLITE = 1 };

typedef struct {
  int32_t cin, cout, groups;
  int32_t depthwise;       /* 1: groups == cin and output channel o reads only input channel o / (cout / cin)
                              (depth multiplier cout / cin >= 1); weights [cout][1][kh][kw]; the weight slot /
                              selection channel is the OUTPUT channel. Set by the caller, never inferred (a
                              cin == 1, groups == 1 dense conv has the same weight layout). */
  int32_t kh, kw, sh, sw, dh, dw;   /* kernel, stride, dilation per axis (all >= 1) */
  int32_t pad_t, pad_b, pad_l, pad_r; /* zero padding (in the shifted domain: value x_zero) */
  int32_t in_h, in_w;      /* full input size: positions outside it are padding */
  tte_window in_buf;       /* the part of the input held in the x buffer ([cin][in_buf.h][in_buf.w]) */
  tte_window out;          /* the part of the output to compute */
  tte_window out_buf;      /* the part of the output held in the y buffer ([cout][out_buf.h][out_buf.w]),
                              containing `out` (patch-based execution writes a patch into the whole tensor) */
  int32_t x_zero, y_zero;
  int32_t act_min, act_max; /* output clamp (fused activation), -128 <= act_min <= act_max <= 127 */
  int32_t requant;         /* TTE_REQUANT_* */
  tte_weights w;           /* rows of kh * kw */
  const int32_t* bias_i32; /* FP32 mode: exactly one of bias_i32 / bias_f32; TFLITE mode: bias_i32 (may be
                              NULL = no bias) */
  const float* bias_f32;   /* fp32 master bias (reference simulation mode) */
  const float* eff;        /* [cout] FP32 mode: the requant scale x_scale*w_scale/y_scale as float32; both
                              modes: the backward's straight-through scale */
  const int32_t* mult;     /* [cout] TFLITE mode: Q31 multipliers (tte_quantize_multiplier) */
  const int32_t* shift;    /* [cout] TFLITE mode: exponents (positive = left shift) */
} tte_conv_params;

/*
 * acc = sum over taps inside the input of (x - x_zero) * w, int32 (exact; padded taps contribute
 * nothing), tap (kh, kw) of output (Y, X) at input (Y*sh - pad_t + kh*dh, X*sw - pad_l + kw*dw). Then
 *   FP32:   v = rint(((float)acc + bias) * eff[o]) + y_zero, in fp32 exactly as the reference's fp32
 *           simulation (bias = bias_f32[o] or (float)bias_i32[o]);
 *   TFLITE: v = tte_mbqm(bias_i32[o] + acc, mult[o], shift[o]) + y_zero (int32);
 * y = clamp(v, act_min, act_max); mask (may be NULL; whole tensors, or the out_buf layout): bit set iff
 * act_min <= v <= act_max. tte_conv_whole() fills the windows for whole tensors.
 */
void tte_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);
/* in_h, in_w and the windows of whole tensors (in_buf = input, out = out_buf = the whole output), from
 * the kernel, stride, dilation and the four pads already in p. */
void tte_conv_whole(tte_conv_params* p, int32_t in_h, int32_t in_w);
/* Output size of one axis: (in + pad_before + pad_after - dilation * (k - 1) - 1) / stride + 1, or 0 when
 * the input (padded) is smaller than the dilated kernel. */
int32_t tte_window_out_size(int32_t in, int32_t k, int32_t stride, int32_t dilation, int32_t pad_before,
                            int32_t pad_after);

/* Depthwise conv (multiplier 1) IN PLACE: buf holds the input [C][in_h][in_w] and receives the output
 * [C][out.h][out.w] at its start (whole tensors). Channel by channel, the output plane is computed into
 * scratch (out.h * out.w bytes) and copied to plane c of the output layout; plane c of the output never
 * overlaps an input plane not yet read when out.h*out.w <= in_h*in_w (the caller's precondition). */
void tte_conv_dw_inplace_s8(const tte_conv_params* p, int8_t* buf, int8_t* scratch, uint8_t* mask);

/* ---- TFLite integer arithmetic (ARITHMETIC.md sections 1, 2, 4) */

/* real -> (Q31 multiplier, exponent) as TFLite's QuantizeMultiplier: frexp, round half away from zero,
 * 2^31 -> 2^30 with exponent + 1, exponents below -31 flush to (0, 0). */
void tte_quantize_multiplier(double real, int32_t* mult, int32_t* shift);
/* MultiplyByQuantizedMultiplier, default double rounding: RoundingDivideByPOT(SRDHM(x * 2^max(shift, 0),
 * mult), max(-shift, 0)) (x * 2^left wraps in int32 as TFLite's int32 product does). */
int32_t tte_mbqm(int32_t x, int32_t mult, int32_t shift);

/* ---- residual add */
typedef struct {
  int32_t n;
  int32_t z1, z2, zy;
  float s1, s2, sy;          /* FP32 mode: the requant; both modes: the backward's scales */
  int32_t act_min, act_max;  /* output clamp */
  int32_t requant;           /* TTE_REQUANT_* */
  int32_t left_shift;        /* TFLITE mode (tte_add_tflite_constants): 20 */
  int32_t mult1, shift1, mult2, shift2, mult_out, shift_out;
} tte_add_params;

/* FP32:   v = rint(((x1 - z1)*s1 + (x2 - z2)*s2) / sy) + zy, fp32, evaluated in that order;
 * TFLITE: a = tte_mbqm((x1 - z1) << left_shift, mult1, shift1), b likewise, v = tte_mbqm(a + b, mult_out,
 *         shift_out) + zy (ARITHMETIC.md section 4);
 * y = clamp(v, act_min, act_max); mask (may be NULL): bit set iff act_min <= v <= act_max. */
void tte_add_s8(const tte_add_params* p, const int8_t* x1, const int8_t* x2, int8_t* y, uint8_t* mask);
/* The TFLITE constants of p from the three scales (as TFLite's float32 scales, widened to double):
 * left_shift = 20, t = 2 max(s1, s2), (mult1, shift1) = Q(s1 / t), (mult2, shift2) = Q(s2 / t),
 * (mult_out, shift_out) = Q(t / (2^20 sy)), Q = tte_quantize_multiplier. */
void tte_add_tflite_constants(double s1, double s2, double sy, tte_add_params* p);

/* ---- average pool */

/* y[c] = rint(sum_p x[c][p] / (float)hw); sum exact in int32, converted to float, one division (the
 * .pkl models' global pool; equal to tte_avgpool2d_s8 in FP32 mode with one hw window). */
void tte_avgpool_s8(int32_t c, int32_t hw, const int8_t* x, int8_t* y);

typedef struct {
  int32_t c, in_h, in_w, out_h, out_w;
  int32_t kh, kw, sh, sw, pad_t, pad_l; /* window (oy, ox) starts at (oy*sh - pad_t, ox*sw - pad_l) */
  int32_t act_min, act_max;
  int32_t requant;                      /* TTE_REQUANT_* */
} tte_pool_params;

/* Average pool over windows: sum = the int32 sum of the raw int8 values of the window's positions inside
 * the input, n = their count (padding counts for nothing). Input and output share scale and zero point.
 *   FP32:   v = rint((float)sum / (float)n);
 *   TFLITE: v = sum > 0 ? (sum + n/2) / n : (sum - n/2) / n (C division: half away from zero;
 *           ARITHMETIC.md section 5);
 * (n == 0, a window entirely in the padding: v = 0.) y = clamp(v, act_min, act_max); mask (may be NULL):
 * bit set iff act_min <= v <= act_max. */
void tte_avgpool2d_s8(const tte_pool_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

/* ---- mean over H and W (TFLite MEAN, int8, keep_dims or not: the same [C] values) */
typedef struct {
  int32_t c, hw;
  int32_t x_zero, y_zero;
  int32_t same_quant;  /* 1: input and output have equal scale and zero point */
  int32_t mult, shift; /* tte_quantize_multiplier(s_x / s_y) */
  float s_x, s_y;      /* the backward's scales */
} tte_mean_params;

/* TFLite Micro's int8 MEAN (tflite-micro 90b983c2, micro/kernels/reduce_common.cc EvalIntegerMean and
 * kernels/internal/reference/reduce.h), with sum = the int32 sum of the raw values of channel c, n = hw:
 *   same_quant: y = sum / n (C division, truncating toward zero: reference_ops::Mean);
 *   otherwise (QuantizedMeanOrSum): k = min(floor(log2 n), 32, 31 + shift), mult' = (mult * 2^k) / n
 *     (int64, truncating), y = clamp(tte_mbqm(sum - x_zero * n, mult', shift - k) + y_zero, -128, 127).
 * mask (may be NULL): bit c set iff the value before the clamp was inside [-128, 127]. */
void tte_mean_s8(const tte_mean_params* p, const int8_t* x, int8_t* y, uint8_t* mask);
/* Fills p from the float32 scales and zero points as TFLite's Prepare does (mult, shift from
 * (double)s_x / (double)s_y; same_quant when s_x == s_y and x_zero == y_zero). */
void tte_mean_tflite_init(tte_mean_params* p, int32_t c, int32_t hw, float s_x, int32_t x_zero, float s_y,
                          int32_t y_zero);

/* ---- layout ops */
typedef struct {
  int32_t c, h, w;                       /* input [c][h][w] */
  int32_t pad_c[2], pad_h[2], pad_w[2];  /* before, after (>= 0) */
  int32_t value;                         /* the padding value: the output zero point */
} tte_pad_params;

/* y [c + pad_c[0] + pad_c[1]][h + ...][w + ...] = value, with x at offset (pad_c[0], pad_h[0], pad_w[0]). */
void tte_pad_s8(const tte_pad_params* p, const int8_t* x, int8_t* y);

/* Reshape in TFLite's NHWC order on tte's CHW data: x is [in_c][in_h][in_w] (CHW), y [out_c][out_h][out_w]
 * (CHW) holds the elements of the NHWC-order reshape: element (c, h, w) of x is NHWC element
 * f = (h * in_w + w) * in_c + c, which lands at y[f % out_c][(f / out_c) / out_w][(f / out_c) % out_w].
 * Same element count on both sides; x and y must not overlap. */
void tte_reshape_hwc_s8(int32_t in_c, int32_t in_h, int32_t in_w, int32_t out_c, int32_t out_h, int32_t out_w,
                        const int8_t* x, int8_t* y);

/* ---- softmax (TFLite int8 SOFTMAX: output scale 1/256, zero point -128) */
typedef struct {
  int32_t n;           /* row length (classes) */
  int32_t input_mult;  /* input_beta_multiplier */
  int32_t input_shift; /* input_beta_left_shift (>= 0) */
  int32_t diff_min;    /* inputs more than -diff_min below the row's maximum give -128 */
} tte_softmax_params;

/* One row: TFLite's int8 softmax with gemmlowp's fixed-point exp, bit for bit (see softmax.c). */
void tte_softmax_s8(const tte_softmax_params* p, const int8_t* x, int8_t* y);
/* input_mult / input_shift / diff_min from beta and the input scale as TFLite's Prepare computes them
 * (PreprocessSoftmaxScaling with 5 integer bits, CalculateInputRadius). */
void tte_softmax_tflite_init(tte_softmax_params* p, int32_t n, double beta, double x_scale);

/* Copies the channels listed in sel (n of them) of x [C][hw] into y [n][hw] (saved-for-backward). */
void tte_gather_channels_s8(int32_t n, const uint16_t* sel, int32_t hw, const int8_t* x, int8_t* y);

/* ------------------------------------------------------------------------------------------------
 * Head (fp32 linear over dequantized pooled features) and loss
 * --------------------------------------------------------------------------------------------- */
typedef struct {
  int32_t in, out;
  int32_t x_zero;
  float x_scale;
} tte_head_params;

/* f[c] = (float)(x[c] - x_zero) * x_scale; logits[n] = b[n] + sum_c W[n][c] * f[c] (c ascending,
 * the sum accumulated from 0 and b added last). */
void tte_head_forward(const tte_head_params* p, const float* W, const float* b, const int8_t* x, float* logits);

/* Softmax cross-entropy for one sample. Returns the loss; writes dlogits = softmax - onehot.
 * Uses tte_expf / tte_logf so that host and MCU agree exactly. */
float tte_softmax_xent(int32_t n, const float* logits, int32_t label, float* dlogits);
float tte_expf(float x);
float tte_logf(float x);
/* 1 if the kernels were compiled with floating-point contraction (-ffp-contract=fast): see tte_math.c. */
int tte_fp_contracted(void);
/* a*b + c with one rounding on every target (tte_math.c). */
float tte_fmaf(float a, float b, float c);

/* ------------------------------------------------------------------------------------------------
 * Optimizer (QAS-SGD). Gradients are in the integer domain; QAS divides them by a per-channel factor
 * (s_w^2 for weights, (s_x s_w)^2 for biases; 1 when QAS is off), then SGD with optional momentum:
 *   buf = momentum * buf + g   (buf starts at 0, so the first step gives buf = g exactly)
 *   master mode : p = tte_fmaf(-lr, buf, p) on the fp32 master; the int8 weight used by the forward is
 *                 clamp(rint(p), -128, 127)  (the reference does not clamp: see docs)
 *   device mode : p = saturate(p + R(-lr * buf)) in place on int8 / int32, R = round half to even
 *                 or stochastic rounding floor(v + u), u uniform in [0,1) from a xorshift32 stream.
 * --------------------------------------------------------------------------------------------- */
enum { TTE_STORE_MASTER = 0, TTE_STORE_DEVICE = 1 };
enum { TTE_ROUND_NEAREST = 0, TTE_ROUND_STOCHASTIC = 1 };

typedef struct {
  float lr;
  float momentum;    /* 0: no momentum buffers are read or written */
  int32_t store;     /* TTE_STORE_* */
  int32_t rounding;  /* TTE_ROUND_* (device mode) */
  uint32_t* rng;     /* xorshift32 state (device mode, stochastic rounding), never 0 */
  float grad_scale;  /* gradients are multiplied by this first (1/B for a batch of B accumulated samples) */
} tte_sgd;

/* State of one trainable conv. Arrays are indexed like the trainable slice (see tte_weights). */
typedef struct {
  int32_t cout, n_train, kk, depthwise;
  const uint16_t* sel; /* [n_train] selection channel of each trainable row */
  const float* qas_w;  /* [cout] divisors for weight gradients */
  const float* qas_b;  /* [cout] divisors for bias gradients */
  int8_t* w;           /* trainable int8 slice or NULL (bias only) */
  float* w_master;     /* master mode: fp32 master of the slice */
  float* w_mom;        /* momentum buffer or NULL */
  int32_t* b;          /* device mode: int32 bias (all cout channels) or NULL if the bias is frozen */
  float* b_master;     /* master mode: fp32 master bias (also what the forward reads) */
  float* b_mom;
} tte_conv_train;

/* One weight element (slice index e, output channel o) with gradient g. */
void tte_sgd_weight(const tte_sgd* opt, const tte_conv_train* t, int32_t e, int32_t o, float g);
/* One bias element (channel c) with gradient g. */
void tte_sgd_bias(const tte_sgd* opt, const tte_conv_train* t, int32_t c, float g);
/* Plain fp32 parameter (the head): p = fmaf(-lr, buf, p) with optional momentum buffer mom. */
void tte_sgd_f32(const tte_sgd* opt, float* p, float* mom, float g);

/* ------------------------------------------------------------------------------------------------
 * Backward (fp32 gradients in the integer domain, straight-through rounding)
 * --------------------------------------------------------------------------------------------- */

/* g[c][p] = bit ? g[c][p] * (eff ? eff[c] : 1) : 0, in place. mask == NULL means all bits set. */
void tte_mask_scale_f32(int32_t c, int32_t hw, float* g, const uint8_t* mask, const float* eff);

/* Residual add: g (dL/dy, [n]) is masked in place, then (gx1 may be NULL: shortcut needs no gradient)
 *   gx1 (+)= (g * s1) / sy     (accumulate_x1: add to gx1 instead of overwriting)
 *   gx2  = (g * s2) / sy      (gx2 may alias g) */
void tte_add_backward_f32(const tte_add_params* p, float* g, const uint8_t* mask, float* gx1, int32_t accumulate_x1,
                          float* gx2);

/* acc[i] = acc[i] + g[i] (i ascending): a second consumer's gradient contribution. */
void tte_accumulate_f32(int32_t n, const float* g, float* acc);

/* g[c][p] = gp[c] / (float)hw. */
void tte_avgpool_backward_f32(int32_t c, int32_t hw, const float* gp, float* g);

/* Average pool backward (gy [c][out_h][out_w] already masked): each input position receives
 *   gx[c][y][x] = sum over the windows (oy, ox) containing it, oy then ox ascending, of gy[c][oy][ox] / (float)n
 * (n: the window's in-image count), each term a division then an addition; the sum starts at -0.0f, IEEE's
 * additive identity, so a position in exactly one window receives g / n itself (the global pool gives
 * tte_avgpool_backward_f32's bits); a position in no window receives +0.0f. Every gx element is written. */
void tte_avgpool2d_backward_f32(const tte_pool_params* p, const float* gy, float* gx);

/* Mean backward: gx[c][p] = (gy[c] * s_x) / ((float)hw * s_y) (gy already masked). */
void tte_mean_backward_f32(const tte_mean_params* p, const float* gy, float* gx);

/* Pad backward: the crop gx[c][y][x] = gy[c + pad_c[0]][y + pad_h[0]][x + pad_w[0]]. */
void tte_pad_backward_f32(const tte_pad_params* p, const float* gy, float* gx);

/* Reshape backward: gx[c][h][w] = gy at the position tte_reshape_hwc_s8 moved x[c][h][w] to (arguments as
 * the forward's: in_* is the shape of gx, out_* the shape of gy). gx and gy must not overlap. */
void tte_reshape_hwc_backward_f32(int32_t in_c, int32_t in_h, int32_t in_w, int32_t out_c, int32_t out_h,
                                  int32_t out_w, const float* gy, float* gx);

/* Conv input gradient (transposed conv with the CURRENT int8 weights; call before updating them):
 *   dx[i][y][x] (+)= sum_{o reading i, kh, kw} W(o,i,kh,kw) * g[o][ho][wo],
 *   y = ho*sh - pad_t + kh*dh, x = wo*sw - pad_l + kw*dw.
 * Order: for each dx element, o ascending, then kh, then kw; the sum starts at +0.0f and is added to
 * dx last when accumulating. g is already masked and scaled by eff. Whole tensors only. */
void tte_conv_backward_input_f32(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate);

/* Depthwise (multiplier 1) input gradient IN PLACE, for convs whose output plane has the input plane's
 * size (e.g. stride 1, "same" padding): buf holds g [C][H][W] on entry and dx [C][H][W] on exit (not
 * accumulating). Each channel's dx plane is computed into scratch (H*W floats) with exactly
 * tte_conv_backward_input_f32's order, then copied over g's plane. */
void tte_conv_dw_backward_input_inplace_f32(const tte_conv_params* p, float* buf, float* scratch);

/* Bias gradient sum_p g[c][p] (p ascending, from 0). If t != NULL the update is applied at once
 * (fused, nothing stored); otherwise it is added to db[c] (gradient buffers start at zero). */
void tte_conv_bias_grad_f32(int32_t c, int32_t hw, const float* g, float* db, const tte_sgd* opt,
                            const tte_conv_train* t);

/* Weight gradient of the trainable slice, for selection channels sel[j] (j < n):
 *   dW(o, j, kh, kw) = sum_{ho, wo} g[o][ho][wo] * (float)(xs[j][y][x] - x_zero),
 *   y = ho*sh - pad_t + kh*dh, x = wo*sw - pad_l + kw*dw
 * (ho, wo ascending, from +0.0f; out-of-range y/x contribute nothing). groups == 1: xs holds only the
 * selected input channels [n][in_h][in_w]. Depthwise: the selection channel is the output channel: dW of
 * row j belongs to output channel sel[j], g plane sel[j], and xs[j] holds input channel
 * sel[j] / (cout / cin). Grouped convs that are not depthwise (1 < groups) train every channel:
 * n == cin / groups, sel is ignored, xs holds all cin input channels in order, and dW(o, j) reads
 * xs[(o / (cout / groups)) * n + j] (layout [cout][cin / groups][kh][kw]). If t != NULL
 * each element is applied at once with tte_sgd_weight (fused: no gradient buffer exists); otherwise it
 * is added to dw[slice layout]. */
void tte_conv_weight_grad_f32(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs,
                              const float* g, float* dw, const tte_sgd* opt, const tte_conv_train* t);

/* Head backward: dx[c] = x_scale * sum_n W[n][c] * dlogits[n] (n ascending; with the OLD W; dx may be
 * NULL), then dW[n][c] = dlogits[n] * f[c], db[n] = dlogits[n] applied with tte_sgd_f32 (fused) or
 * added to gW/gb when opt == NULL. */
void tte_head_backward(const tte_head_params* p, float* W, float* b, float* mW, float* mb, const tte_sgd* opt,
                       const int8_t* x, const float* dlogits, float* dx, float* gW, float* gb);

/* Applies stored (accumulated) gradients, then zeroes the buffers: every element of grad_w (slice
 * layout) through tte_sgd_weight and grad_b[c] through tte_sgd_bias (either may be NULL). Used when
 * updates are not fused (gradient accumulation over a batch, or reordering disabled). */
void tte_conv_apply_update(const tte_sgd* opt, const tte_conv_train* t, float* grad_w, float* grad_b);
void tte_head_apply_update(const tte_head_params* p, const tte_sgd* opt, float* W, float* b, float* mW, float* mb,
                           float* gW, float* gb);

/* xorshift32: next state (never returns 0 for a non-zero state). */
static inline uint32_t tte_xorshift32(uint32_t s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

#ifdef __cplusplus
}
#endif

#endif /* TTE_KERNELS_H_ */
