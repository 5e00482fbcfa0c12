import Data
import Distributed
import Dispatch
import Foundation
import Losses
import Tensor

extension Trainer {
    /// The outcome of one optimiser step.
    struct StepResult {
        /// The global batch's loss (sum of the ranks' contributions).
        var loss: Double
        var skipped: Bool
        /// Samples in the global batch.
        var samples: Int
        /// Whether some rank was asked to stop (SIGTERM, SIGINT).
        var stopRequested = false
    }

    /// One step: forward, loss, backward with bucketed all-reduce, a global non-finite
    /// check, the update. No allocation once the buffers are sized.
    func trainStep(epoch: Int, step: Int, lr: Float) throws -> StepResult {
        let terms = loss.terms(epoch: epoch)
        let needs = loss.needs(epoch: epoch)
        let n = sampler.indices(step: step, order: epochOrder, into: indices, positions: positions)
        // The ranks' shares add up to the global batch, sharded or not; the last batch of an
        // epoch is smaller than --batch-size.
        let globalSamples = sampler.globalRange(step: step).count
        // With accumulatesGradients the gradients are zero here (the last update or skip cleared
        // them) and backward adds into them; otherwise backward overwrites them.
        reducer.reset()
        var contribution = 0.0

        // The mean's denominator over the global batch: the batch size, or the sum of the
        // class weights of the labels for a weighted mean (one all-reduce of a number).
        var normalizer = Double(globalSamples)
        var clock = phaseSeconds == nil ? 0 : Self.now()
        if n > 0 { trainBatches.assemble(indices: indices, positions: positions, count: n, epoch: epoch) }
        mark(.data, &clock)
        if needs.weightedMean, classWeights != nil {
            var local = [n > 0 ? loss.localNormalizer(epoch: epoch, targets: trainBatches.targets, batch: n, weights: classWeights) : 0]
            try comm.allReduceSum(&local)
            normalizer = local[0]
        }

        // A rank without samples this step still takes part in the terms' gathers (and their
        // state, such as center loss's centres, moves on every rank after the step); it
        // contributes zero gradients.
        var scores = loss.scoresGradient, features = loss.featureGradient
        if n > 0 {
            (scores, features) = model.forward(trainBatches.input, training: true)
            mark(.forward, &clock)
        } else if !model.parameters.accumulatesGradients {
            model.parameters.zeroGradients()
        }
        loss.clearGradients(batch: n, classes: dataset.classes, features: model.featureDimension)
        for term in terms {
            var batch = LossBatch(scores: scores, features: features, targets: trainBatches.targets, count: n, weights: classWeights,
                                  omega: omega, counts: classCounts, normalizer: normalizer, share: Double(n) / Double(globalSamples))
            let width = term.needs.gatherWidth
            if width > 0 {
                batch.global = try gatherGlobalBatch(rows: n > 0 ? term.rowsToGather(batch) : nil, width: width, count: n, step: step)
            }
            contribution += term.accumulate(batch, scoresGradient: loss.scoresGradient, featureGradient: loss.featureGradient)
        }
        if n > 0 {
            mark(.loss, &clock)
            if let fault = nanFault, fault.rank == comm.rank, fault.steps.contains(state.globalStep) {
                loss.scoresGradient.data[0] = .nan  // a test's injected fault: NaN gradients on this rank
            }
            model.backward(logitsGradient: loss.scoresGradient, featureGradient: needs.features ? loss.featureGradient : nil)
            mark(.backward, &clock)
        }
        if let error = pendingError { pendingError = nil; throw error }
        try reducer.finish()

        // One all-reduce decides for every rank: a non-finite loss or gradient anywhere skips the step.
        stepReduction[0] = (reducer.localNonFinite || !contribution.isFinite) ? 1 : 0
        stepReduction[1] = contribution.isFinite ? contribution : 0
        stepReduction[2] = StopSignal.isRequested ? 1 : 0
        try comm.allReduceSum(&stepReduction)
        let stop = stepReduction[2] > 0
        mark(.communication, &clock)
        if stepReduction[0] > 0 {
            if model.parameters.accumulatesGradients { model.parameters.zeroGradients() }
            return StepResult(loss: .nan, skipped: true, samples: globalSamples, stopRequested: stop)
        }
        optimizer.step(parameters: model.parameters.values, gradients: model.parameters.gradients, lr: lr,
                       zeroingGradients: model.parameters.accumulatesGradients)
        for term in terms { term.stepTaken() }
        mark(.optimizer, &clock)
        return StepResult(loss: stepReduction[1], skipped: false, samples: globalSamples, stopRequested: stop)
    }

    // MARK: - Phase timing (bench --profile)

    /// Parts of a step, for `phaseSeconds`.
    public enum Phase: Int, CaseIterable, Sendable {
        case data, forward, loss, backward, communication, optimizer
        public var name: String {
            ["batch assembly", "forward", "loss", "backward (+ buckets started)", "wait for all-reduce + checks", "optimizer"][rawValue]
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    @inline(__always)
    func mark(_ phase: Phase, _ clock: inout Double) {
        guard phaseSeconds != nil else { return }
        let t = Self.now()
        phaseSeconds![phase.rawValue] += t - clock
        clock = t
    }

    /// All-gathers the ranks' rows (B, width) and labels into global-batch order, as a loss
    /// term asked (`LossNeeds.gatherWidth`); `localRows` maps this rank's samples into it.
    /// The buffers stay valid until the next gather.
    func gatherGlobalBatch(rows source: UnsafePointer<Float>?, width: Int, count n: Int, step: Int) throws -> GlobalBatch {
        let stride = width + 1
        if gatherSizes.count != comm.size { gatherSizes = Array(repeating: 0, count: comm.size) }
        for r in 0..<comm.size { gatherSizes[r] = sampler.localBatchSize(step: step, rank: r) }
        if gatherSend.count < max(n * stride, 1) { gatherSend = [Float](repeating: 0, count: max(n * stride, 1)) }
        if let source {
            for i in 0..<n {
                for c in 0..<width { gatherSend[i * stride + c] = source[i * width + c] }
                gatherSend[i * stride + width] = Float(trainBatches.targets[i])
            }
        }
        let total = try allGatherLabelledRows(gatherSend, width: width, counts: gatherSizes, receive: &gathered,
                                              rows: &gatheredRows, labels: &gatheredLabels) { r, i in
            let row = sampler.globalRow(step: step, rank: r, local: i)
            if r == comm.rank { rows[i] = row }
            return row
        }
        // The arrays are not resized before the next gather, so their storage stays where it is.
        return gatheredRows.withUnsafeBufferPointer { s in
            gatheredLabels.withUnsafeBufferPointer { l in
                GlobalBatch(rows: s.baseAddress!, width: width, labels: l.baseAddress!, count: total, localRows: rows, ranks: comm.size)
            }
        }
    }

    /// All-gathers labelled rows (`width` floats, then the label as a float: exact below 2^24),
    /// `counts[r]` of them from rank r, and puts rank r's i-th row and label at `place(r, i)` of
    /// `rows` and `labels`. Buffers grow when too small. Returns the number of rows.
    func allGatherLabelledRows(_ send: [Float], width: Int, counts: [Int], receive: inout [Float], rows: inout [Float],
                               labels: inout [Int32], place: (Int, Int) -> Int) throws -> Int {
        let stride = width + 1
        let total = counts.reduce(0, +)
        if receive.count < max(total * stride, 1) { receive = [Float](repeating: 0, count: max(total * stride, 1)) }
        if rows.count < max(total * width, 1) { rows = [Float](repeating: 0, count: max(total * width, 1)) }
        if labels.count < max(total, 1) { labels = [Int32](repeating: 0, count: max(total, 1)) }
        if gatherBytes.count != counts.count { gatherBytes = counts }
        for r in 0..<counts.count { gatherBytes[r] = counts[r] * stride * 4 }
        try send.withUnsafeBytes { s in
            try receive.withUnsafeMutableBytes { r in
                try comm.allGather(s.baseAddress!, byteCounts: gatherBytes, into: r.baseAddress!)
            }
        }
        var offset = 0
        for r in 0..<counts.count {
            for i in 0..<counts[r] {
                let index = place(r, i), from = (offset + i) * stride
                for c in 0..<width { rows[index * width + c] = receive[from + c] }
                labels[index] = Int32(receive[from + width])
            }
            offset += counts[r]
        }
        return total
    }
}
