import Training
import Foundation

/// Heap allocations counted by `benchmarks/malloc_count.c` when it is preloaded
/// (`LD_PRELOAD=.../malloc_count.so`); nil otherwise.
public enum AllocationCounter {
    private typealias Counter = @convention(c) () -> Int

    /// Allocations so far in this process, or nil without the counting library.
    public static var count: Int? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ddp_malloc_count") else { return nil }
        return unsafeBitCast(symbol, to: Counter.self)()
    }
}
