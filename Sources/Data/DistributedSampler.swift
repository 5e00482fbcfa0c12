import Tensor

/// Global batches split over ranks.
///
/// Each epoch has one permutation of the training set from (seed, epoch), the
/// same on every rank, taken whole (`EpochEnd.whole`: the last global batch is
/// smaller, and a rank may have no sample of it), cut to whole global batches
/// (`dropLast`), or padded by wrapping to a multiple of the world size as
/// PyTorch's DistributedSampler does (`padToWorldSize`: a few samples are seen
/// twice per epoch, how many depends on W). Global batch s is positions
/// `[s B, (s + 1) B)` of it, and rank r takes the positions p with
/// `p mod W = r`: the union of the ranks' batches is exactly the batch one
/// process would take, so N ranks train like one, over whole epochs too
/// (unless padded). Local batches differ by at most one sample.
///
/// With sharded data each rank owns its samples: it walks its own permutation
/// from (seed, epoch, rank), taking its share of every global batch.
public struct DistributedSampler: Sendable {
    public let count: Int
    public let globalCount: Int
    public let batchSize: Int
    public let rank: Int
    public let worldSize: Int
    public let seed: UInt64
    public let sharded: Bool
    public let end: EpochEnd

    /// How an epoch ends when the batch size does not divide the training set.
    public enum EpochEnd: Sendable, Equatable {
        /// Every sample once; the last global batch is smaller.
        case whole
        /// The last incomplete global batch is dropped.
        case dropLast
        /// Padded by wrapping to a multiple of the world size (PyTorch's DistributedSampler).
        case padToWorldSize
    }

    /// - count: samples this rank can index (all of them when not sharded)
    /// - globalCount: samples over all ranks
    public init(count: Int, globalCount: Int, batchSize: Int, rank: Int, worldSize: Int, seed: UInt64, sharded: Bool,
                end: EpochEnd) {
        precondition(batchSize >= worldSize, "global batch \(batchSize) smaller than the world size \(worldSize)")
        self.count = count
        self.globalCount = globalCount
        self.batchSize = batchSize
        self.rank = rank
        self.worldSize = worldSize
        self.seed = seed
        self.sharded = sharded
        self.end = end
    }

    /// Positions in the epoch's order (padded or cut).
    public var paddedCount: Int {
        switch end {
        case .whole: return globalCount
        case .dropLast: return globalCount / batchSize * batchSize
        case .padToWorldSize: return (globalCount + worldSize - 1) / worldSize * worldSize
        }
    }

    /// Optimiser steps per epoch.
    public var stepsPerEpoch: Int { (paddedCount + batchSize - 1) / batchSize }

    /// The epoch's order of sample indices (local indices when sharded).
    public func permutation(epoch: Int) -> [Int] {
        var order = Array(0..<count)
        var rng = RandomSource(seed: seed,
                               stream: sharded ? [0x5A4D, UInt64(epoch), UInt64(rank)] : [0x5A4D, UInt64(epoch)])
        rng.shuffle(&order)
        return order
    }

    /// Global positions of step `step`: `[start, end)`.
    public func globalRange(step: Int) -> Range<Int> {
        let start = step * batchSize
        return start..<min(start + batchSize, paddedCount)
    }

    /// Samples rank `rank` (this one by default) takes in step `step`.
    public func localBatchSize(step: Int, rank: Int? = nil) -> Int {
        let r = rank ?? self.rank
        let range = globalRange(step: step)
        if sharded { return share(of: range.count, rank: r) }
        let first = firstOffset(of: r, batchStart: range.lowerBound)
        return first >= range.count ? 0 : (range.count - 1 - first) / worldSize + 1
    }

    /// Row in the global batch of step `step` of rank `rank`'s `local`-th sample: the global
    /// batch's own order without sharding (rank r takes positions congruent to r modulo W),
    /// rank-major with it.
    public func globalRow(step: Int, rank: Int, local: Int) -> Int {
        if sharded { return (0..<rank).reduce(0) { $0 + localBatchSize(step: step, rank: $1) } + local }
        return firstOffset(of: rank, batchStart: globalRange(step: step).lowerBound) + local * worldSize
    }

    /// Offset in a global batch starting at `batchStart` of the first position rank `r` takes.
    func firstOffset(of r: Int, batchStart: Int) -> Int {
        (r - batchStart % worldSize + worldSize) % worldSize
    }

    /// Rank r's part of a global batch of `n` when sharded: n / W, one more for the first n mod W ranks.
    func share(of n: Int, rank r: Int? = nil) -> Int { n / worldSize + ((r ?? rank) < n % worldSize ? 1 : 0) }

    /// Writes this rank's sample indices of step `step` into `out` (capacity >= local batch size)
    /// and their global positions into `positions` (for augmentation streams); returns the count.
    public func indices(step: Int, order: [Int], into out: UnsafeMutablePointer<Int>,
                        positions: UnsafeMutablePointer<Int>) -> Int {
        let range = globalRange(step: step)
        var n = 0
        if sharded {
            let before = step * share(of: batchSize)
            for j in 0..<share(of: range.count) {
                let p = before + j
                out[n] = order[p % max(count, 1)]
                positions[n] = p
                n += 1
            }
            return n
        }
        var p = range.lowerBound + firstOffset(of: rank, batchStart: range.lowerBound)
        while p < range.upperBound {
            out[n] = order[p % count]
            positions[n] = p
            n += 1
            p += worldSize
        }
        return n
    }

    /// The partners of this rank's `n` samples of step `step` (`BatchMix`): the samples at the
    /// mirrored positions of the global batch (of this rank's share when sharded), their indices
    /// into `out` and positions into `positions`.
    public func partners(step: Int, order: [Int], count n: Int, into out: UnsafeMutablePointer<Int>,
                         positions: UnsafeMutablePointer<Int>, of own: UnsafePointer<Int>) {
        let range = globalRange(step: step)
        let before = step * share(of: batchSize), mine = share(of: range.count)
        for b in 0..<n {
            let p = own[b]
            let q = sharded ? before + (before + mine - 1 - p) : range.lowerBound + (range.upperBound - 1 - p)
            out[b] = order[q % max(count, 1)]
            positions[b] = q
        }
    }

    /// Label counts of the samples this rank owns this epoch (padding duplicates excluded);
    /// summed over ranks they are the training set's class counts.
    public func ownedLabelCounts(epoch: Int, order: [Int], labels: [Int32], classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        if sharded {
            for y in labels { counts[Int(y)] += 1 }
            return counts
        }
        var p = rank
        let limit = end == .dropLast ? min(count, paddedCount) : count
        while p < limit {
            counts[Int(labels[order[p]])] += 1
            p += worldSize
        }
        return counts
    }
}
