#include "host_barrier.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

// A shared (not FUTEX_PRIVATE) futex: the word is in memory mapped by several processes.
static long futex(uint32_t *word, int op, uint32_t value) {
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

int host_barrier_wait(host_barrier *b, uint32_t parties, uint32_t spins) {
    _Atomic uint32_t *arrived = (_Atomic uint32_t *)&b->arrived;
    _Atomic uint32_t *generation = (_Atomic uint32_t *)&b->generation;
    // The generation is read before arriving: it cannot move on until this process has arrived.
    uint32_t gen = atomic_load_explicit(generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(arrived, 1, memory_order_acq_rel) + 1 == parties) {
        // The last to arrive resets the count (seen by the others before they can arrive at
        // the next barrier, since they first see the new generation) and wakes everyone.
        atomic_store_explicit(arrived, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(generation, 1, memory_order_acq_rel);
        if (futex(&b->generation, FUTEX_WAKE, INT_MAX) < 0) return errno;
        return 0;
    }
    for (uint32_t i = 0; i < spins; i++) {
        if (atomic_load_explicit(generation, memory_order_acquire) != gen) return 0;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    while (atomic_load_explicit(generation, memory_order_acquire) == gen) {
        // Sleeps only while the generation is still `gen` (the kernel checks it atomically).
        if (futex(&b->generation, FUTEX_WAIT, gen) < 0 && errno != EAGAIN && errno != EINTR) return errno;
    }
    return 0;
}
