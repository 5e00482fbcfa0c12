import Dispatch

/// Splits memory-bound loops over the threads a rank may use, next to the
/// BLAS threads: with several threads per rank, loops outside matrix products
/// (unfolding, pooling, batch norm, ReLU) would otherwise run on one
/// core while the others wait. With one thread (the usual case under mpirun,
/// one rank per core) the body simply runs.
public enum Parallel {
    /// Threads for `forEach`; set together with BLAS threads by `BLASRuntime.setThreads`.
    nonisolated(unsafe) public static var threads = 1

    /// The loop body crosses into Dispatch's worker threads; each call gets a disjoint range.
    struct Body: @unchecked Sendable {
        let run: (Range<Int>) -> Void
    }

    /// Calls `body` on disjoint ranges covering `0..<count`, concurrently when threads > 1
    /// and there are at least `grain` items per thread.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let t = min(threads, count / max(grain, 1))
        if t <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { work in
            let shared = Body(run: work)
            let flush = BLASRuntime.flushesDenormals
            DispatchQueue.concurrentPerform(iterations: t) { i in
                if flush { BLASRuntime.flushDenormals() }  // per thread: worker threads start without it
                let lo = count * i / t, hi = count * (i + 1) / t
                if lo < hi { shared.run(lo..<hi) }
            }
        }
    }
}
