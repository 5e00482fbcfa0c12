import Data
import Distributed
import Losses

/// What an epoch's steps share: its sample order and, from the global class counts (summed
/// over ranks), the class weights and CRL's Omega, identical on every rank and equal to one
/// process's.
struct EpochStatistics {
    var order: [Int] = []
    var counts: [Int] = []
    var weights: [Double]?
    var omega = 0.0
}

extension TrainStep {
    /// The loss applied in `epoch`: plain CE before the IB start epoch for the two-phase losses.
    func lossKind(epoch: Int) -> LossKind {
        loss.inFirstPhase(epoch: epoch) ? .ce : config.loss
    }

    /// Class weighting in `epoch`: none in the first phase and before `--drw-epoch`.
    func weighting(epoch: Int) -> ClassWeighting {
        if loss.inFirstPhase(epoch: epoch) { return .none }
        if let drw = config.drwEpoch, epoch < drw.epoch(of: config.epochs) { return .none }
        return config.classWeights.resolved(for: config.loss)
    }

    /// The epoch's order, global class counts, class weights and Omega (collective).
    public func beginEpoch(_ epoch: Int, labels: [Int32], classes: Int) throws {
        let order = sampler.permutation(epoch: epoch)
        let owned = sampler.ownedLabelCounts(epoch: epoch, order: order, labels: labels, classes: classes)
        var counts = owned.map { Int64($0) }
        try comm.allReduceSum(&counts)
        let global = counts.map { Int($0) }
        let classification = loss.classification, name = config.loss.rawValue
        try comm.agree {
            if let problem = classification.problem(counts: global) { throw CollectiveFailure(rank: 0, message: "--loss \(name): \(problem)") }
        }
        let weighting = weighting(epoch: epoch)
        let beta = config.cbBeta
        let weights = try comm.agree { try ClassWeights.compute(weighting, counts: global, beta: beta) }
        statistics = EpochStatistics(order: order, counts: global, weights: weighting == .none ? nil : weights,
                                     omega: ClassWeights.omega(counts: global))
    }
}
