import Data
import Foundation
import Distributed
import Losses
import NN
import Settings
import Tensor

extension Options {
    public var posthocTau: Option<Double> { Option("posthoc-tau", 0.0,
                                                   "Post-hoc logit adjustment at evaluation (Menon et al. 2021): " +
                                                   "also predict argmax z - tau log(prior), prior from the global " +
                                                   "training counts, and record those figures beside the raw ones " +
                                                   "(*_posthoc). 0 = off.", check: .closed(0, 10, note: "0: off")) }
}

/// Test-set evaluation of a model, sharded over ranks (rank r takes samples r, r + W, ...):
/// the confusion matrices are summed, so every rank returns the whole test set's figures. The
/// retrieval metrics take every rank's shard of the features (all-gathered, N x D floats), each
/// rank ranking its own queries against all of them. Training evaluates after every epoch;
/// `eval` evaluates a loaded model.
public final class Evaluator {
    let comm: Communicator
    let model: Model
    let test: Split
    let batches: BatchAssembler
    /// The held-out classes' test images (`--holdout-classes`), for retrieval only.
    let unseen: BatchAssembler?
    /// Test samples per rank and forward pass.
    let batchSize: Int
    let gather: LabelledRowGather
    /// Called after every batch (training's stall watchdog).
    var heartbeat: (() -> Void)?
    /// Where evaluation's time goes (`--profile`).
    var profile: EpochProfile?
    /// Keep every test sample's logits in the evaluation (`eval --logits`).
    public var keepLogits = false
    /// The training counts that bound the shot groups (`--shot-thresholds`).
    public var thresholds = ShotThresholds()

    /// - batchSize: `--eval-batch-size`, or the rank's training batch of `trainingBatch`.
    /// - unseen: the held-out classes' test images (`Dataset.unseenTest`)
    public init(model: Model, test: Split, unseen: Split? = nil, mean: [Float], std: [Float], batchSize: Int?,
                trainingBatch: Int,
                comm: Communicator) {
        self.comm = comm
        self.model = model
        self.test = test
        let channelMajor = model.inputLayout == .channelMajor
        batches = BatchAssembler(split: test, mean: mean, std: std, channelMajor: channelMajor, seed: 0)
        self.unseen = unseen.map { BatchAssembler(split: $0, mean: mean, std: std, channelMajor: channelMajor,
                                                  seed: 0) }
        self.batchSize = batchSize ?? max(1, (trainingBatch + comm.size - 1) / comm.size)
        gather = LabelledRowGather(comm: comm)
    }

    /// The figures of the model as it stands (collective).
    /// - trainCounts: the global training class counts, which group the classes into many /
    ///   medium / few and give the post-hoc prior
    /// - posthocTau: `--posthoc-tau` (0: no post-hoc figures)
    /// - tauNorm: `--tau-norm`'s tau (nil: no tau-normalised figures)
    /// - retrieval: whether to measure retrieval and clusters of the features (every rank alike)
    public func evaluate(trainCounts: [Int], posthocTau: Double, tauNorm: Double? = nil,
                         retrieval measuresRetrieval: Bool = true) throws -> Evaluation {
        let k = model.classes, d = model.featureDimension
        let total = test.count
        var tally = ScoreTally(classes: k)
        // Post-hoc logit adjustment: z - tau log(prior), the prior from the training counts.
        let posthocOffsets: [Float]? = posthocTau > 0 && trainCounts.count == k
            ? PosthocAdjustment.offsets(counts: trainCounts, tau: posthocTau).map(Float.init) : nil
        var posthocTally = posthocOffsets.map { _ in ScoreTally(classes: k) }
        var adjusted = [Float](repeating: 0, count: k)
        // Tau-normalised rows (K x D), and the batch's scores by them.
        let tauRows = tauNorm.flatMap { tau in model.classifierRows.map {
            TauNormalization.weights($0, classes: k, tau: tau)
        } }
        var tauTally = tauRows.map { _ in ScoreTally(classes: k) }
        var tauLogits = [Float](repeating: 0, count: tauRows == nil ? 0 : batchSize * k)
        var predictions = [Int32](repeating: 0, count: total)
        var kept = [Float](repeating: 0, count: keepLogits ? total * k : 0)
        let t0 = DispatchTime.now().uptimeNanoseconds
        try forEachBatch(of: batches, total: total) { picked, n, logits, features in
            if let tauRows {
                BLAS.gemm(transB: true, m: n, n: k, k: d, a: features.data, lda: d, b: tauRows, ldb: d, beta: 0,
                          c: &tauLogits, ldc: k)
                tauLogits.withUnsafeBufferPointer { z in
                    for i in 0..<n { tauTally!.add(z.baseAddress! + i * k, target: Int(batches.targets[i])) }
                }
            }
            for i in 0..<n {
                let row = logits.data + i * k, y = Int(batches.targets[i])
                if keepLogits { for j in 0..<k { kept[picked[i] * k + j] = row[j] } }
                predictions[picked[i]] = Int32(tally.add(row, target: y))
                if let offsets = posthocOffsets {
                    for j in 0..<k { adjusted[j] = row[j] + offsets[j] }
                    adjusted.withUnsafeBufferPointer { _ = posthocTally!.add($0.baseAddress!, target: y) }
                }
            }
        }
        try tally.sum(comm)
        try posthocTally?.sum(comm)
        try tauTally?.sum(comm)
        try comm.allReduceSum(&predictions)  // each sample was predicted on one rank
        var evaluation = Evaluation(figures: TestFigures(test: tally.figures(trainCounts: trainCounts,
                                                                             thresholds: thresholds)))
        evaluation.predictions = predictions
        if keepLogits {
            try comm.allReduceSum(&kept)  // each row was filled on one rank, zeros elsewhere
            evaluation.logits = kept
        }
        evaluation.figures.posthoc = posthocTally?.figures(trainCounts: trainCounts, thresholds: thresholds)
        evaluation.figures.taunorm = tauTally?.figures(trainCounts: trainCounts, thresholds: thresholds)
        profile?.add(.evaluation, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        guard measuresRetrieval else { heartbeat?(); return evaluation }
        evaluation.figures.retrieval = try measure(.retrieval) { try retrieval(dimension: d, total: total, classes: k) }
        // The features just gathered, in test-set order, the same on every rank: rank 0 clusters
        // them and sends the figures (8 ranks on 2 cores would each run the same k-means).
        evaluation.figures.clusters = try measure(.clusters) {
            var figures = [0.0, 0.0, 0.0]
            if comm.rank == 0 {
                let q = gather.withGathered { x, y in ClusterQuality.measure(x, labels: y, count: total, dimension: d) }
                figures = [q.nmi, q.ami, q.varianceRatio]
            }
            try comm.broadcast(&figures)
            return ClusterQuality(nmi: figures[0], ami: figures[1], varianceRatio: figures[2])
        }
        heartbeat?()
        if let unseen { evaluation.figures.unseen = try measure(.retrieval) { try unseenRetrieval(unseen) } }
        return evaluation
    }

    private func measure<T>(_ phase: EpochProfile.Phase, _ body: () throws -> T) rethrows -> T {
        guard let profile else { return try body() }
        return try profile.measure(phase, body)
    }

    /// Retrieval among the held-out classes' test images (sharded as the test set).
    func unseenRetrieval(_ assembler: BatchAssembler) throws -> RetrievalMetrics {
        let total = assembler.split.count
        try forEachBatch(of: assembler, total: total) { _, _, _, _ in }
        return try retrieval(dimension: model.featureDimension, total: total,
                             classes: Int(assembler.split.labels.max() ?? 0) + 1)
    }

    /// This rank's shard of `assembler`'s split (samples rank, rank + W, ...) in batches of
    /// `batchSize`: each batch's features and label go into `gather.send` (for `retrieval`), and
    /// `body` gets the batch's sample indices, count, logits and features.
    func forEachBatch(of assembler: BatchAssembler, total: Int,
                      _ body: (UnsafeMutablePointer<Int>, Int, Tensor, Tensor) throws -> Void) throws {
        let d = model.featureDimension
        let mine = comm.rank < total ? (total - comm.rank + comm.size - 1) / comm.size : 0
        gather.reserve(rows: mine, width: d)
        let picked = UnsafeMutablePointer<Int>.allocate(capacity: batchSize)
        defer { picked.deallocate() }
        var next = comm.rank, filled = 0
        while next < total {
            var n = 0
            while n < batchSize, next < total {
                picked[n] = next
                n += 1
                next += comm.size
            }
            heartbeat?()
            assembler.assemble(indices: picked, positions: picked, count: n, epoch: 0)
            let (logits, features) = model.forward(assembler.input, training: false)
            for i in 0..<n {
                for j in 0..<d { gather.send[filled * (d + 1) + j] = features.data[i * d + j] }
                gather.send[filled * (d + 1) + d] = Float(assembler.targets[i])
                filled += 1
            }
            try body(picked, n, logits, features)
        }
    }

    /// Gathers the test features (in `gather.send`) into test-set order and ranks this rank's
    /// queries against all.
    func retrieval(dimension d: Int, total: Int, classes k: Int) throws -> RetrievalMetrics {
        let w = comm.size
        for r in 0..<w { gather.counts[r] = r < total ? (total - r + w - 1) / w : 0 }
        _ = try gather.gather(width: d) { r, i in r + i * w }
        heartbeat?()
        let queries = Array(stride(from: comm.rank, to: total, by: w))
        var sums = gather.withGathered { x, y in
            RetrievalMetrics.sums(queries: queries, embeddings: x, labels: y, count: total, dimension: d, classes: k)
        }
        try comm.allReduceSum(&sums)
        return RetrievalMetrics(sums: sums, classes: k)
    }

    /// Averages the model's batch-norm running statistics over ranks (each rank saw other batches).
    public static func averageBatchNormBuffers(_ model: Model, comm: Communicator) throws {
        guard comm.size > 1, model.buffers.count > 0 else { return }
        try comm.allReduceSum(model.buffers.valueBuffer)
        let scale = 1 / Float(comm.size)
        for i in 0..<model.buffers.count { model.buffers.values[i] *= scale }
    }
}
