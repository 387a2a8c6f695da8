/* conv_fwd.c and conv_fwd_pw.c compiled a second time with TTE_PW_DSP_EMULATE: the Cortex-M DSP loop of the
 * pointwise forward (SMLAD on packed int16 pairs) with C versions of the instructions, under other names
 * (tte_emu_*), so that portable_paths_test.cc checks that loop on the host against the reference. */
#define TTE_PW_DSP_EMULATE 1
#define tte_window_out_size tte_emu_window_out_size
#define tte_conv_whole tte_emu_conv_whole
#define tte_conv_dw_inplace_s8 tte_emu_conv_dw_inplace_s8
#define tte_conv_s8 tte_emu_conv_s8
#define tte_internal_conv_pointwise tte_emu_internal_conv_pointwise
#include "../../src/kernels/conv_fwd.c"
#include "../../src/kernels/conv_fwd_pw.c"
#if !TTE_PW_DSP
#error "the DSP loop is not compiled"
#endif
