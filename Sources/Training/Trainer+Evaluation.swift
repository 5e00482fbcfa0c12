import Foundation
import Losses
import Settings
import Tensor

extension Options {
    public var posthocTau: Option<Double> { Option("posthoc-tau", 0.0, "Post-hoc logit adjustment at evaluation (Menon et al. 2021): also predict argmax z - tau log(prior), prior from the global training counts, and record those figures beside the raw ones (*_posthoc). 0 = off.", check: .closed(0, 10, note: "0: off")) }
}

extension Trainer {
    /// Test-set evaluation sharded over ranks (rank r takes samples r, r + W, ...); the confusion
    /// matrices are summed so every rank returns the whole test set's figures. The retrieval
    /// metrics take every rank's shard of the features (all-gathered, N x D floats), each rank
    /// ranking its own queries against all of them.
    func evaluate() throws -> Evaluation {
        let k = dataset.classes, d = model.featureDimension
        let total = dataset.test.count
        let mine = comm.rank < total ? (total - comm.rank + comm.size - 1) / comm.size : 0
        var localFeatures = [Float](repeating: 0, count: max(mine * (d + 1), 1))
        var filled = 0
        var confusion = [Int64](repeating: 0, count: k * k)
        // Post-hoc logit adjustment: argmax z - tau log(prior), the prior from the training counts.
        let posthocOffsets: [Float]? = config.posthocTau > 0 && classCounts.count == k
            ? PosthocAdjustment.offsets(counts: classCounts, tau: config.posthocTau).map(Float.init) : nil
        var posthocConfusion = [Int64](repeating: 0, count: posthocOffsets == nil ? 0 : k * k)
        var predictions = [Int32](repeating: 0, count: total)
        let batch = config.evalBatchSize ?? max(1, (config.batchSize + comm.size - 1) / comm.size)
        let picked = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        let positions = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        defer { picked.deallocate(); positions.deallocate() }
        var next = comm.rank
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
            let (logits, features) = model.forward(testBatches.input, training: false)
            for i in 0..<n {
                for j in 0..<d { localFeatures[filled * (d + 1) + j] = features.data[i * d + j] }
                localFeatures[filled * (d + 1) + d] = Float(testBatches.targets[i])
                filled += 1
                let row = logits.data + i * k
                let best = Softmax.argmax(row, count: k)
                confusion[Int(testBatches.targets[i]) * k + best] += 1
                predictions[picked[i]] = Int32(best)
                if let offsets = posthocOffsets {
                    let adjusted = offsets.withUnsafeBufferPointer { Softmax.argmax(row, count: k, offsets: $0.baseAddress!) }
                    posthocConfusion[Int(testBatches.targets[i]) * k + adjusted] += 1
                }
            }
        }
        try comm.allReduceSum(&confusion)
        if posthocOffsets != nil { try comm.allReduceSum(&posthocConfusion) }
        try comm.allReduceSum(&predictions)  // each sample was predicted on one rank
        let matrix = (0..<k).map { r in (0..<k).map { Int(confusion[r * k + $0]) } }
        var evaluation = Evaluation(confusion: matrix, trainCounts: classCounts)
        evaluation.predictions = predictions
        if posthocOffsets != nil {
            let matrix = (0..<k).map { r in (0..<k).map { Int(posthocConfusion[r * k + $0]) } }
            evaluation.posthoc = AccuracyFigures(confusion: matrix, trainCounts: classCounts)
        }
        evaluation.retrieval = try retrieval(localFeatures, dimension: d, total: total)
        return evaluation
    }

    /// Gathers the test features into test-set order and ranks this rank's queries against all.
    func retrieval(_ local: [Float], dimension d: Int, total: Int) throws -> RetrievalMetrics {
        let k = dataset.classes, w = comm.size
        let counts = (0..<w).map { r in r < total ? (total - r + w - 1) / w : 0 }
        var receive: [Float] = [], embeddings: [Float] = [], labels: [Int32] = []
        _ = try allGatherLabelledRows(local, width: d, counts: counts, receive: &receive, rows: &embeddings, labels: &labels) { r, i in
            r + i * w
        }
        watchdog?.beat(epoch: state.epoch, step: state.stepInEpoch)
        let queries = Array(stride(from: comm.rank, to: total, by: w))
        var sums = embeddings.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                RetrievalMetrics.sums(queries: queries, embeddings: x.baseAddress!, labels: y.baseAddress!, count: total,
                                      dimension: d, classes: k)
            }
        }
        try comm.allReduceSum(&sums)
        return RetrievalMetrics(sums: sums, classes: k)
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
    /// What using this model needs without the training set: it trained with the epoch's
    /// class counts (the long-tail profile's before the first epoch).
    public var card: ModelCard {
        ModelCard(model: model, data: dataset.statistics(trainCounts: classCounts.isEmpty ? nil : classCounts))
    }

    /// Evaluates the weights as they stand (after `resume`), with batch-norm statistics
    /// averaged over ranks and classes grouped by the training counts (the checkpoint's card's;
    /// older checkpoints: the epoch's, from the training set).
    public func evaluateCheckpoint() throws -> Evaluation {
        if let counts = state.card?.data.trainCounts {
            classCounts = counts
        } else {
            try beginEpoch(min(state.epoch, config.epochs - 1))
        }
        try averageBatchNormBuffers()
        return try evaluate()
    }
}
