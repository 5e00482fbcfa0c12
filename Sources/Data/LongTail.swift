import Settings
import Foundation
import Tensor

/// Long-tailed sub-sampling profiles (Cao et al. 2019, LDAM-DRW; Cui et al. 2019).
public enum ImbalanceProfile: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// `n_k = int(n_max * (1/R)^(k/(K-1)))`
    case exp
    /// `n_max` for the first half of the classes (k < K/2), `int(n_max / R)` for the rest.
    case step
}

public enum LongTail {
    /// Class sizes after sub-sampling a training set whose largest class has `nMax` samples.
    public static func counts(nMax: Int, classes: Int, ratio: Double, profile: ImbalanceProfile) -> [Int] {
        precondition(classes > 0 && ratio >= 1, "LongTail.counts(classes: \(classes), ratio: \(ratio))")
        switch profile {
        case .exp:
            if classes == 1 { return [nMax] }
            return (0..<classes).map { k in
                Int(Double(nMax) * pow(1 / ratio, Double(k) / Double(classes - 1)))
            }
        case .step:
            return (0..<classes).map { k in k < classes / 2 ? nMax : Int(Double(nMax) / ratio) }
        }
    }
}




import Foundation


extension LongTail {
    /// Target class sizes for `original` counts and, per class, which of its samples (by
    /// position among that class's samples in data order) are kept: a seeded shuffle within
    /// each class picks them, so the choice depends on the seed only, not on the ranks.
    /// A class left empty is an error naming it.
    public static func select(original: [Int], ratio: Double, profile: ImbalanceProfile, seed: UInt64) throws -> ([Int],
        [[Bool]]) {
        let k = original.count
        for (c, n) in original.enumerated() where n == 0 {
            throw DataError.emptyClass(classIndex: c, reason: "the training set holds no sample of it")
        }
        let nMax = original.max() ?? 0
        let wanted = ratio == 1 ? original : counts(nMax: nMax, classes: k, ratio: ratio, profile: profile)
        var targets: [Int] = []
        var kept: [[Bool]] = []
        for c in 0..<k {
            let n = min(wanted[c], original[c])
            if n == 0 {
                throw DataError.emptyClass(classIndex: c,
                                           reason: "--imbalance-ratio \(ratio) (\(profile.rawValue)) leaves it 0 of " +
                                                   "\(original[c]) samples; use a smaller ratio")
            }
            targets.append(n)
            var order = Array(0..<original[c])
            var rng = RandomSource(seed: seed, stream: [0x4C54, UInt64(c)])
            rng.shuffle(&order)
            var keep = [Bool](repeating: false, count: original[c])
            for i in order.prefix(n) { keep[i] = true }
            kept.append(keep)
        }
        return (targets, kept)
    }
}
