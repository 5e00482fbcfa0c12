import Foundation
import Settings

/// `--subset ldam|FILE`: which training samples a run trains on, when not ddp-train's own seeded
/// long-tail selection. `ldam` draws LDAM-DRW's `IMBALANCECIFAR10/100` subset exactly
/// (`LongTail.ldamSelect`); a file lists the samples' indices into the training set.
public enum TrainingSubset: OptionValue, Hashable {
    case ldam
    case file(String)

    public static func parse(_ values: [String]) -> TrainingSubset? {
        guard values.count == 1, !values[0].isEmpty else { return nil }
        return values[0] == "ldam" ? .ldam : .file(values[0])
    }

    public static var expected: String { "ldam, or a file of sample indices (.npy or text)" }

    public var text: String {
        switch self {
        case .ldam: "ldam"
        case .file(let path): path
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self.parse([text]) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected \(Self.expected)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

extension Options {
    public var subset: Option<TrainingSubset?> {
        Option("subset", nil,
               "The training samples: ldam (LDAM-DRW's CIFAR-LT subset for --imbalance-ratio and " +
               "--imbalance-profile, bit for bit with its NumPy shuffle; --data-seed is its rand_number, " +
               "default 0) or a file of indices into the training set (.npy, or text with one or more per " +
               "line), such as another run's subset.npy.",
               defaultText: "ddp-train's own long-tail selection, seeded by --data-seed", valueName: "ldam|file")
    }
}

extension LongTail {
    /// LDAM-DRW's `get_img_num_per_cls`: `img_max = len(train) / K`; exp keeps
    /// `int(img_max * (1/R)^(c / (K - 1)))` of class c, step `int(img_max)` for the first K/2 classes
    /// and `int(img_max * (1/R))` for the next K/2. A class with fewer samples keeps them all.
    public static func ldamCounts(original: [Int], ratio: Double, profile: ImbalanceProfile) throws -> [Int] {
        let k = original.count
        let imgMax = Double(original.reduce(0, +)) / Double(k)
        let factor = 1 / ratio
        let wanted: [Int]
        switch profile {
        case .exp:
            wanted = (0..<k).map { c in Int(imgMax * pow(factor, Double(c) / (Double(k) - 1))) }
        case .step:
            guard k % 2 == 0 else {
                throw DataError.emptyClass(classIndex: k - 1,
                                           reason: "LDAM-DRW's step profile sizes 2 x (\(k) / 2) classes and " +
                                                   "drops the last of an odd number; use --imbalance-profile exp")
            }
            wanted = (0..<k).map { c in c < k / 2 ? Int(imgMax) : Int(imgMax * factor) }
        }
        return try zip(wanted, original).enumerated().map { c, pair in
            guard pair.0 > 0, pair.1 > 0 else {
                throw DataError.emptyClass(classIndex: c,
                                           reason: pair.1 == 0 ? "the training set holds no sample of it"
                                               : "--subset ldam with --imbalance-ratio \(ratio) keeps 0 of its " +
                                                 "\(pair.1) samples; use a smaller ratio")
            }
            return min(pair.0, pair.1)
        }
    }

    /// LDAM-DRW's `gen_imbalanced_data` after `np.random.seed(seed)`: class by class in label order,
    /// the class's indices shuffled by NumPy's legacy shuffle and the first `ldamCounts` kept. The
    /// result has `select`'s form: per class, which of its samples (in data order) are kept.
    public static func ldamSelect(original: [Int], ratio: Double, profile: ImbalanceProfile,
                                  seed: UInt64) throws -> (targets: [Int], kept: [[Bool]]) {
        guard let seed32 = UInt32(exactly: seed) else {
            throw DataError.mismatch("--subset ldam: --data-seed \(seed) is beyond NumPy's seeds 0...\(UInt32.max)")
        }
        let targets = try ldamCounts(original: original, ratio: ratio, profile: profile)
        var rng = NumPyRandomState(seed: seed32)
        var kept: [[Bool]] = []
        for (c, n) in original.enumerated() {
            var order = Array(0..<n)
            rng.shuffle(&order)
            var keep = [Bool](repeating: false, count: n)
            for p in order.prefix(targets[c]) { keep[p] = true }
            kept.append(keep)
        }
        return (targets, kept)
    }
}

/// `--subset FILE`: sample indices into the training set, from a 1-D integer `.npy` or a text
/// file (integers separated by spaces, commas or lines; `#` starts a comment).
public enum SubsetFile {
    /// The indices, ascending; an index outside 0..<total or given twice is an error naming it.
    public static func read(_ path: String, total: Int) throws -> [Int] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.missing(path: path, hint: "--subset: a .npy or text file of training sample indices")
        }
        var seen = [Int](repeating: -1, count: total)
        var out: [Int] = []
        func add(_ value: Int64, _ where_: String) throws {
            guard value >= 0, value < total else {
                throw DataError.format(path: path, field: where_, expected: "a training sample index in 0..<\(total)",
                                       found: "\(value)")
            }
            let i = Int(value)
            guard seen[i] < 0 else {
                throw DataError.format(path: path, field: where_, expected: "each index once",
                                       found: "\(i) again (first as entry \(seen[i] + 1))")
            }
            seen[i] = out.count
            out.append(i)
        }
        if path.hasSuffix(".npy") {
            for (i, v) in try NPYReader.integers(path, field: "indices").enumerated() { try add(v, "entry \(i + 1)") }
        } else {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw DataError.format(path: path, field: "contents", expected: "UTF-8 text of indices",
                                       found: "unreadable bytes")
            }
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let body = line.prefix { $0 != "#" }
                for token in body.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\r" }) {
                    guard let v = Int64(token) else {
                        throw DataError.format(path: path, field: "line \(n + 1)", expected: "integer sample indices",
                                               found: "'\(token.prefix(40))'")
                    }
                    try add(v, "line \(n + 1)")
                }
            }
        }
        guard !out.isEmpty else {
            throw DataError.format(path: path, field: "indices", expected: "at least one", found: "none")
        }
        return out.sorted()
    }
}
