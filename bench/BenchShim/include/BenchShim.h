#ifndef BENCH_SHIM_H
#define BENCH_SHIM_H
// C for the benchmarks, kept out of the production shim. glibc declares
// sched_setaffinity only under _GNU_SOURCE, and CPU_SET is a macro: Swift
// reaches neither.

// Pins the calling thread to one CPU; -1 with errno on failure.
int bench_pin_to_cpu(int cpu);

#endif
