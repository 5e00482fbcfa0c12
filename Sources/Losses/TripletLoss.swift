import Settings

extension Options {
    public var tripletMargin: Option<Double> { Option("triplet-margin", 0.05, "Triplet margin.", check: .marginLike) }
}

/// PML's TripletMarginLoss: `relu(d_ap - d_an + m)` over the triplets the miner keeps, on
/// Euclidean distances of normalised rows, averaged over the non-zero terms.
public final class TripletLoss: EmbeddingObjective {
    public let margin: Double
    public let miner: Miner
    public private(set) var minedTriplets: Int? = 0

    public init(margin: Double, miner: Miner = .none) {
        self.margin = margin
        self.miner = miner
    }

    /// Each active triplet adds 1 to dD[a, p] and -1 to dD[a, q]; the counts are scaled by
    /// 1 / (active triplets) at the end.
    public func evaluate(_ g: EmbeddingGeometry, labels y: UnsafePointer<Int32>, count n: Int,
                         dimension d: Int) -> Double {
        g.distances(rows: n, columns: d, squared: false)
        let dist = g.dist.p, dD = g.dD.p
        dD.update(repeating: 0, count: n * n)
        var total = 0.0, active = 0
        minedTriplets = miner.forEachTriplet(distances: dist, labels: y, count: n, margin: margin) { a, p, q in
            let v = dist[a * n + p] - dist[a * n + q] + margin
            if v > 0 {
                total += v
                active += 1
                dD[a * n + p] += 1
                dD[a * n + q] -= 1
            }
        }
        if active > 0 { for i in 0..<(n * n) { dD[i] /= Double(active) } }
        g.distanceBackward(rows: n, columns: d, squared: false)
        return active == 0 ? 0 : total / Double(active)
    }
}

extension EmbeddingLossSpec {
    /// `--metric-loss triplet`: every triplet of the global batch (PML's TripletMarginLoss).
    public static let triplet = EmbeddingLossSpec(options: { [Options().tripletMargin, Options().miner] },
                                                  golden: [GoldenParameter("margin") { $0.tripletMargin = $1 }]) { s, _,
                                                      d, weight in
        EmbeddingLoss(TripletLoss(margin: s.tripletMargin, miner: s.miner), dimension: d, weight: weight)
    }
}

extension OptionCheck where Value == Double {
    /// A margin of an embedding loss: a finite number in [-100, 100].
    public static var marginLike: Self {
        Self { v in v.isFinite && abs(v) <= 100 ? nil : "must be a finite number in [-100, 100], got \(v)" }
    }
}
