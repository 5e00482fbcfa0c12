import Foundation

/// The figures of a bench run as the terminal shows them.
extension Bench {
    public static func table(_ r: Report) -> String {
        let right = { (text: String, width: Int) in String(repeating: " ", count: max(0, width - text.count)) + text }
        let cores = r.worldSize * r.blasThreads
        var lines = [String(format: "ddp-train bench: %d rank%@, %d BLAS thread%@ per rank (%@), sgemm %.1f GFLOP/s " +
                                    "per rank, %.1f on one core; peak %d x %.1f = %.0f GFLOP/s",
                            r.worldSize, r.worldSize == 1 ? "" : "s", r.blasThreads, r.blasThreads == 1 ? "" : "s",
                                r.blasCore, r.sgemmGflops,
                            r.sgemmGflopsPerCore, cores, r.sgemmGflopsPerCore, Double(cores) * r.sgemmGflopsPerCore)]
        lines.append("")
        lines.append("model            input  batch  ms/step  samples/s  per rank  GFLOP/s/rank  of sgemm  of peak  " +
                     "exposed comm  grad MB  allocs/step  peak MiB")
        for m in r.models {
            let input = m.inputShape.map(String.init).joined(separator: "x")
            lines.append(m.model.padding(toLength: 15, withPad: " ", startingAt: 0)
                         + right(input, 10)
                         + String(format: "  %5d  %7.2f  %9.0f  %8.0f  %12.1f  " +
                                             "%7.0f%%  %6.0f%%  %5.2f ms %3.0f%%  %7.2f  %@  %@",
                                m.batchSize, m.stepMilliseconds, m.samplesPerSecondTotal, m.samplesPerSecondPerRank,
                                m.achievedGflopsPerRank, 100 * m.shareOfSgemm, 100 * m.shareOfPeak,
                                    m.exposedCommMillisecondsPerStep, 100 * m.exposedCommShare,
                                    Double(m.gradientBytesPerStep) / 1e6,
                                right(m.allocationsPerStep.map { String(format: "%.1f", $0) } ?? "n/a", 11),
                                right(m.peakMemoryMiB.map { String(format: "%.0f", $0) } ?? "n/a", 8)))
        }
        for m in r.models {
            guard let profile = m.profile else { continue }
            lines.append("")
            lines.append("\(m.model) per layer (ms per step, rank 0):   forward  backward  GFLOP/s fwd  bwd  of step")
            for l in profile {
                let gflops = { (g: Double?) in g.map { String(format: "%5.0f", $0) } ?? "    -" }
                lines.append("  " + l.layer.padding(toLength: 36, withPad: " ", startingAt: 0)
                             + (l.layer.hasPrefix("step: ") ? String(format: " %8.3f", l.forwardMs)
                                : String(format: " %8.3f  %8.3f  %@  %@  %6.1f%%", l.forwardMs, l.backwardMs,
                                         gflops(l.forwardGflops),
                                         gflops(l.backwardGflops), 100 * (l.shareOfStep ?? 0))))
            }
        }
        lines.append("")
        lines.append(String(format: "loss forward+backward (%@, B=128, K=10): %.1f us%@", r.loss, r.lossMicroseconds,
                            r.lossShareOfMLPStep.map { String(format: " = %.2f%% of an mlp step", 100 * $0) } ?? ""))
        lines.append(String(format: "data loading (training and test sets): %.3f s", r.dataLoadSeconds))
        lines.append(String(format: "checkpoint (mlp + momentum, %d bytes on disk): write %.0f MB/s, read %.0f MB/s",
                            r.checkpointBytes, r.checkpointWriteMBs, r.checkpointReadMBs))
        return lines.joined(separator: "\n")
    }
}
