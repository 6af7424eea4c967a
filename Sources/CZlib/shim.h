// System zlib (Debian: zlib1g-dev), used for gzip-compressed data files.
#include <zlib.h>
