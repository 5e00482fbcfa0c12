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
        guard case .perClass(let n) = validation else {
            let (targets, kept) = try select(original: original, ratio: ratio, profile: profile, seed: seed)
            return try split(validation, of: (targets, kept), seed: seed, subset: nil)
        }
        // N of each class first; the long tail is drawn from the rest.
        var val = original.map { [Bool](repeating: false, count: $0) }
        var rest: [[Int]] = []
        for c in original.indices {
            guard n < original[c] else { throw leaves(c, validation!) }
            for p in shuffled(Array(0..<original[c]), c, seed).prefix(n) { val[c][p] = true }
            rest.append((0..<original[c]).filter { !val[c][$0] })
        }
        let (targets, keptRest) = try select(original: rest.map(\.count), ratio: ratio, profile: profile, seed: seed)
        var kept = original.map { [Bool](repeating: false, count: $0) }
        for c in original.indices { for (j, p) in rest[c].enumerated() where keptRest[c][j] { kept[c][p] = true } }
        return (targets, kept, val)
    }

    /// A validation split out of a given training selection (`--subset`, or the own selection for a
    /// share): a share F of each class's kept samples, or N samples of each class from those the
    /// subset leaves out (so the subset is trained on as given). Drawn from `seed` alone.
    public static func split(_ validation: ValidationSplit?, of selection: (targets: [Int], kept: [[Bool]]),
                             seed: UInt64, subset: TrainingSubset?) throws -> (targets: [Int], kept: [[Bool]],
                                                                             val: [[Bool]]?) {
        guard let validation else { return (selection.targets, selection.kept, nil) }
        var (targets, kept) = selection
        var val = kept.map { [Bool](repeating: false, count: $0.count) }
        for c in kept.indices {
            switch validation {
            case .perClass(let n):
                let outside = kept[c].indices.filter { !kept[c][$0] }
                guard n <= outside.count else {
                    throw DataError.mismatch("--val-split \(n) takes \(n) samples of each class from outside " +
                                             "--subset \(subset?.text ?? ""), which leaves \(outside.count) of " +
                                             "class \(c); use a share of the subset instead (--val-split 0.1)")
                }
                for p in shuffled(outside, c, seed).prefix(n) { val[c][p] = true }
            case .share(let f):
                let mine = kept[c].indices.filter { kept[c][$0] }
                let v = max(1, Int((f * Double(mine.count)).rounded()))
                guard v < mine.count else { throw leaves(c, validation) }
                for p in shuffled(mine, c, seed).prefix(v) {
                    val[c][p] = true
                    kept[c][p] = false
                }
                targets[c] -= v
            }
        }
        return (targets, kept, val)
    }

    private static func shuffled(_ positions: [Int], _ c: Int, _ seed: UInt64) -> [Int] {
        var order = positions
        var rng = RandomSource(seed: seed, stream: [0x5641, UInt64(c)])
        rng.shuffle(&order)
        return order
    }

    private static func leaves(_ c: Int, _ validation: ValidationSplit) -> DataError {
        DataError.emptyClass(classIndex: c, reason: "--val-split \(validation.text) leaves it no training sample")
    }
}
