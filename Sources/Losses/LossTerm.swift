import Tensor

/// One part of a training loss (the classification loss, an embedding loss): what it needs
/// from the trainer, declared, and its value and gradients for one step.
///
/// The trainer provides what `needs` asks for, whatever the term: the features `h`, a mean
/// over the global batch weighted by class (`sum_i w[y_i]`, summed over ranks), the global
/// batch's rows gathered from every rank, and checkpointing of `state`. A term adds (`+=`)
/// its gradients into the step's `dL/dscores` and `dL/dh`.
public protocol LossTerm: AnyObject {
    var needs: LossNeeds { get }
    /// This batch's rows (B, `needs.gatherWidth`) to gather over the global batch; called
    /// before `accumulate` when the width is not zero.
    func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float>
    /// Adds the term's gradients and returns this rank's share of its value over the global batch.
    func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double
    /// Tensors that persist between steps (checkpointed, restored on resume), by name.
    var state: [(name: String, tensor: Tensor)] { get }
    /// Called on every rank after the optimiser took the step (not after a skipped one): the
    /// term updates its `state` from what `accumulate` saw.
    func stepTaken()
    /// Why the term cannot train with these global class counts (a class without samples for
    /// a loss that adjusts by the counts), or nil; asked at the start of every epoch.
    func problem(counts: [Int]) -> String?
}

extension LossTerm {
    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> {
        preconditionFailure("\(type(of: self)) gathers nothing")
    }
    public var state: [(name: String, tensor: Tensor)] { [] }
    public func stepTaken() {}
    public func problem(counts: [Int]) -> String? { nil }
}

/// What a loss term needs from the trainer.
public struct LossNeeds: Sendable, Equatable {
    /// Reads the features `h` (and may add `dL/dh`).
    public var features = false
    /// Floats per sample to gather over the global batch (0: none).
    public var gatherWidth = 0
    /// The mean's denominator is the global `sum_i w[y_i]` (PyTorch's weighted mean) when there
    /// are class weights; otherwise the global batch size.
    public var weightedMean = false

    public init(features: Bool = false, gatherWidth: Int = 0, weightedMean: Bool = false) {
        self.features = features
        self.gatherWidth = gatherWidth
        self.weightedMean = weightedMean
    }

    /// What two terms together need.
    public func union(_ other: LossNeeds) -> LossNeeds {
        LossNeeds(features: features || other.features, gatherWidth: max(gatherWidth, other.gatherWidth),
                  weightedMean: weightedMean || other.weightedMean)
    }
}

/// One step's inputs on this rank.
public struct LossBatch {
    /// Scores (B, K): logits, or cosines for a margin head.
    public var scores: Tensor
    /// Features (B, D).
    public var features: Tensor
    public var targets: UnsafePointer<Int32>
    public var count: Int
    /// Per-class weights (K) or nil.
    public var weights: [Double]?
    /// CRL's imbalance measure from the global class counts.
    public var omega: Double
    /// The epoch's global class counts (K), summed over ranks.
    public var counts: [Int]
    /// The mean's denominator over the global batch (see `LossNeeds.weightedMean`).
    public var normalizer: Double
    /// This batch's share of the global batch's samples.
    public var share: Double
    /// The gathered global batch, when the term asked for it.
    public var global: GlobalBatch?

    public init(scores: Tensor, features: Tensor, targets: UnsafePointer<Int32>, count: Int, weights: [Double]?,
                omega: Double, counts: [Int] = [], normalizer: Double, share: Double, global: GlobalBatch? = nil) {
        self.counts = counts
        self.scores = scores
        self.features = features
        self.targets = targets
        self.count = count
        self.weights = weights
        self.omega = omega
        self.normalizer = normalizer
        self.share = share
        self.global = global
    }
}

/// The global batch's rows, gathered from every rank in single-process order.
public struct GlobalBatch {
    /// (M, width)
    public var rows: UnsafePointer<Float>
    public var width: Int
    /// (M)
    public var labels: UnsafePointer<Int32>
    public var count: Int
    /// Row in the global batch of each of this rank's samples, (B).
    public var localRows: UnsafePointer<Int>
    /// Ranks that compute the same global term (its value is split among them).
    public var ranks: Int

    public init(rows: UnsafePointer<Float>, width: Int, labels: UnsafePointer<Int32>, count: Int,
                localRows: UnsafePointer<Int>, ranks: Int) {
        self.rows = rows
        self.width = width
        self.labels = labels
        self.count = count
        self.localRows = localRows
        self.ranks = ranks
    }
}
