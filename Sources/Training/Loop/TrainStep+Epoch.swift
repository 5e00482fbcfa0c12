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
    /// Draws of each class this epoch, over all ranks (`sampled_per_class`).
    public internal(set) var sampled: [Int] = []
}

extension TrainStep {
    /// The epoch's order, global class counts, class weights (the weighting of the epoch's
    /// phase) and Omega (collective).
    public func beginEpoch(_ epoch: Int, labels: [Int32], classes: Int) throws {
        prefetch.drain()  // the worker reads the order this replaces
        let phase = phases.phase(at: epoch)
        let order: [Int], owned: [Int]
        if let draws, phase.sampler != .uniform {
            // Re-sampled: the class weights and Omega still come from the training set's counts.
            order = draws.order(phase.sampler, epoch: epoch, epochs: config.epochs, length: sampler.globalCount,
                                batchSize: config.batchSize, m: config.samplerM, seed: UInt64(config.seed))
            var mine = [Int](repeating: 0, count: classes)
            for i in stride(from: comm.rank, to: labels.count, by: comm.size) { mine[Int(labels[i])] += 1 }
            owned = mine
        } else {
            order = sampler.permutation(epoch: epoch)
            owned = sampler.ownedLabelCounts(epoch: epoch, order: order, labels: labels, classes: classes)
        }
        var counts = owned.map { Int64($0) }
        try comm.allReduceSum(&counts)
        let global = counts.map { Int($0) }
        let classification = loss.classification, name = config.loss.rawValue
        try comm.agree {
            if let problem = classification.problem(counts: global) { throw CollectiveFailure(rank: 0,
                message: "--loss \(name): \(problem)") }
        }
        let weighting = phase.weighting
        let beta = config.cbBeta
        let weights = try comm.agree { try ClassWeights.compute(weighting, counts: global, beta: beta) }
        let sampled = sampler.sharded ? global : Self.drawn(order, count: sampler.paddedCount, labels: labels,
                                                            classes: classes)
        statistics = EpochStatistics(order: order, counts: global, weights: weighting == .none ? nil : weights,
                                     omega: ClassWeights.omega(counts: global), sampled: sampled)
    }
}

extension TrainStep {
    /// Each class's draws in the first `count` positions of an epoch's order (the whole order
    /// on every rank: the same figure everywhere).
    static func drawn(_ order: [Int], count: Int, labels: [Int32], classes: Int) -> [Int] {
        var drawn = [Int](repeating: 0, count: classes)
        for p in 0..<count { drawn[Int(labels[order[p % max(order.count, 1)]])] += 1 }
        return drawn
    }
}
