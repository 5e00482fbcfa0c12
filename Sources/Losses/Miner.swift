import Settings

/// `--miner`: which triplets of the global batch the triplet and contrastive losses use
/// (pytorch-metric-learning 2.9's miners, on the same L2-normalised distances as the losses).
/// With `tm = d_an - d_ap` and the loss's margin m (`--triplet-margin`; the contrastive loss
/// mines with it too):
public enum Miner: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Every triplet (no miner).
    case none
    /// `TripletMarginMiner(type_of_triplets="all")`: `tm <= m`, the triplets with a loss.
    case all
    /// `"hard"`: `tm <= 0`, the negative closer than the positive.
    case hard
    /// `"semihard"`: `0 < tm <= m`.
    case semihard
    /// `"easy"`: `tm > m` (their triplet loss is 0).
    case easy
    /// `BatchHardMiner`: each anchor's farthest positive and closest negative (first on ties).
    case batchHard = "batch-hard"

    /// Whether the triplet with margin `tm = d_an - d_ap` is mined (not for batch-hard).
    @inline(__always)
    func keeps(_ tm: Double, margin: Double) -> Bool {
        switch self {
        case .none, .batchHard: true
        case .all: tm <= margin
        case .hard: tm <= margin && tm <= 0
        case .semihard: tm <= margin && tm > 0
        case .easy: tm > margin
        }
    }
}

extension Options {
    public var miner: Option<Miner> { Option("miner", Miner.none,
                                             "Triplets the triplet and contrastive losses use, mined over the global " +
                                             "batch (pytorch-metric-learning's TripletMarginMiner types and " +
                                             "BatchHardMiner; margin: --triplet-margin).") }
}

extension Miner {
    /// Calls `body(a, p, q)` for every triplet (anchor, positive, negative) this miner keeps, on
    /// the distances `dist` (N, N) of `labels`; returns how many it kept.
    func forEachTriplet(distances dist: UnsafePointer<Double>, labels y: UnsafePointer<Int32>, count n: Int,
                        margin: Double,
                        _ body: (Int, Int, Int) -> Void) -> Int {
        var kept = 0
        if self == .batchHard {
            for a in 0..<n {
                var p = -1, q = -1
                for j in 0..<n where j != a {
                    if y[j] == y[a] {
                        if p < 0 || dist[a * n + j] > dist[a * n + p] { p = j }
                    } else if q < 0 || dist[a * n + j] < dist[a * n + q] {
                        q = j
                    }
                }
                guard p >= 0, q >= 0 else { continue }
                kept += 1
                body(a, p, q)
            }
            return kept
        }
        for a in 0..<n {
            for p in 0..<n where p != a && y[p] == y[a] {
                for q in 0..<n where y[q] != y[a] && keeps(dist[a * n + q] - dist[a * n + p], margin: margin) {
                    kept += 1
                    body(a, p, q)
                }
            }
        }
        return kept
    }
}

extension EmbeddingLossKind {
    /// Options given that the embedding loss does not read (`--miner` without a loss that mines).
    public static func problems(_ settings: Settings) -> [String] {
        guard settings.miner != .none else { return [] }
        let reads = settings.embeddingLoss.spec?.options().contains { $0.name == Options().miner.name } ?? false
        return reads ? [] : ["--miner \(settings.miner.rawValue) applies to --metric-loss triplet or contrastive, " +
                             "got --metric-loss \(settings.embeddingLoss.rawValue)"]
    }
}
