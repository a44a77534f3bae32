#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

// Heap allocations made so far by the calling thread (every malloc, calloc,
// realloc, posix_memalign, aligned_alloc and memalign), counted by the
// interposed allocator below. Tests read it around a piece of work to prove
// that work allocates nothing.
uint64_t malloc_counter_thread_allocations(void);

#endif
