import Tensor
import Settings

/// `--val-split N|F`: a validation split of the training set, never trained on, for choosing
/// epochs and hyper-parameters without the test set. An integer N takes N samples of every class
/// before the long-tail sub-sampling (balanced, as ImageNet-LT's 20 per class); a fraction F
/// takes that share of each class after it (stratified, at least one per class).
public enum ValidationSplit: OptionValue, Hashable {
    case perClass(Int)
    case share(Double)

    public static func parse(_ values: [String]) -> ValidationSplit? {
        guard values.count == 1 else { return nil }
        if let n = Int(values[0]) { return .perClass(n) }
        return Double(values[0]).map(ValidationSplit.share)
    }

    public static var expected: String { "a number of samples per class (20) or a share of each class (0.1)" }

    public var text: String {
        switch self {
        case .perClass(let n): "\(n)"
        case .share(let f): "\(f)"
        }
    }

    /// Why the value cannot be used, or nil.
    public var problem: String? {
        switch self {
        case .perClass(let n): n >= 1 ? nil : "must be at least 1 sample per class, got \(n)"
        case .share(let f): f > 0 && f < 1 ? nil : "a share must be in (0, 1), got \(f)"
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { self = .perClass(n); return }
        self = .share(try c.decode(Double.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .perClass(let n): try c.encode(n)
        case .share(let f): try c.encode(f)
        }
    }
}

extension Options {
    public var valSplit: Option<ValidationSplit?> {
        Option("val-split", nil,
               "A validation split of the training set, never trained on: N samples of every class before the " +
               "long-tail sub-sampling, or a share F of each class after it; evaluated every epoch (val_*), it " +
               "chooses best.safetensors (--select-by).", defaultText: "none",
               check: OptionCheck { $0.problem }.whenSet)
    }
}

extension LongTail {
    /// The long-tail selection (`select`) with a validation split taken out of the training set:
    /// per class, the positions kept for training and those of the validation split (disjoint),
    /// and the training counts. Drawn from `seed` alone, so the same on any number of ranks.
    public static func select(original: [Int], ratio: Double, profile: ImbalanceProfile, seed: UInt64,
                              validation: ValidationSplit?) throws -> (targets: [Int], kept: [[Bool]],
                                                                       val: [[Bool]]?) {
        guard let validation else {
            let (targets, kept) = try select(original: original, ratio: ratio, profile: profile, seed: seed)
            return (targets, kept, nil)
        }
        let k = original.count
        var val = original.map { [Bool](repeating: false, count: $0) }
        func shuffled(_ positions: [Int], _ c: Int) -> [Int] {
            var order = positions
            var rng = RandomSource(seed: seed, stream: [0x5641, UInt64(c)])
            rng.shuffle(&order)
            return order
        }
        func leaves(_ c: Int) -> DataError {
            DataError.emptyClass(classIndex: c, reason: "--val-split \(validation.text) leaves it no training sample")
        }
        switch validation {
        case .perClass(let n):
            // N of each class first; the long tail is drawn from the rest.
            var rest: [[Int]] = []
            for c in 0..<k {
                guard n < original[c] else { throw leaves(c) }
                let order = shuffled(Array(0..<original[c]), c)
                for p in order.prefix(n) { val[c][p] = true }
                rest.append((0..<original[c]).filter { !val[c][$0] })
            }
            let (targets, keptRest) = try select(original: rest.map(\.count), ratio: ratio, profile: profile,
                                                 seed: seed)
            var kept = original.map { [Bool](repeating: false, count: $0) }
            for c in 0..<k { for (j, p) in rest[c].enumerated() where keptRest[c][j] { kept[c][p] = true } }
            return (targets, kept, val)
        case .share(let f):
            var (targets, kept) = try select(original: original, ratio: ratio, profile: profile, seed: seed)
            for c in 0..<k {
                let mine = (0..<original[c]).filter { kept[c][$0] }
                let v = max(1, Int((f * Double(mine.count)).rounded()))
                guard v < mine.count else { throw leaves(c) }
                for p in shuffled(mine, c).prefix(v) {
                    val[c][p] = true
                    kept[c][p] = false
                }
                targets[c] -= v
            }
            return (targets, kept, val)
        }
    }
}
