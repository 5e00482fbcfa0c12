import Settings
import Tensor

/// `--sampler`: how an epoch's samples are drawn. Every order is a pure function of (seed,
/// epoch) over the whole training set, drawn whole and then sliced by rank
/// (`DistributedSampler`), so N ranks draw the same global batches as one process.
public enum SamplerKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Each sample once per epoch, in a random order (instance-balanced).
    case uniform
    /// A class uniformly, then a sample of it (with replacement).
    case classBalanced = "class-balanced"
    /// A class with probability proportional to sqrt(n_c), then a sample of it.
    case squareRoot = "square-root"
    /// Kang et al. 2020's progressively-balanced sampling: class probabilities moving from
    /// instance-balanced (n_c / N) at the first epoch towards class-balanced (1 / K) at the end,
    /// `(1 - t/T) n_c / N + (t/T) / K` in epoch t of T.
    case progressive
    /// pytorch-metric-learning's MPerClassSampler: every global batch holds `--sampler-m` samples
    /// (distinct) of each of batch / M classes drawn without replacement.
    case mPerClass = "m-per-class"
}

extension Options {
    public var sampler: Option<SamplerKind> {
        Option("sampler", SamplerKind.uniform,
               "How an epoch draws its samples: uniform (each once), class-balanced, square-root, progressive " +
               "(from instance- to class-balanced over the epochs, Kang et al. 2020) or m-per-class (--sampler-m " +
               "samples of each class in a batch). An epoch has as many samples as the training set.")
    }
    public var samplerM: Option<Int> {
        Option("sampler-m", 4,
               "m-per-class: samples of each class in a global batch; the batch size must be a multiple.",
               check: .range(1, 1 << 20))
    }
    public var drsEpoch: Option<EpochPoint?> {
        Option("drs-epoch", nil,
               "Deferred re-sampling (LDAM-DRW's DRS): uniform sampling before this epoch, class-balanced from it " +
               "(a number, or a share of the epochs such as 80%).",
               defaultText: "never", check: OptionCheck { $0.problem }.whenSet)
    }
}

/// The members of each class of a training set, and the orders the samplers draw from them.
public struct ClassDraws: Sendable {
    /// Sample indices of each class, ascending.
    public let members: [[Int]]
    public var classes: Int { members.count }

    public init(labels: [Int32], classes: Int) {
        var members = [[Int]](repeating: [], count: classes)
        for (i, y) in labels.enumerated() { members[Int(y)].append(i) }
        self.members = members
    }

    /// Samples of an epoch of `count` training samples in batches of `batchSize`: `count`, but for
    /// m-per-class whole groups of `m` in the last batch.
    public static func epochLength(_ kind: SamplerKind, count: Int, batchSize: Int, m: Int) -> Int {
        guard kind == .mPerClass else { return count }
        return count / batchSize * batchSize + count % batchSize / m * m
    }

    /// The order of sample indices of epoch `epoch` (of `epochs`) for a re-sampling `kind`.
    public func order(_ kind: SamplerKind, epoch: Int, epochs: Int, length: Int, batchSize: Int, m: Int,
                      seed: UInt64) -> [Int] {
        var rng = RandomSource(seed: seed,
                               stream: [0x5341_4D50, UInt64(SamplerKind.allCases.firstIndex(of: kind) ?? 0),
                                        UInt64(epoch)])
        if kind == .mPerClass { return mPerClass(length: length, batchSize: batchSize, m: m, rng: &rng) }
        let weights = classWeights(kind, epoch: epoch, epochs: epochs)
        var cumulative = [Double](repeating: 0, count: classes)
        var total = 0.0
        for c in 0..<classes {
            total += weights[c]
            cumulative[c] = total
        }
        var order = [Int](repeating: 0, count: length)
        for i in 0..<length {
            let u = rng.nextDouble() * total
            var lo = 0, hi = classes - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            let pool = members[lo]
            order[i] = pool[rng.nextInt(below: pool.count)]
        }
        return order
    }

    /// Each class's (unnormalised) probability; zero for a class without samples.
    func classWeights(_ kind: SamplerKind, epoch: Int, epochs: Int) -> [Double] {
        let n = members.map { Double($0.count) }
        let present = Double(n.filter { $0 > 0 }.count), total = n.reduce(0, +)
        switch kind {
        case .uniform, .mPerClass, .classBalanced: return n.map { $0 > 0 ? 1 : 0 }
        case .squareRoot: return n.map { $0.squareRoot() }
        case .progressive:
            let t = Double(epoch) / Double(max(epochs, 1))
            return n.map { $0 > 0 ? (1 - t) * $0 / total + t / present : 0 }
        }
    }

    /// Global batches of batch / m classes, m distinct samples of each; the last batch of
    /// `length % batchSize / m` groups.
    func mPerClass(length: Int, batchSize: Int, m: Int, rng: inout RandomSource) -> [Int] {
        var pools = members
        var classList = Array(0..<classes).filter { members[$0].count >= m }
        var order: [Int] = []
        order.reserveCapacity(length)
        while order.count < length {
            let groups = min(batchSize, length - order.count) / m
            if groups == 0 { break }
            rng.shuffle(&classList)
            for c in classList.prefix(groups) {
                // A partial Fisher-Yates shuffle: the first m of the class's pool are a uniform draw of m.
                for j in 0..<m {
                    pools[c].swapAt(j, j + rng.nextInt(below: pools[c].count - j))
                    order.append(pools[c][j])
                }
            }
        }
        return order
    }

    /// Why `kind` cannot draw this epoch's batches, or nil.
    public func problem(_ kind: SamplerKind, batchSize: Int, m: Int) -> String? {
        guard kind == .mPerClass else { return nil }
        let smallest = members.filter { !$0.isEmpty }.map(\.count).min() ?? 0
        if m > smallest {
            return "--sampler m-per-class: --sampler-m \(m) is more than the smallest class's " +
                   "\(smallest) training samples"
        }
        let usable = members.filter { $0.count >= m }.count
        if batchSize / m > usable {
            return "--sampler m-per-class: a batch of \(batchSize) holds \(batchSize / m) classes of " +
                   "--sampler-m \(m), but the training set has \(usable)"
        }
        return nil
    }
}
