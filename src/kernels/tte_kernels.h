/*
 * tte_kernels.h - the portable C99 kernel library of tte.
 *
 * The SAME source files are compiled into the host runtime and into every generated Cortex-M project,
 * so a training step gives bit-identical results on both. Rules for every kernel here:
 *   - no allocation, no globals, no I/O; scratch (if any) is a small fixed-size stack array;
 *   - the math of the reference implementation (ALGORITHM.md sections 2-4), rounding half to even;
 *   - every fp32 reduction has ONE order, written down in the kernel's comment. Optimized variants
 *     (host SIMD, Cortex-M DSP) may vectorize only across independent outputs and must stay
 *     bit-identical to these loops; they are tested against them.
 * Build with -ffp-contract=off and without -ffast-math (both host and MCU).
 *
 * Layout: batch 1, activations CHW int8, gradients CHW fp32, weights OIHW int8.
 * Masks are 1 bit per element, element n at byte n >> 3, bit n & 7; bit set = gradient passes.
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
 * A conv weight W[O][I/g][k][k] is addressed by "selection channel" s: the input channel i for
 * groups == 1 convs, the channel c for depthwise convs (the axis along which sparse update keeps a
 * subset of channels). slot[s] gives the row of s: (slot & TTE_SLOT_TRAIN) ? train : frozen, at index
 * (slot & TTE_SLOT_INDEX). Row layouts:
 *   groups == 1 : frozen[O][n_frozen][k*k]   train[O][n_train][k*k]
 *   depthwise   : frozen[n_frozen][k*k]      train[n_train][k*k]
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
/* Bodies inlined into each (kernel size, stride) specialization so that k and stride are constants, and
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

#define TTE_SLOT_TRAIN 0x8000u
#define TTE_SLOT_INDEX 0x7fffu

typedef struct {
  const int8_t* frozen;
  int8_t* train;
  const uint16_t* slot; /* [selection channels] or NULL */
  int32_t n_frozen, n_train;
} tte_weights;

/* Pointer to the k*k weights of (output channel o, input channel i). */
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

typedef struct {
  int32_t cin, cout, k, stride, pad, groups;
  int32_t in_h, in_w;      /* full input size: positions outside it are padding (value x_zero) */
  tte_window in_buf;       /* the part of the input held in the x buffer ([cin][in_buf.h][in_buf.w]) */
  tte_window out;          /* the part of the output to compute */
  tte_window out_buf;      /* the part of the output held in the y buffer ([cout][out_buf.h][out_buf.w]),
                              containing `out` (patch-based execution writes a patch into the whole tensor) */
  int32_t x_zero, y_zero;
  tte_weights w;
  const int32_t* bias_i32; /* exactly one of bias_i32 / bias_f32 is non-NULL */
  const float* bias_f32;   /* fp32 master bias (reference simulation mode) */
  const float* eff;        /* [cout] effective scale x_scale*w_scale/y_scale as float32 */
} tte_conv_params;

/*
 * y = clamp(rint(((float)acc + bias) * eff[c]) + y_zero, -128, 127), acc = sum (x - x_zero) * w
 * (int32, exact). The addition and multiplication are fp32, exactly as the reference's fp32
 * simulation. mask (may be NULL; only for whole tensors): bit set iff -128 <= rint(..) + y_zero <= 127.
 * Common case helper: tte_conv_whole() fills the windows for whole tensors.
 */
void tte_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);
void tte_conv_whole(tte_conv_params* p, int32_t in_h, int32_t in_w);
int32_t tte_conv_out_size(int32_t in, int32_t k, int32_t stride, int32_t pad);

/* Depthwise conv IN PLACE: buf holds the input [C][in_h][in_w] and receives the output
 * [C][out.h][out.w] at its start (whole tensors). Channel by channel, the output plane is computed into
 * scratch (out.h * out.w bytes) and copied to plane c of the output layout; plane c of the output never
 * overlaps an input plane not yet read, for any stride, because out.h*out.w <= in_h*in_w. */
void tte_conv_dw_inplace_s8(const tte_conv_params* p, int8_t* buf, int8_t* scratch, uint8_t* mask);

typedef struct {
  int32_t n;
  int32_t z1, z2, zy;
  float s1, s2, sy;
} tte_add_params;

/* y = clamp(rint(((x1 - z1)*s1 + (x2 - z2)*s2) / sy) + zy), fp32, evaluated in that order. */
void tte_add_s8(const tte_add_params* p, const int8_t* x1, const int8_t* x2, int8_t* y, uint8_t* mask);

/* y[c] = rint(sum_p x[c][p] / (float)hw); sum exact in int32, converted to float, one division. */
void tte_avgpool_s8(int32_t c, int32_t hw, const int8_t* x, int8_t* y);

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

/* Conv input gradient (transposed conv with the CURRENT int8 weights; call before updating them):
 *   dx[i][y][x] (+)= sum_{o in group, kh, kw} W(o,i,kh,kw) * g[o][ho][wo], y = ho*s - pad + kh.
 * Order: for each dx element, o ascending, then kh, then kw; the sum starts at 0 and is added to
 * dx last when accumulating. g is already masked and scaled by eff. Whole tensors only. */
void tte_conv_backward_input_f32(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate);

/* Depthwise stride-1 input gradient IN PLACE: buf holds g [C][H][W] on entry and dx [C][H][W] on exit
 * (not accumulating). Each channel's dx plane is computed into scratch (H*W floats) with exactly
 * tte_conv_backward_input_f32's order, then copied over g's plane. */
void tte_conv_dw_backward_input_inplace_f32(const tte_conv_params* p, float* buf, float* scratch);

/* Bias gradient sum_p g[c][p] (p ascending, from 0). If t != NULL the update is applied at once
 * (fused, nothing stored); otherwise it is added to db[c] (gradient buffers start at zero). */
void tte_conv_bias_grad_f32(int32_t c, int32_t hw, const float* g, float* db, const tte_sgd* opt,
                            const tte_conv_train* t);

/* Weight gradient of the trainable slice, for selection channels sel[j] (j < n):
 *   dW(o, j, kh, kw) = sum_{ho, wo} g[o][ho][wo] * (float)(xs[j][y][x] - x_zero), y = ho*s - pad + kh
 * (ho, wo ascending; out-of-range y/x contribute nothing). xs holds only the selected input channels
 * [n][in_h][in_w]. Grouped convs that are not depthwise (1 < groups, groups != cin or cout != cin)
 * train every channel: n == cin / groups, sel is ignored, xs holds all cin input channels in order, and
 * dW(o, j) reads xs[(o / (cout / groups)) * n + j] (layout [cout][cin / groups][k][k]). If t != NULL
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
