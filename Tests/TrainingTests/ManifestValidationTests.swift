import Checkpoint
import Data
import Foundation
import Testing
@testable import Training

/// A checkpoint whose checksum is sound but whose manifest is not is refused with the field
/// named, by the one validation path `eval`, `inspect` and `--resume` share.
@Suite struct ManifestValidationTests {
    static let cases: [(String, @Sendable (inout TrainingState) -> Void)] = [
        ("epoch -1", { $0.epoch = -1 }),
        ("world size", { $0.worldSize = 1 << 40 }),
        ("world size", { $0.worldSize = -1 }),
        ("--batch-size", { $0.config.batchSize = 1 << 62 }),
        ("--eval-batch-size", { $0.config.evalBatchSize = 0 }),
        ("--eval-batch-size", { $0.config.evalBatchSize = -1 }),
        ("--classes", { $0.config.classes = 1 << 40 }),
        ("--imbalance-ratio", { $0.config.imbalanceRatio = 0 }),
        ("--lr", { $0.config.lr = -1 }),
        ("optimizer steps", { $0.optimizerSteps = 5; $0.globalStep = 2 }),
        ("card", { $0.card?.data.std = [-1] }),
        ("card", { $0.card?.data.classNames = ["one name"] }),
    ]

    @Test func unsoundManifestsAreRefused() throws {
        let dir = NSTemporaryDirectory() + "ddp-train-manifest-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = [1, 2, 3]
        func write(_ state: TrainingState, _ name: String) throws -> String {
            let path = dir + "/" + name
            let manifest = try JSONEncoder().encode(state)
            try values.withUnsafeBufferPointer { v in
                _ = try CheckpointFile.write(path: path, manifest: manifest,
                                             tensors: [.init(name: "x", shape: [3], values: v)], level: 1)
            }
            return path
        }
        var sound = TrainingState(config: TrainConfig())
        sound.config.resolve()
        sound.card = ModelCard(model: .mlp, head: "linear", data: DataStatistics(
            inputShape: [1, 28, 28], classes: 10, classNames: nil, mean: [0.3], std: [0.35],
                trainCounts: Array(repeating: 9, count: 10)))
        let soundPath = try write(sound, "sound.ckpt")
        #expect(try TrainingState.decode(manifest: CheckpointFile.read(path: soundPath).manifest,
                                         path: soundPath) == sound)
        for (i, (field, damage)) in Self.cases.enumerated() {
            var state = sound
            damage(&state)
            let path = try write(state, "case-\(i).ckpt")
            do {
                _ = try TrainingState.decode(manifest: CheckpointFile.read(path: path).manifest, path: path)
                Issue.record("case \(i) (\(field)) accepted")
            } catch {
                #expect("\(error)".contains(path) && "\(error)".contains(field), "case \(i): \(error)")
            }
        }
    }
}
