// Interposes glibc's allocator in the test executable to count, per thread,
// how often the heap is asked for memory. The real work is done by glibc's
// own entry points (__libc_*), so behaviour is unchanged.
#define _GNU_SOURCE
#include "MallocCounter.h"

#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static __thread uint64_t allocations;

uint64_t malloc_counter_thread_allocations(void) { return allocations; }

void *malloc(size_t n) { allocations++; return __libc_malloc(n); }
void *calloc(size_t count, size_t n) { allocations++; return __libc_calloc(count, n); }
void *realloc(void *p, size_t n) { allocations++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t align, size_t n) { allocations++; return __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) { allocations++; return __libc_memalign(align, n); }
int posix_memalign(void **out, size_t align, size_t n) {
    allocations++;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
