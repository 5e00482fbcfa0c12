import Foundation

/// Where an epoch's wall time goes (`--profile`): seconds per phase on this rank. Each phase
/// ends in a collective, so a rank's figure includes its wait for the slowest.
public final class EpochProfile: @unchecked Sendable {
    public enum Phase: String, CaseIterable, Sendable {
        /// Training steps: batches, forward, loss, backward, all-reduce, optimiser.
        case steps
        /// The test set's forward passes, accuracy and confusion (sharded over ranks).
        case evaluation
        /// Gathering the test features and ranking this rank's queries (P@1, R-precision, MAP@R).
        case retrieval
        /// Cluster quality of the test features (NMI, AMI, variance ratio).
        case clusters
        case checkpoint
        /// metrics.jsonl, the report page, TensorBoard, the terminal.
        case logging
    }

    private var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    private var epochStart = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Runs `body`, adding its wall time to `phase`.
    public func measure<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { add(phase, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
        return try body()
    }

    public func add(_ phase: Phase, _ s: Double) {
        seconds[Phase.allCases.firstIndex(of: phase)!] += s
    }

    /// This epoch's seconds by phase (JSON keys `steps_s`, ...), plus `other_s` for what no phase
    /// holds and `epoch_s`; starts the next epoch.
    public func finishEpoch() -> [String: Double] {
        let total = Double(DispatchTime.now().uptimeNanoseconds - epochStart) * 1e-9
        var out: [String: Double] = [:]
        for (i, phase) in Phase.allCases.enumerated() { out[phase.rawValue + "_s"] = seconds[i] }
        out["other_s"] = max(0, total - seconds.reduce(0, +))
        out["epoch_s"] = total
        seconds = seconds.map { _ in 0 }
        epochStart = DispatchTime.now().uptimeNanoseconds
        return out
    }

    /// "profile: steps 2.31 s (78%), evaluation 0.40 s (13%), ..." for the terminal.
    public static func line(_ figures: [String: Double]) -> String {
        let total = max(figures["epoch_s"] ?? 0, 1e-9)
        let parts = (Phase.allCases.map(\.rawValue) + ["other"]).map { name -> String in
            let s = figures[name + "_s"] ?? 0
            return String(format: "%@ %.2f s (%.0f%%)", name, s, 100 * s / total)
        }
        return "profile: " + parts.joined(separator: ", ") + String(format: "; epoch %.2f s", total)
    }
}
