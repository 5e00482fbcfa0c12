import Distributed
import Foundation
import NN
import Tensor

/// `--precision bf16|auto`: which passes of which convolutions run bfloat16, settled before
/// training. `--conv-precision` (given, or kept from a resumed checkpoint) applies as it is;
/// otherwise rank 0 measures on this run's shapes (`ConvolutionPrecisionPlan.measure`) and
/// every rank applies what it found, so that the ranks run the same kernels; `config` then
/// records it for config.json and the checkpoints.
public enum ConvolutionPrecisionSetup {
    /// Collective. `batch`: the samples of a rank's step (rank 0's share of a global batch).
    public static func settle(_ config: inout TrainConfig, model: Model, batch: Int, comm: Communicator,
                              log: Log) throws {
        guard config.precision != .fp32 else { return }
        let precision = config.precision.rawValue
        if config.convPrecision == nil {
            let convolutions = model.convolutions.count
            if !config.precision.measures || convolutions == 0 {
                config.convPrecision = ConvolutionPrecisionPlan(entries: [])
                if convolutions > 0 {
                    log.info("--precision \(precision): float32 convolutions (oneDNN runs \(OneDNN.isa) here, " +
                             "without native bfloat16)")
                }
            } else {
                var text = "", line = ""
                if comm.rank == 0 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let m = ConvolutionPrecisionPlan.measure(model, batch: batch)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                    text = m.plan.text
                    line = String(format: "--precision %@: measured %d convolutions (%d shapes) at batch %d in " +
                                          "%.1f s on rank 0: %@; their passes %.1f ms a step against %.1f in float32",
                                  precision, m.convolutions, m.shapes, batch, seconds,
                                  m.plan.summary(convolutions: convolutions), 1000 * m.plannedSeconds,
                                  1000 * m.float32Seconds)
                    if m.plan.entries.isEmpty, config.precision == .bf16 {
                        line += "; bfloat16 is no faster than float32 on this CPU (oneDNN \(OneDNN.isa)): every " +
                                "convolution runs float32"
                    }
                }
                text = try comm.broadcast(string: text)
                guard let plan = ConvolutionPrecisionPlan.parse([text]) else {
                    throw CollectiveFailure(rank: 0, message: "--precision \(precision): rank 0's plan does not " +
                                                              "read back: \(text.prefix(200))")
                }
                config.convPrecision = plan
                log.info(line)
            }
        }
        let plan = config.convPrecision!
        try comm.agree {
            do { try plan.apply(to: model) } catch { throw CollectiveFailure(rank: comm.rank, message: "\(error)") }
        }
    }
}
