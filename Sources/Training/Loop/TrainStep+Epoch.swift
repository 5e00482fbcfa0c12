import Data
import Distributed
import Losses

/// What an epoch's steps share: its sample order and, from the global class counts (summed
/// over ranks), the class weights and CRL's Omega, identical on every rank and equal to one
/// process's.
public struct EpochStatistics: Sendable {
    public internal(set) var order: [Int] = []
    public internal(set) var counts: [Int] = []
    public internal(set) var weights: [Double]?
    public internal(set) var omega = 0.0
}

extension TrainStep {
    /// The epoch's order, global class counts, class weights (the weighting of the epoch's
    /// phase) and Omega (collective).
    public func beginEpoch(_ epoch: Int, labels: [Int32], classes: Int) throws {
        let order = sampler.permutation(epoch: epoch)
        let owned = sampler.ownedLabelCounts(epoch: epoch, order: order, labels: labels, classes: classes)
        var counts = owned.map { Int64($0) }
        try comm.allReduceSum(&counts)
        let global = counts.map { Int($0) }
        let classification = loss.classification, name = config.loss.rawValue
        try comm.agree {
            if let problem = classification.problem(counts: global) { throw CollectiveFailure(rank: 0,
                message: "--loss \(name): \(problem)") }
        }
        let weighting = phases.phase(at: epoch).weighting
        let beta = config.cbBeta
        let weights = try comm.agree { try ClassWeights.compute(weighting, counts: global, beta: beta) }
        statistics = EpochStatistics(order: order, counts: global, weights: weighting == .none ? nil : weights,
                                     omega: ClassWeights.omega(counts: global))
    }
}
