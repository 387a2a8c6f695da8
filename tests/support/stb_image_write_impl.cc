// The implementation of Debian's stb_image_write.h (libstb-dev), used by the test helpers to encode
// sample images (sample_files.cc). Third-party code: compiled without warnings (tests/CMakeLists.txt).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
