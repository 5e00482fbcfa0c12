import Foundation

/// SIGTERM, SIGUSR1 and SIGINT (a scheduler's preemption notice: Slurm's `--signal=USR1@60`
/// or its SIGTERM before the kill; Ctrl-C) ask the run to stop
/// at the next step boundary: every rank learns of it through the step's all-reduce,
/// the job writes a checkpoint and exits with status 143, and `--resume auto`
/// continues exactly there.
public enum StopSignal {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    /// Whether a stop was asked for in this process.
    public static var isRequested: Bool { requested != 0 }

    /// Installs the handlers (the training command does, before training).
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in StopSignal.requested = 1 }
        signal(SIGTERM, handler)
        signal(SIGUSR1, handler)
        signal(SIGINT, handler)
    }

    /// The exit status of a run stopped by a signal (128 + SIGTERM).
    public static let exitStatus: Int32 = 143
}
