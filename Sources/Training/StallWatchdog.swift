import Dispatch
import Distributed
import Foundation
import Synchronization

/// Ends the job when training stops making progress: a rank stopped (`kill -STOP`), deadlocked,
/// or cut off from the others (a host whose link went down), which would otherwise leave every
/// other rank waiting in a collective forever.
///
/// The trainer calls `beat` after every step and evaluation batch (two atomic stores, no
/// allocation). A thread of its own wakes a few times per timeout; when no beat came for
/// `timeout` seconds it prints one message naming where this rank waits and calls MPI_Abort,
/// which ends every rank of the job. Every live rank has a watchdog, so the job ends even when
/// rank 0 is the one that stopped.
public final class StallWatchdog: @unchecked Sendable {
    public let timeout: Double
    private let lastBeat = Atomic<UInt64>(0)
    /// Where the last beat was: epoch << 32 | step within the epoch.
    private let position = Atomic<UInt64>(0)
    private let running = Atomic<Bool>(true)
    private let comm: Communicator

    /// Starts watching; `timeout` in seconds (> 0).
    public init(timeout: Double, comm: Communicator) {
        self.timeout = timeout
        self.comm = comm
        beat(epoch: 0, step: 0)
        let thread = Thread { [self] in watch() }
        thread.name = "ddp-train stall watchdog"
        thread.start()
    }

    /// Progress: a step or an evaluation batch finished at `epoch`, `step`.
    @inline(__always)
    public func beat(epoch: Int, step: Int) {
        position.store(UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: step), ordering: .relaxed)
        lastBeat.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing)
    }

    /// Stops watching (the end of training, or before a long pause that is not a stall).
    public func stop() {
        running.store(false, ordering: .releasing)
    }

    deinit { stop() }

    private func watch() {
        let interval = max(0.05, min(timeout / 4, 5))
        while running.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: interval)
            guard running.load(ordering: .acquiring) else { return }
            let idle = Double(DispatchTime.now().uptimeNanoseconds &- lastBeat.load(ordering: .acquiring)) * 1e-9
            if idle >= timeout {
                let p = position.load(ordering: .relaxed)
                let epoch = Int(p >> 32), step = Int(p & 0xFFFF_FFFF)
                comm.abort("""
                    error: no training step completed for \(Int(idle)) s (--stall-timeout \(timeout)); this rank last \
                    finished epoch \(epoch + 1), step \(step) and waits for the others. A rank may be stopped or \
                    deadlocked, or its host unreachable; ending the job.
                    """, code: 1)
            }
        }
    }
}
