/*
 * eltwise_fwd.c - int8 residual add, global average pool, and the channel gather that saves the
 * selected input channels of a trainable conv for its weight gradient.
 */
#include <math.h>
#include <string.h>

#include "kernels/tte_kernels.h"

void tte_add_s8(const tte_add_params* p, const int8_t* x1, const int8_t* x2, int8_t* y, uint8_t* mask) {
  const float zy = (float)p->zy;
  for (int32_t n = 0; n < p->n; ++n) {
    const float a = (float)((int32_t)x1[n] - p->z1) * p->s1;
    const float b = (float)((int32_t)x2[n] - p->z2) * p->s2;
    const float v = rintf((a + b) / p->sy) + zy;
    const int in_range = (v >= -128.0f) && (v <= 127.0f);
    y[n] = v < -128.0f ? (int8_t)-128 : v > 127.0f ? (int8_t)127 : (int8_t)(int32_t)v;
    if (mask) {
      if (in_range)
        mask[n >> 3] = (uint8_t)(mask[n >> 3] | (1u << (n & 7)));
      else
        mask[n >> 3] = (uint8_t)(mask[n >> 3] & ~(1u << (n & 7)));
    }
  }
}

void tte_avgpool_s8(int32_t c, int32_t hw, const int8_t* x, int8_t* y) {
  for (int32_t ch = 0; ch < c; ++ch) {
    int32_t sum = 0;
    const int8_t* xc = x + (size_t)ch * (size_t)hw;
    for (int32_t p = 0; p < hw; ++p) sum += xc[p];
    y[ch] = (int8_t)(int32_t)rintf((float)sum / (float)hw);
  }
}

void tte_gather_channels_s8(int32_t n, const uint16_t* sel, int32_t hw, const int8_t* x, int8_t* y) {
  for (int32_t j = 0; j < n; ++j) memcpy(y + (size_t)j * (size_t)hw, x + (size_t)sel[j] * (size_t)hw, (size_t)hw);
}
