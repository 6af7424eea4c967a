// oneDNN C API (Debian: libdnnl-dev 2.x).
#include <dnnl.h>
