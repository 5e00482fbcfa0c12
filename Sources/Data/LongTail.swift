/// Long-tailed sub-sampling profiles (Cao et al. 2019, LDAM-DRW; Cui et al. 2019).
public enum ImbalanceProfile: String, Codable, CaseIterable, Sendable {
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

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
