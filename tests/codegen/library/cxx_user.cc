// A C++ translation unit of a firmware using two generated libraries: the headers must compile as C++ and
// link against the C objects (extern "C").
#include "kws_model.h"
#include "vww_model.h"

extern "C" int cxx_user_classes(void);
extern "C" int cxx_user_classes(void) {
  static_assert(KWS_NUM_CLASSES > 0 && VWW_NUM_CLASSES > 0, "classes");
  return static_cast<int>(kws_fingerprint() != 0) + KWS_NUM_CLASSES + VWW_NUM_CLASSES;
}
