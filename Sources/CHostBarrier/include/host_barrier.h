// A barrier for the processes of one host, in memory they share (an MPI-3 shared window):
// waiting processes sleep in the kernel (a futex) instead of spinning or yielding, so that on
// a host with more ranks than cores the ranks still computing get the cores.
#ifndef CHOSTBARRIER_H
#define CHOSTBARRIER_H
#include <stdint.h>

/// Lives in shared memory, zero-filled before first use; 64 bytes so that it has a cache line.
typedef struct {
    uint32_t arrived;
    uint32_t generation;
    uint32_t pad[14];
} host_barrier;

/// Waits until `parties` processes have called it on `b` (the same count on each). The
/// stores made before it by any of them are visible after it to all of them. `spins`
/// checks of the generation come before sleeping. Returns 0, or an errno from the futex.
int host_barrier_wait(host_barrier *b, uint32_t parties, uint32_t spins);

#endif
