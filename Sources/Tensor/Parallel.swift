import COneDNN
import Dispatch

/// Splits memory-bound loops over the threads a rank may use, next to the
/// BLAS threads: with several threads per rank, loops outside matrix products
/// (unfolding, pooling, batch norm, ReLU) would otherwise run on one
/// core while the others wait. With one thread (the usual case under mpirun,
/// one rank per core) the body simply runs.
///
/// Where oneDNN runs the convolutions, the loops run on its OpenMP threads rather than on
/// Dispatch's: one set of threads per rank instead of two competing for the same cores
/// (bench, two threads, 2026-11-23: resnet32 470 -> 500-530 samples/s, cnn 3,500-3,700 -> 4,050).
public enum Parallel {
    /// Threads for `forEach`; set together with BLAS threads by `BLASRuntime.setThreads`.
    nonisolated(unsafe) public static var threads = 1

    /// The loop body crosses into Dispatch's worker threads; each call gets a disjoint range.
    struct Body: @unchecked Sendable {
        let run: (Range<Int>) -> Void
    }

    /// `eachPart`'s body, crossing into the OpenMP threads.
    struct PartBody: @unchecked Sendable {
        let run: (Int) -> Void
    }

    /// Calls `body(i)` for each i in `0..<parts`, each on its own of oneDNN's OpenMP threads (a
    /// parallel region, inside which oneDNN's primitives run on the calling thread); one after
    /// the other when oneDNN is not loaded.
    public static func eachPart(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            if parts == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { work in
            var shared = PartBody(run: work)  // the closure itself: no context allocated per call
            let ran = withUnsafeMutablePointer(to: &shared) { context in
                ddp_parallel_for(parts, Int32(parts), { context, lo, hi in
                    let part = context!.assumingMemoryBound(to: PartBody.self).pointee
                    for i in lo..<hi { part.run(i) }
                }, context)
            }
            if ran == 0 { for i in 0..<parts { work(i) } }
        }
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
            var shared = Body(run: work)
            if OneDNN.isAvailable {
                let ran = withUnsafeMutablePointer(to: &shared) { context in
                    ddp_parallel_for(count, Int32(t), { context, lo, hi in
                        context!.assumingMemoryBound(to: Body.self).pointee.run(lo..<hi)
                    }, context)
                }
                if ran != 0 { return }
            }
            let flush = BLASRuntime.flushesDenormals
            DispatchQueue.concurrentPerform(iterations: t) { [shared] i in
                if flush { BLASRuntime.flushDenormals() }  // per thread: worker threads start without it
                let lo = count * i / t, hi = count * (i + 1) / t
                if lo < hi { shared.run(lo..<hi) }
            }
        }
    }
}
