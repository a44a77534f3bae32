// libdeflate, for its CRC-32: carry-less multiplication (PCLMULQDQ, and
// VPCLMULQDQ where the CPU has it), several times zlib's table-driven CRC
// on a megabyte exposition. The gzip encoding itself is the metric tile's.
#include <libdeflate.h>
