import Checkpoint
import Foundation
import NN
import Testing
@testable import Training

/// A model's tensors go into a checkpoint and come back: every parameter, and each rank's
/// batch-norm buffers in rank order (what resuming and `ModelLoader` read).
@Suite struct CheckpointModelTests {
    @Test func parametersAndEveryRanksBuffersComeBack() throws {
        let model = Model.make(.resnet32, inputShape: InputShape(channels: 1, height: 8, width: 8), classes: 3, seed: 1,
                               convolutions: .im2col)
        let ranks = 3, nb = model.buffers.count
        #expect(nb > 0)
        // Each rank's buffers differ, and every value differs from its neighbours.
        let buffers = (0..<(ranks * nb)).map { Float($0) * 0.25 + 1 }
        let parameters = Array(UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count))
        let path = NSTemporaryDirectory() + "ddp-train-ckmodel-\(getpid())-\(UUID().uuidString).ckpt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try parameters.withUnsafeBufferPointer { p in
            try buffers.withUnsafeBufferPointer { b in
                var tensors = model.parameters.entries.map {
                    CheckpointFile.Tensor(name: CheckpointNames.parameter($0.name), shape: $0.shape,
                                          values: UnsafeBufferPointer(rebasing: p[$0.offset..<($0.offset + $0.count)]))
                }
                for r in 0..<ranks {
                    for e in model.buffers.entries {
                        tensors.append(.init(name: CheckpointNames.buffer(e.name, rank: r), shape: e.shape,
                                             values: UnsafeBufferPointer(rebasing: b[(r * nb + e.offset)..<(r * nb
                                                 + e.offset + e.count)])))
                    }
                }
                _ = try CheckpointFile.write(path: path, manifest: Data("{}".utf8), tensors: tensors, level: 1)
            }
        }
        let contents = try CheckpointFile.read(path: path)
        let other = Model.make(.resnet32, inputShape: InputShape(channels: 1, height: 8, width: 8), classes: 3, seed: 2,
                               convolutions: .im2col)
        try CheckpointModel.validate(contents, model: other, worldSize: ranks, saved: .resnet32, wanted: .resnet32,
                                     path: path)
        CheckpointModel.loadParameters(contents, into: other)
        #expect(Array(UnsafeBufferPointer(start: other.parameters.values, count: other.parameters.count)) == parameters)
        #expect(CheckpointModel.buffers(contents, model: other, worldSize: ranks) == buffers)
        // One rank more than the file holds: refused, naming the rank.
        #expect(throws: CheckpointError.self) {
            try CheckpointModel.validate(contents, model: other, worldSize: ranks + 1, saved: .resnet32,
                                         wanted: .resnet32, path: path)
        }
        // Another model: refused, naming the missing tensor.
        let cnn = Model.make(.cnn, inputShape: InputShape(channels: 1, height: 8, width: 8), classes: 3, seed: 2,
                             convolutions: .im2col)
        #expect(throws: CheckpointError.self) {
            try CheckpointModel.validate(contents, model: cnn, worldSize: ranks, saved: .resnet32, wanted: .cnn,
                                         path: path)
        }
    }
}
