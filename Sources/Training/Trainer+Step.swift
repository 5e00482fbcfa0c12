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
        let kind = lossKind(epoch: epoch)
        let n = sampler.indices(step: step, order: epochOrder, into: indices, positions: positions)
        // The ranks' shares add up to the global batch, sharded or not; the last batch of an
        // epoch is smaller than --batch-size.
        let globalSamples = sampler.globalRange(step: step).count
        // With accumulatesGradients the gradients are zero here (the last update or skip cleared
        // them) and backward adds into them; otherwise backward overwrites them.
        reducer.reset()
        var contribution = 0.0

        // The mean's denominator over the global batch: the batch size, or the sum of the
        // class weights of the labels for weighted CE (one all-reduce of a number).
        var normalizer = Double(globalSamples)
        let weighted = (kind == .ce || kind == .crl) && classWeights != nil
        var clock = phaseSeconds == nil ? 0 : Self.now()
        if n > 0 { trainBatches.assemble(indices: indices, positions: positions, count: n, epoch: epoch) }
        mark(.data, &clock)
        if weighted {
            var local = [n > 0 ? loss.localNormalizer(kind: kind, targets: trainBatches.targets, batch: n, weights: classWeights) : 0]
            try comm.allReduceSum(&local)
            normalizer = local[0]
        }

        if n > 0 {
            let (logits, features) = model.forward(trainBatches.input, training: true)
            mark(.forward, &clock)
            var mining: MiningBatch?
            if kind == .crl, config.crlMining == .global {
                mining = try gatherMiningBatch(logits: logits, count: n, step: step)
            }
            let share = Double(n) / Double(globalSamples)
            contribution = gatheredScores.withUnsafeBufferPointer { scores in
                gatheredLabels.withUnsafeBufferPointer { labels in
                    var m = mining
                    if m != nil {
                        m!.scores = scores.baseAddress!
                        m!.labels = labels.baseAddress!
                    }
                    return loss.compute(kind: kind, logits: logits, targets: trainBatches.targets,
                                        features: kind.usesFeatures ? features : nil, weights: classWeights,
                                        omega: omega, normalizer: normalizer, share: share, mining: m)
                }
            }
            mark(.loss, &clock)
            if let fault = nanFault, fault.rank == comm.rank, fault.steps.contains(state.globalStep) {
                loss.logitsGradient.data[0] = .nan  // a test's injected fault: NaN gradients on this rank
            }
            model.backward(logitsGradient: loss.logitsGradient, featureGradient: kind.usesFeatures ? loss.featureGradient : nil)
            mark(.backward, &clock)
        } else {
            // No sample on this rank this step: it contributes zero gradients.
            if !model.parameters.accumulatesGradients { model.parameters.zeroGradients() }
            if kind == .crl, config.crlMining == .global { _ = try gatherMiningBatch(logits: nil, count: 0, step: step) }
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

    /// All-gathers the ranks' softmax scores and labels into global-batch order for CRL's
    /// global mining; returns the batch with `rows` mapping this rank's samples into it.
    func gatherMiningBatch(logits: Tensor?, count n: Int, step: Int) throws -> MiningBatch {
        let k = dataset.classes
        let width = k + 1  // scores, then the label as a float (exact below 2^24)
        if let logits { loss.computeProbabilities(logits) }
        if miningSizes.count != comm.size { miningSizes = Array(repeating: 0, count: comm.size) }
        for r in 0..<comm.size { miningSizes[r] = sampler.localBatchSize(step: step, rank: r) * width * 4 }
        let sizes = miningSizes.map { $0 / (width * 4) }
        let total = sizes.reduce(0, +)
        if gathered.count < total * width { gathered = [Float](repeating: 0, count: total * width) }
        if gatheredScores.count < total * k { gatheredScores = [Float](repeating: 0, count: total * k) }
        if gatheredLabels.count < total { gatheredLabels = [Int32](repeating: 0, count: total) }
        if miningSend.count < max(n * width, 1) { miningSend = [Float](repeating: 0, count: max(n * width, 1)) }
        for i in 0..<n {
            for c in 0..<k { miningSend[i * width + c] = loss.probabilities.data[i * k + c] }
            miningSend[i * width + k] = Float(trainBatches.targets[i])
        }
        try miningSend.withUnsafeBytes { send in
            try gathered.withUnsafeMutableBytes { receive in
                try comm.allGather(send.baseAddress!, byteCounts: miningSizes, into: receive.baseAddress!)
            }
        }
        // Rank-major rows back into the order of the global batch (single-process order).
        var offset = 0
        for r in 0..<comm.size {
            for i in 0..<sizes[r] {
                let row = sampler.globalRow(step: step, rank: r, local: i)
                for c in 0..<k { gatheredScores[row * k + c] = gathered[(offset + i) * width + c] }
                gatheredLabels[row] = Int32(gathered[(offset + i) * width + k])
                if r == comm.rank { rows[i] = row }
            }
            offset += sizes[r]
        }
        return gatheredScores.withUnsafeBufferPointer { s in
            gatheredLabels.withUnsafeBufferPointer { l in
                MiningBatch(scores: s.baseAddress!, labels: l.baseAddress!, count: total, rows: rows, ranks: comm.size)
            }
        }
    }
}
