import Foundation

/// How per-class loss weights are derived from class counts.
public enum ClassWeighting: String, Codable, CaseIterable, Sendable {
    /// All ones.
    case none
    /// Inverse frequency, normalised to sum K: the IB paper's lambda_k.
    case ib
    /// Class-balanced by the effective number of samples (Cui et al. 2019), normalised to sum K.
    case cb
}

/// A problem with class counts.
public struct ClassCountError: Error, CustomStringConvertible {
    public var classIndex: Int
    public var reason: String
    public var description: String { "class \(classIndex): \(reason)" }
}

/// Class weights and CRL's imbalance measure from global class counts.
public enum ClassWeights {
    /// Weights for `counts` (K entries, the global counts).
    ///
    /// - ib: `w_k = (1 / n_k) / sum_j (1 / n_j) * K`
    /// - cb: `w_k = (1 - beta) / (1 - beta^n_k)`, normalised so that `sum_k w_k = K`
    /// - none: ones
    /// Throws for a class with no samples (ib, cb).
    public static func compute(_ weighting: ClassWeighting, counts: [Int], beta: Double = 0.9999) throws -> [Double] {
        let k = Double(counts.count)
        switch weighting {
        case .none:
            return Array(repeating: 1, count: counts.count)
        case .ib, .cb:
            if let empty = counts.firstIndex(where: { $0 <= 0 }) {
                throw ClassCountError(classIndex: empty,
                                      reason: "no training samples, so \(weighting.rawValue) class weights are " +
                                              "undefined (\(counts[empty]) samples); use a smaller --imbalance-ratio " +
                                              "or --class-weights none")
            }
            let raw: [Double] = weighting == .ib
                ? counts.map { 1 / Double($0) }
                : counts.map { (1 - beta) / (1 - Foundation.pow(beta, Double($0))) }
            let sum = raw.reduce(0, +)
            return raw.map { $0 / sum * k }
        }
    }

    /// CRL's `Omega = (max_k n_k - min_k n_k) / max_k n_k`.
    public static func omega(counts: [Int]) -> Double {
        guard let hi = counts.max(), let lo = counts.min(), hi > 0 else { return 0 }
        return Double(hi - lo) / Double(hi)
    }

    /// `log(prior_c)`, `prior_c = n_c / sum n` over the global counts; a class without samples
    /// counts as one (its log prior stays finite). The long-tail losses and post-hoc adjustment
    /// take their offsets from it.
    public static func logPriors(counts: [Int]) -> [Double] {
        let total = Double(counts.reduce(0) { $0 + max($1, 1) })
        return counts.map { Foundation.log(Double(max($0, 1)) / total) }
    }
}
