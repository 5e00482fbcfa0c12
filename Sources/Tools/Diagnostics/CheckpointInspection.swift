import Training
import Checkpoint
import Foundation

/// What `ddp-train inspect` reports about a checkpoint.
public struct CheckpointInspection: Codable, Sendable {
    public struct TensorInfo: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var norm: Double
    }

    public var path: String
    public var formatVersion: Int
    public var epoch: Int
    public var stepInEpoch: Int
    public var globalStep: Int
    public var worldSize: Int
    public var fileBytes: Int
    /// Bytes of the tensors as raw float32.
    public var tensorBytes: Int
    /// File size over raw float32 tensor size.
    public var compressionRatio: Double
    public var config: TrainConfig
    /// What using the model needs without the training set (nil for older checkpoints).
    public var card: ModelCard?
    public var tensors: [TensorInfo]

    enum CodingKeys: String, CodingKey {
        case path
        case formatVersion = "format_version"
        case epoch
        case stepInEpoch = "step_in_epoch"
        case globalStep = "global_step"
        case worldSize = "world_size"
        case fileBytes = "file_bytes"
        case tensorBytes = "tensor_bytes"
        case compressionRatio = "compression_ratio"
        case config, card, tensors
    }

    /// Reads and checks `path` (throws for an invalid file).
    public init(path: String) throws {
        let c = try CheckpointFile.read(path: path)
        let state = try TrainingState.decode(manifest: c.manifest, path: path)
        self.path = path
        formatVersion = state.formatVersion
        epoch = state.epoch
        stepInEpoch = state.stepInEpoch
        globalStep = state.globalStep
        worldSize = state.worldSize
        fileBytes = c.fileBytes
        tensorBytes = c.entries.reduce(0) { $0 + $1.bytes }
        compressionRatio = Double(fileBytes) / Double(max(tensorBytes, 1))
        config = state.config
        card = state.card
        tensors = c.entries.map { e in
            let v = c.values(of: e.name) ?? []
            return TensorInfo(name: e.name, shape: e.shape,
                              norm: v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
    }

    /// The readable report.
    public var text: String {
        var lines = [
            "checkpoint \(path)",
            "  format version \(formatVersion); "
                + (stepInEpoch == 0 ? "after \(epoch) epoch\(epoch == 1 ? "" : "s")" : "epoch \(epoch + 1), step " +
                    "\(stepInEpoch) of it")
                + "; global step \(globalStep); \(worldSize) rank\(worldSize == 1 ? "" : "s")",
            String(format: "  %d bytes on disk for %d bytes of float32 tensors: ratio %.3f", fileBytes, tensorBytes,
                   compressionRatio),
            "  model \(config.model.rawValue), loss \(config.loss.rawValue), optimizer \(config.optimizer.rawValue), " +
            "\(config.epochs) epochs" + (config.stage2 == .none ? ""
                : " + \(config.stage2Epochs) of a second stage (\(config.stage2.rawValue))")
                + ", batch \(config.batchSize)",
        ]
        if let card {
            let d = card.data
            lines.append("  input \(card.data.inputShape.map(String.init).joined(separator: " x ")), " +
                         "\(d.classes) classes"
                         + (d.classNames.map { " (" + $0.joined(separator: ", ") + ")" } ?? "")
                         + "; normalisation mean \(d.mean), std \(d.std)")
        }
        lines.append("  tensors:")
        let width = tensors.map(\.name.count).max() ?? 10
        for t in tensors {
            lines.append("    " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + "\(t.shape)".padding(toLength: 20, withPad: " ",
                                                startingAt: 0) + String(format: "  norm %.6g", t.norm))
        }
        lines.append("  configuration: " + String(decoding: (try? RunDirectory.json(config)) ?? Data(), as: UTF8.self))
        return lines.joined(separator: "\n")
    }

    /// The model weights of a checkpoint by name (batch-norm statistics averaged over the ranks).
    public static func weights(path: String) throws -> [SafeTensors.Tensor] {
        let c = try CheckpointFile.read(path: path)
        let state = try TrainingState.decode(manifest: c.manifest, path: path)
        var out: [SafeTensors.Tensor] = []
        for e in c.entries where e.name.hasPrefix("parameters/") {
            out.append(SafeTensors.Tensor(name: String(e.name.dropFirst("parameters/".count)), shape: e.shape,
                                          values: Array(c.values(of: e.name)!)))
        }
        let prefix = "buffers/rank0/"
        for e in c.entries where e.name.hasPrefix(prefix) {
            let name = String(e.name.dropFirst(prefix.count))
            var all: [Float] = []
            for r in 0..<state.worldSize {
                let zeros = [Float](repeating: 0, count: e.bytes / 4)
                all += c.values(of: "buffers/rank\(r)/" + name).map(Array.init) ?? zeros
            }
            out.append(SafeTensors.Tensor(name: name, shape: e.shape,
                                          values: CheckpointModel.mean(all, worldSize: state.worldSize),
                                          integer: name.hasSuffix("num_batches_tracked")))
        }
        out = WeightsExport.folded(out)
        return out
    }
}
