/*
 * layout.c - ops that only move elements: constant padding of a [C,H,W] tensor (TFLite PAD with the
 * output zero point) and the reshape of TFLite's NHWC element order on tte's CHW data, each with its
 * fp32 backward (a crop; the inverse permutation).
 */
#include <string.h>

#include "kernels/tte_kernels.h"

void tte_pad_s8(const tte_pad_params* p, const int8_t* x, int8_t* y) {
  const int32_t oc = p->c + p->pad_c[0] + p->pad_c[1], oh = p->h + p->pad_h[0] + p->pad_h[1];
  const int32_t ow = p->w + p->pad_w[0] + p->pad_w[1];
  memset(y, p->value, (size_t)oc * (size_t)oh * (size_t)ow);
  for (int32_t c = 0; c < p->c; ++c)
    for (int32_t r = 0; r < p->h; ++r)
      memcpy(y + ((size_t)(c + p->pad_c[0]) * (size_t)oh + (size_t)(r + p->pad_h[0])) * (size_t)ow + (size_t)p->pad_w[0],
             x + ((size_t)c * (size_t)p->h + (size_t)r) * (size_t)p->w, (size_t)p->w);
}

void tte_pad_backward_f32(const tte_pad_params* p, const float* gy, float* gx) {
  const int32_t oh = p->h + p->pad_h[0] + p->pad_h[1], ow = p->w + p->pad_w[0] + p->pad_w[1];
  for (int32_t c = 0; c < p->c; ++c)
    for (int32_t r = 0; r < p->h; ++r)
      memcpy(gx + ((size_t)c * (size_t)p->h + (size_t)r) * (size_t)p->w,
             gy + ((size_t)(c + p->pad_c[0]) * (size_t)oh + (size_t)(r + p->pad_h[0])) * (size_t)ow + (size_t)p->pad_w[0],
             (size_t)p->w * sizeof(float));
}

/* Index in the output CHW buffer of input element (c, h, w): its NHWC flat index f, then NHWC -> CHW. */
static size_t reshape_target(int32_t in_c, int32_t in_w, int32_t out_c, int32_t out_h, int32_t out_w, int32_t c, int32_t h,
                             int32_t w) {
  const size_t f = ((size_t)h * (size_t)in_w + (size_t)w) * (size_t)in_c + (size_t)c;
  const size_t pix = f / (size_t)out_c, oc = f % (size_t)out_c;
  return (oc * (size_t)out_h + pix / (size_t)out_w) * (size_t)out_w + pix % (size_t)out_w;
}

void tte_reshape_hwc_s8(int32_t in_c, int32_t in_h, int32_t in_w, int32_t out_c, int32_t out_h, int32_t out_w,
                        const int8_t* x, int8_t* y) {
  for (int32_t c = 0; c < in_c; ++c)
    for (int32_t h = 0; h < in_h; ++h)
      for (int32_t w = 0; w < in_w; ++w)
        y[reshape_target(in_c, in_w, out_c, out_h, out_w, c, h, w)] =
            x[((size_t)c * (size_t)in_h + (size_t)h) * (size_t)in_w + (size_t)w];
}

void tte_reshape_hwc_backward_f32(int32_t in_c, int32_t in_h, int32_t in_w, int32_t out_c, int32_t out_h,
                                  int32_t out_w, const float* gy, float* gx) {
  for (int32_t c = 0; c < in_c; ++c)
    for (int32_t h = 0; h < in_h; ++h)
      for (int32_t w = 0; w < in_w; ++w)
        gx[((size_t)c * (size_t)in_h + (size_t)h) * (size_t)in_w + (size_t)w] =
            gy[reshape_target(in_c, in_w, out_c, out_h, out_w, c, h, w)];
}
