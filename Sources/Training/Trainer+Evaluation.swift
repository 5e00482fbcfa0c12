import Foundation
import Tensor

extension Trainer {
    /// Test-set evaluation sharded over ranks (rank r takes samples r, r + W, ...); the confusion
    /// matrices are summed so every rank returns the whole test set's figures.
    func evaluate() throws -> Evaluation {
        let k = dataset.classes
        var confusion = [Int64](repeating: 0, count: k * k)
        let batch = config.evalBatchSize ?? max(1, (config.batchSize + comm.size - 1) / comm.size)
        let picked = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        let positions = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        defer { picked.deallocate(); positions.deallocate() }
        var next = comm.rank
        let total = dataset.test.count
        while next < total {
            var n = 0
            while n < batch, next < total {
                picked[n] = next
                positions[n] = next
                n += 1
                next += comm.size
            }
            watchdog?.beat(epoch: state.epoch, step: state.stepInEpoch)
            testBatches.assemble(indices: picked, positions: positions, count: n, epoch: 0)
            let (logits, _) = model.forward(testBatches.input, training: false)
            for i in 0..<n {
                let row = logits.data + i * k
                var best = 0
                for c in 1..<k where row[c] > row[best] { best = c }
                confusion[Int(testBatches.targets[i]) * k + best] += 1
            }
        }
        try comm.allReduceSum(&confusion)
        let matrix = (0..<k).map { r in (0..<k).map { Int(confusion[r * k + $0]) } }
        return Evaluation(confusion: matrix, trainCounts: classCounts)
    }

    /// Averages the batch-norm running statistics over ranks (each rank saw other batches).
    func averageBatchNormBuffers() throws {
        guard comm.size > 1, model.buffers.count > 0 else { return }
        try comm.allReduceSum(model.buffers.valueBuffer)
        let scale = 1 / Float(comm.size)
        for i in 0..<model.buffers.count { model.buffers.values[i] *= scale }
    }
}

extension Trainer {
    /// Evaluates the weights as they stand (after `resume`), with batch-norm statistics
    /// averaged over ranks and classes grouped by the training counts.
    public func evaluateCheckpoint() throws -> Evaluation {
        try beginEpoch(min(state.epoch, config.epochs - 1))
        try averageBatchNormBuffers()
        return try evaluate()
    }
}
