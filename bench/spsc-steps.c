/* The C reference's per-fragment work (../shared/bench/spsc.c: the producer's
   publish and the consumer's read, as written there) in one process, one
   after the other, so that `valgrind --tool=callgrind` counts the
   instructions of the work alone: no spin on credits or on an empty ring,
   whose length depends on timing. `tilectl-bench-link --steps N` does the same
   with tilectl's LinkProducer and LinkReader.
   Build: cc -O2 -o spsc-steps bench/spsc-steps.c   Run: ./spsc-steps SIZE FRAGS */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct { volatile uint64_t seq, sig; volatile uint32_t chunk; volatile uint16_t sz, ctl;
                 volatile uint32_t tsorig, tspub; } meta_t;
#define FENCE() __asm__ __volatile__("" ::: "memory")

int main(int argc, char **argv) {
  uint64_t depth = 4096;
  uint64_t sz = argc > 1 ? strtoull(argv[1], 0, 0) : 64;
  uint64_t n  = argc > 2 ? strtoull(argv[2], 0, 0) : 1000000;
  uint64_t mtu = (sz + 63) & ~63ULL; if (!mtu) mtu = 64;
  size_t ring = depth * sizeof(meta_t), data = depth * mtu;
  uint8_t *shm = mmap(0, ring + data + 128, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  meta_t *mc = (meta_t *)shm;
  uint8_t *dc = shm + ring;
  volatile uint64_t *fseq = (volatile uint64_t *)(shm + ring + data + 64);
  for (uint64_t i = 0; i < depth; i++) mc[i].seq = (uint64_t)-1;
  static uint8_t payload[65536], buf[65536];
  memset(payload, 7, sizeof payload);
  uint64_t cr_seq = 0, sum = 0, overrun = 0;
  for (uint64_t seq = 0; seq < n; seq++) {
    /* producer */
    while (seq - cr_seq >= depth) cr_seq = *fseq;
    uint64_t line = seq & (depth - 1);
    memcpy(dc + line * mtu, payload, sz);
    meta_t *m = &mc[line];
    m->seq = seq - 1; FENCE();
    m->sig = seq; m->chunk = (uint32_t)line; m->sz = (uint16_t)sz; m->ctl = 3;
    m->tsorig = m->tspub = (uint32_t)seq;
    FENCE(); m->seq = seq;
    /* consumer */
    uint64_t s;
    if ((s = m->seq) != seq) { overrun++; continue; }
    uint32_t chunk = m->chunk; uint16_t len = m->sz; uint64_t sig = m->sig;
    FENCE();
    memcpy(buf, dc + (uint64_t)chunk * mtu, len);
    FENCE();
    if (m->seq != seq) { overrun++; continue; }
    sum += buf[0] + sig;
    if ((seq & 63) == 63) *fseq = seq + 1;
  }
  printf("%lu fragments of %lu B, checksum %lu, overruns %lu\n", (unsigned long)n, (unsigned long)sz,
         (unsigned long)sum, (unsigned long)overrun);
  return overrun != 0;
}
