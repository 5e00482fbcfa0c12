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
        var lastWake = DispatchTime.now().uptimeNanoseconds
        while running.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: interval)
            guard running.load(ordering: .acquiring) else { return }
            // A wake far later than asked: this process did not run (kill -STOP, a paused host).
            let wake = DispatchTime.now().uptimeNanoseconds
            let overslept = Double(wake &- lastWake) * 1e-9 - interval
            lastWake = wake
            // A beat that lands after `wake` was read is newer than it: no idle time, not a wrap.
            let last = lastBeat.load(ordering: .acquiring)
            let idle = wake > last ? Double(wake - last) * 1e-9 : 0
            if idle >= timeout {
                let p = position.load(ordering: .relaxed)
                let epoch = Int(p >> 32), step = Int(p & 0xFFFF_FFFF)
                let message = """
                    error: no training step completed for \(Int(idle)) s (--stall-timeout \(timeout)); this rank last \
                    finished epoch \(epoch + 1), step \(step) and waits for the others. A rank may be stopped or \
                    deadlocked, or its host unreachable; ending the job.
                    """
                comm.abort(message + flightReport(message, interval: interval,
                                                  suspended: overslept >= 1 ? overslept : nil), code: 1)
            }
        }
    }

    /// Writes this rank's flight record, gives the other ranks' watchdogs (which fire within
    /// `interval` of this one) time to write theirs, and returns rank 0's account of who is
    /// behind. The other ranks wait twice as long, so rank 0 normally speaks and ends the job;
    /// when rank 0 left no record, the lowest rank that did speaks instead.
    private func flightReport(_ message: String, interval: Double, suspended: Double?) -> String {
        guard let recorder = comm.flightRecorder,
            recorder.dump(reason: "stall", message: message, suspended: suspended) != nil,
              let directory = recorder.directory else { return "" }
        let grace = interval + 1
        Thread.sleep(forTimeInterval: comm.rank == 0 ? grace : 2 * grace)
        guard let analysis = try? FlightAnalysis.read(directory: directory) else { return "" }
        let speaker = analysis.files.map(\.rank).min()
        guard comm.rank == 0 || (analysis.missing.contains(0) && speaker == comm.rank) else {
            return "\nflight record: \(recorder.path ?? directory)"
        }
        return "\n" + analysis.summary + "\nflight records: \(directory) (read them with: ddp-train flight " +
                                         "\((directory as NSString).deletingLastPathComponent))"
    }
}
