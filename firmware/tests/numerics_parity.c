/*
 * numerics_parity.c - does the Cortex-M7 (FPv5-SP, newlib) compute the same bits as the host
 * (x86-64, glibc) for every kind of operation tte's kernels use? C99, builds for both.
 *
 * A deterministic PRNG (splitmix64) drives ~1.9 M operations in categories (rintf/nearbyintf of
 * fp32 products with exact .5 ties, int->float conversions, fp32 + - * /, fmaf, floorf, clamped
 * float->int, the conv/add/avg-pool requantization formulas of docs/DESIGN.md, exp/log, int8 dot
 * products, int64 arithmetic, soft double). Every result is folded into a 64-bit checksum per
 * category. Output, one line per category, then the total over the gated categories:
 *   target=m7 n_per_category=65536
 *   cat rintf_prod gated=1 n=65536 checksum=0123456789abcdef
 *   ...
 *   checksum=<16 hex digits>
 * gated=1: kernels rely on it, host and MCU must agree (tests/firmware/parity_test.sh fails
 * otherwise). gated=0: informational, known to differ (libm expf/logf/out-of-line fmaf, NaN bit
 * patterns, out-of-range float->int, which is undefined behaviour in C anyway).
 * NaN results are folded as one canonical value in gated categories (x86 makes 0xffc00000,
 * Arm 0x7fc00000); the nan_bits category shows the raw patterns.
 *
 * Build options: -DPARITY_N=<ops per category> (default 65536);
 *   -DPARITY_WITH_KERNELS: also check tte_expf, tte_logf and tte_sgd_f32 from src/kernels (link the
 *   kernel library, -I src), as the CTest does;
 *   -DPARITY_DUMP=<category index>: run only that category and print every result
 *   ("d <inputs...> <result>" in hex), so host and MCU dumps can be diffed line by line.
 * On the MCU, mcu_mark() is called before (mark 2i) and after (mark 2i+1) category i, so the
 * insncount plugin's delta at mark 2i+1 is the exact instruction count of category i.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcu.h"
#ifdef PARITY_WITH_KERNELS
#include "kernels/tte_kernels.h"
#endif

#ifndef PARITY_N
#define PARITY_N 65536
#endif
#define N PARITY_N

/* ---- PRNG and bit helpers ---- */
static uint64_t rng;
static uint64_t next64(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t next32(void) { return (uint32_t)(next64() >> 32); }
static uint32_t below(uint32_t n) { return next32() % n; }
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
/* Keeps the compiler from folding fixed test values at compile time (GCC folds with MPFR). */
static float opaque(float x) { volatile float v = x; return v; }
static float pow2f(int k) { return u2f((uint32_t)(k + 127) << 23); } /* -126 <= k <= 127 */

/* ---- checksum ---- */
typedef struct { uint64_t h; uint32_t n; } sum_t;
static void fold32(sum_t *s, uint32_t v)
{
    s->h ^= v;
    s->h *= 0x9E3779B97F4A7C15ull;
    s->h ^= s->h >> 29;
    s->n++;
}
static void fold64(sum_t *s, uint64_t v) { fold32(s, (uint32_t)v); s->n--; fold32(s, (uint32_t)(v >> 32)); }
static uint32_t canon(float r) { return r != r ? 0x7fc00000u : f2u(r); }
static void fold_d(sum_t *s, double r) { fold64(s, r != r ? 0x7ff8000000000000ull : d2u(r)); }

#ifdef PARITY_DUMP
#define DUMP(...) printf(__VA_ARGS__)
#else
#define DUMP(...) ((void)0)
#endif
static void fold_f(sum_t *s, float r) { DUMP("d %08lx\n", (unsigned long)canon(r)); fold32(s, canon(r)); }
static void fold_i(sum_t *s, int32_t r) { DUMP("d %08lx\n", (unsigned long)(uint32_t)r); fold32(s, (uint32_t)r); }
static void fold_un(sum_t *s, float x, float r)
{
    (void)x;
    DUMP("d %08lx %08lx\n", (unsigned long)f2u(x), (unsigned long)canon(r));
    fold32(s, canon(r));
}
static void fold_tri(sum_t *s, float a, float b, float c, float r)
{
    (void)a, (void)b, (void)c;
    DUMP("d %08lx %08lx %08lx %08lx\n", (unsigned long)f2u(a), (unsigned long)f2u(b), (unsigned long)f2u(c),
         (unsigned long)canon(r));
    fold32(s, canon(r));
}

/* ---- input generators ---- */
static float rand_bits_finite(void)
{
    uint32_t u;
    do u = next32(); while ((u & 0x7f800000u) == 0x7f800000u);
    return u2f(u);
}
static float rand_unit(void) { return (float)(next32() >> 8) * (1.0f / 16777216.0f); } /* [0,1) */
static float rand_sym(float r) { return (2.0f * rand_unit() - 1.0f) * r; }
/* random sign, exponent in [emin, emax] (normal), random mantissa */
static float rand_exp(int emin, int emax)
{
    uint32_t e = (uint32_t)(emin + (int)below((uint32_t)(emax - emin + 1)) + 127);
    return u2f((next32() & 0x80000000u) | (e << 23) | (next32() >> 9));
}
static float rand_mixed(void)
{
    switch (below(8)) {
    case 0: case 1: return rand_bits_finite();
    case 2: return rand_sym(1.0f);
    case 3: return rand_sym(1000.0f);
    case 4: return (float)((int32_t)below(2001) - 1000) * 0.5f; /* halves: exact ties */
    case 5: return rand_exp(-30, 30);
    case 6: return u2f(next32() & 0x807fffffu);                 /* subnormal */
    default: return (float)(int32_t)next32();
    }
}
/* a, b whose product is often an exact .5 tie or one ulp away from one */
static void gen_prod(uint32_t i, float *a, float *b)
{
    if ((i & 3) < 2) {
        int32_t odd = (int32_t)(2u * below(1u << 23) + 1u) * ((next32() & 1) ? -1 : 1); /* |odd| < 2^24 */
        int m = (int)below(21);
        *a = (float)odd * pow2f(-m);
        *b = pow2f(m - 1); /* a*b = odd/2 exactly */
        if ((i & 3) == 1) *b = u2f(f2u(*b) + ((next32() & 1) ? 1u : (uint32_t)-1)); /* near tie */
    } else {
        *a = rand_mixed();
        *b = (i & 4) ? rand_mixed() : rand_sym(4.0f);
    }
}
static float gen_clamp_input(void)
{
    float x = rand_mixed() * ((next32() & 1) ? 1.0f : 1e-3f);
    if (!(x >= -2147483648.0f)) x = -2147483648.0f;
    if (x > 2147483520.0f) x = 2147483520.0f; /* largest float below 2^31 */
    return x;
}
static float gen_exp_input(uint32_t i)
{
    switch (i & 3) {
    case 0: return -104.0f + rand_unit() * 192.8f; /* whole finite-result domain */
    case 1: return -rand_unit() * 20.0f;           /* softmax after max subtraction */
    case 2: return rand_sym(1.0f);
    default: return rand_exp(-40, 6);
    }
}
static float gen_log_input(uint32_t i)
{
    switch (i & 3) {
    case 0: return fabsf(rand_bits_finite());
    case 1: return rand_unit() + 1e-30f;
    case 2: return 1.0f + rand_sym(1e-3f);
    default: return u2f(next32() & 0x007fffffu); /* subnormal (and zero) */
    }
}

/* ---- categories: gated ---- */
static void c_rintf_prod(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float a, b; gen_prod(i, &a, &b); fold_tri(s, a, b, 0, rintf(a * b)); }
}
static void c_nearbyintf_prod(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float a, b; gen_prod(i, &a, &b); fold_tri(s, a, b, 0, nearbyintf(a * b)); }
}
static void c_floorf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float a, b; gen_prod(i, &a, &b); fold_tri(s, a, b, 0, floorf(a * b)); }
}
static void c_i32_to_f32(sum_t *s)
{
    static const int32_t fixed[] = {INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, 16777216, 16777217,
                                    16777219, -16777217, -16777219, 0, -1, 2147483584, 2147483583};
    for (uint32_t i = 0; i < N; i++) {
        int32_t x;
        switch (i % 6) {
        case 0: x = (int32_t)next32(); break;
        case 1: x = (int32_t)below(1u << 25) - (1 << 24); break;
        case 2: x = (int32_t)(16777216u + below(256)) * ((next32() & 1) ? -1 : 1); break;
        case 3: x = (int32_t)(next32() | 0x40000000u) & 0x7fffffff; break; /* 2^30..2^31 */
        case 4: x = INT32_MAX - (int32_t)below(512); break;
        default: x = i / 6 < sizeof fixed / sizeof fixed[0] ? fixed[i / 6] : INT32_MIN + (int32_t)below(512);
        }
        fold_f(s, (float)x);
    }
}
static void c_i64_to_f32(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        int64_t x = (int64_t)next64();
        if (i & 1) x >>= below(63);
        if (i % 7 == 0) x = (i & 8) ? INT64_MIN : INT64_MAX - (int64_t)below(1u << 20);
        fold_f(s, (float)x);
    }
}
static void c_f32_arith(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        float a, b;
        if ((i & 7) == 7) { a = rand_exp(-126, -110); b = rand_exp(-30, 0); }       /* subnormal products */
        else if ((i & 7) == 6) { a = rand_exp(-126, -126); b = rand_exp(-126, -126); } /* subnormal a-b */
        else { a = rand_mixed(); b = rand_mixed(); }
        fold_tri(s, a, b, 0, a + b);
        fold_f(s, a - b);
        fold_f(s, a * b);
        fold_f(s, a / b);
    }
}
/* a, b, c for fmaf; every 8th case is built so that rounding a*b+c twice (to double, then to
 * float) gives a different result from one correct rounding. */
static void gen_fma(uint32_t i, float *a, float *b, float *c)
{
    if ((i & 7) == 0) {
        float j = (float)(2 * below(32) + 1);            /* odd: (1 + j 2^-12)^2 = midpoint + ... */
        int ea = (int)below(40) - 20, eb = (int)below(40) - 20;
        *a = (1.0f + j * pow2f(-12)) * pow2f(ea);
        *b = (1.0f + j * pow2f(-12)) * pow2f(eb);
        *c = pow2f(ea + eb - 60 - (int)below(8)) * ((next32() & 1) ? 1.0f : -1.0f);
    } else {
        *a = rand_mixed(); *b = rand_mixed();
        *c = (i & 1) ? rand_mixed() : -(*a * *b) * (1.0f + rand_sym(1e-6f)); /* cancellation */
    }
}
static void c_fmaf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float a, b, c; gen_fma(i, &a, &b, &c); fold_tri(s, a, b, c, fmaf(a, b, c)); }
}
static void c_f2i_clamped(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        float x = gen_clamp_input();
        fold_i(s, (int32_t)x);
        fold_i(s, (int32_t)rintf(x));
        float t = rintf(x * 0.01f);
        fold_i(s, t < -128.0f ? -128 : t > 127.0f ? 127 : (int32_t)t);
    }
}
static void c_lrintf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) fold_i(s, (int32_t)lrintf(gen_clamp_input()));
}
static void c_sqrtf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float x = fabsf(rand_mixed()); fold_un(s, x, sqrtf(x)); }
}
/* conv requantization, docs/DESIGN.md: t = (float)acc + bias_f; v = rintf(t * eff); y = clamp(v + z_y) */
static void c_requant_conv(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        int32_t acc = (i & 1) ? (int32_t)below(1u << 21) - (1 << 20) : (int32_t)next32();
        int32_t bias = (i % 5 == 0) ? ((i & 2) ? INT32_MAX : INT32_MIN) : (int32_t)below(1u << 17) - (1 << 16);
        float eff = rand_exp(-20, 0);
        eff = fabsf(eff);
        float zy = (float)((int32_t)below(256) - 128);
        float t = (float)acc + (float)bias;
        float v = rintf(t * eff);
        float w = v + zy;
        int32_t mask = (w >= -128.0f) && (w <= 127.0f);
        fold_f(s, v);
        fold_i(s, (w < -128.0f ? -128 : w > 127.0f ? 127 : (int32_t)w) * 2 + mask);
    }
}
/* residual add: y = rintf(((x1 - z1) s1 + (x2 - z2) s2) / s_y) + z_y, clamped */
static void c_requant_add(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        int32_t x1 = (int32_t)below(256) - 128, x2 = (int32_t)below(256) - 128;
        int32_t z1 = (int32_t)below(256) - 128, z2 = (int32_t)below(256) - 128, zy = (int32_t)below(256) - 128;
        float s1 = fabsf(rand_exp(-12, -1)), s2 = fabsf(rand_exp(-12, -1)), sy = fabsf(rand_exp(-12, -1));
        if ((i & 3) == 0) { int e = 1 + (int)below(10); s1 = s2 = pow2f(-e); sy = pow2f(1 - e); } /* x.5 ties */
        float v = rintf(((float)(x1 - z1) * s1 + (float)(x2 - z2) * s2) / sy) + (float)zy;
        fold_i(s, v < -128.0f ? -128 : v > 127.0f ? 127 : (int32_t)v);
    }
}
/* global average pool: rintf(sum / (float)(H*W)), int8 in */
static void c_avgpool(sum_t *s)
{
    for (uint32_t i = 0; i < N / 16; i++) {
        uint32_t hw = 1 + below(64) * (1 + below(4));
        int32_t sum = 0;
        for (uint32_t k = 0; k < hw; k++) sum += (int32_t)below(256) - 128;
        if ((i & 1) && hw % 2 == 0) sum = (2 * ((int32_t)below(256) - 128) + 1) * (int32_t)(hw / 2); /* x.5 ties */
        fold_f(s, rintf((float)sum / (float)hw));
    }
}
static int8_t xv[1024], wv[1024];
static void c_dot_i8(sum_t *s)
{
    for (uint32_t i = 0; i < N / 128; i++) {
        uint32_t len = (i % 16 == 0) ? 1024 : 1 + below(256);
        int extreme = (i % 32 == 0);
        for (uint32_t k = 0; k < len; k++) {
            xv[k] = extreme ? 127 : (int8_t)next32();
            wv[k] = extreme ? -128 : (int8_t)next32();
        }
        int32_t zx = extreme ? -128 : (int32_t)(int8_t)next32();
        int32_t acc = 0;
        for (uint32_t k = 0; k < len; k++) acc += ((int32_t)xv[k] - zx) * (int32_t)wv[k];
        fold_i(s, acc);
    }
}
static void c_i64_add(sum_t *s)
{
    uint64_t acc = 0;
    for (uint32_t i = 0; i < N; i++) {
        int64_t a = (int64_t)next64(), b = (i & 1) ? (int64_t)(int32_t)next32() * (int32_t)next32() : (int64_t)next64();
        acc += (uint64_t)a + (uint64_t)b;                 /* wraps, no UB */
        int64_t small = (a >> 33) + (b >> 33);            /* no overflow */
        fold64(s, acc);
        fold64(s, (uint64_t)small);
    }
}
/* TFLite-style fixed-point requant: (acc * M + nudge) floor-divided by 2^31 */
static void c_i64_mulshift(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) {
        int32_t acc = (int32_t)next32(), m = (int32_t)(next32() >> 1);
        int64_t p = (int64_t)acc * m;
        int64_t nudge = p >= 0 ? (1ll << 30) : (1 - (1ll << 30));
        fold64(s, (uint64_t)((p + nudge) >> 31));
        fold64(s, (uint64_t)(p / 1000003));
    }
}
static void c_f64_arith(sum_t *s)
{
    for (uint32_t i = 0; i < N / 4; i++) {
        double a = (double)rand_mixed() * (double)rand_mixed() + (double)rand_sym(1.0f);
        double b = (double)rand_mixed() / 3.0;
        fold_d(s, a + b); fold_d(s, a * b); fold_d(s, a / b);
        fold_d(s, sqrt(fabs(a)));
        fold_f(s, (float)a); /* double -> float rounding */
    }
}

/* ---- categories: the project's own kernels (src/kernels), when built with -DPARITY_WITH_KERNELS ---- */
#ifdef PARITY_WITH_KERNELS
static void c_kernel_expf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float x = gen_exp_input(i); fold_un(s, x, tte_expf(x)); }
}
static void c_kernel_logf(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float x = gen_log_input(i); fold_un(s, x, tte_logf(x)); }
}
/* fp32 SGD with momentum: the kernel uses fmaf(-lr, step, p) */
static void c_kernel_sgd_f32(sum_t *s)
{
    float p = 0.5f, mom = 0.0f;
    for (uint32_t i = 0; i < N; i++) {
        tte_sgd opt = {.lr = fabsf(rand_exp(-14, -2)), .momentum = (i & 1) ? 0.9f : 0.0f, .grad_scale = 1.0f};
        if (i % 64 == 0) { p = rand_sym(2.0f); mom = 0.0f; }
        tte_sgd_f32(&opt, &p, &mom, rand_sym(1.0f) * fabsf(rand_exp(-10, 4)));
        fold_f(s, p);
        fold_f(s, mom);
    }
}
#endif

/* ---- categories: informational (expected to differ between glibc and newlib) ---- */
static void c_expf_libm(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float x = gen_exp_input(i); fold_un(s, x, expf(x)); }
}
static void c_logf_libm(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float x = gen_log_input(i); fold_un(s, x, logf(x)); }
}
/* The C library's fmaf, called out of line (GCC inlines fmaf as one instruction when it can). */
static float (*volatile fmaf_libm)(float, float, float) = fmaf;
static void c_fmaf_libm(sum_t *s)
{
    for (uint32_t i = 0; i < N; i++) { float a, b, c; gen_fma(i, &a, &b, &c); fold_tri(s, a, b, c, fmaf_libm(a, b, c)); }
}
static void c_nan_bits(sum_t *s)
{
    float zero = opaque(0.0f), inf = opaque(INFINITY), snan = opaque(u2f(0x7fa00001u)), qnan = opaque(u2f(0xffc12345u));
    uint32_t r[] = {f2u(zero * inf), f2u(inf - inf), f2u(zero / zero), f2u(sqrtf(opaque(-1.0f))), f2u(snan + 1.0f),
                    f2u(qnan + 1.0f), f2u(1.0f * qnan), f2u(rintf(qnan)), f2u(fmaf(zero, inf, opaque(1.0f)))};
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++) { DUMP("d %08lx\n", (unsigned long)r[i]); fold32(s, r[i]); }
}
static void c_f2i_out_of_range(sum_t *s)
{
    float v[] = {opaque(3e9f), opaque(-3e9f), opaque(INFINITY), opaque(-INFINITY), opaque(NAN), opaque(2147483648.0f)};
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
        DUMP("d %08lx\n", (unsigned long)(uint32_t)(int32_t)v[i]);
        fold32(s, (uint32_t)(int32_t)v[i]); /* undefined behaviour in C: that is the point */
    }
}

typedef struct { const char *name; const char *stream; int gated; void (*run)(sum_t *); } category_t;
static const category_t cats[] = {
    {"rintf_prod", "prod", 1, c_rintf_prod},         {"nearbyintf_prod", "prod", 1, c_nearbyintf_prod},
    {"floorf_prod", "prod", 1, c_floorf},            {"i32_to_f32", "i32", 1, c_i32_to_f32},
    {"i64_to_f32", "i64", 1, c_i64_to_f32},          {"f32_add_sub_mul_div", "arith", 1, c_f32_arith},
    {"fmaf", "fma", 1, c_fmaf},                      {"f2i_clamped", "clamp", 1, c_f2i_clamped},
    {"lrintf_clamped", "clamp", 1, c_lrintf},        {"sqrtf", "sqrt", 1, c_sqrtf},
    {"requant_conv", "rq", 1, c_requant_conv},       {"requant_add", "rqa", 1, c_requant_add},
    {"avgpool", "pool", 1, c_avgpool},               {"dot_i8_i32", "dot", 1, c_dot_i8},
    {"i64_add", "i64a", 1, c_i64_add},               {"i64_mulshift", "i64m", 1, c_i64_mulshift},
    {"f64_soft_double", "f64", 1, c_f64_arith},
#ifdef PARITY_WITH_KERNELS
    {"kernel_tte_expf", "exp", 1, c_kernel_expf},    {"kernel_tte_logf", "log", 1, c_kernel_logf},
    {"kernel_sgd_f32", "sgd", 1, c_kernel_sgd_f32},
#endif
    {"expf_libm", "exp", 0, c_expf_libm},
    {"logf_libm", "log", 0, c_logf_libm},            {"fmaf_libm_outofline", "fma", 0, c_fmaf_libm},
    {"nan_bits", "nan", 0, c_nan_bits},              {"f2i_out_of_range_ub", "oor", 0, c_f2i_out_of_range},
};

static uint64_t seed_of(const char *stream)
{
    uint64_t h = 0xcbf29ce484222325ull;
    while (*stream) h = (h ^ (uint8_t)*stream++) * 0x100000001b3ull;
    return h;
}

int main(void)
{
#if defined(__arm__)
    const char *target = "m7";
#else
    const char *target = "host";
#endif
    unsigned ncat = sizeof cats / sizeof cats[0];
    printf("target=%s n_per_category=%lu categories=%u\n", target, (unsigned long)N, ncat);
    sum_t total = {0, 0};
    for (unsigned i = 0; i < ncat; i++) {
#ifdef PARITY_DUMP
        if (i != (unsigned)(PARITY_DUMP)) continue;
#endif
        sum_t s = {0, 0};
        rng = seed_of(cats[i].stream);
        mcu_mark(2 * i);
        cats[i].run(&s);
        mcu_mark(2 * i + 1);
        printf("cat %s gated=%d n=%lu checksum=%08lx%08lx\n", cats[i].name, cats[i].gated, (unsigned long)s.n,
               (unsigned long)(uint32_t)(s.h >> 32), (unsigned long)(uint32_t)s.h);
        if (cats[i].gated) fold64(&total, s.h);
    }
    printf("checksum=%08lx%08lx\n", (unsigned long)(uint32_t)(total.h >> 32), (unsigned long)(uint32_t)total.h);
    mcu_report();
    return 0;
}
