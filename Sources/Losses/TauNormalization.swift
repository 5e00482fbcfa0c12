import Foundation
import Settings

/// Tau-normalisation (Kang et al. 2020, "Decoupling representation and classifier"): a linear
/// classifier's rows rescaled to `w_k / ||w_k||^tau`, the bias dropped, so that the head classes'
/// larger weights no longer decide; predictions are `argmax_k h . w_k / ||w_k||^tau`. Post hoc:
/// training is unchanged. tau 0 keeps the weights (the bias still dropped), 1 normalises them.
public enum TauNormalization {
    /// The rescaled rows of `weights` (`classes` x `width`, row-major); a zero row stays zero.
    public static func weights(_ weights: [Float], classes: Int, tau: Double) -> [Float] {
        let width = weights.count / max(classes, 1)
        var out = weights
        for k in 0..<classes {
            var squares = 0.0
            for j in 0..<width { squares += Double(weights[k * width + j]) * Double(weights[k * width + j]) }
            let norm = squares.squareRoot()
            guard norm > 0 else { continue }
            let scale = Float(1 / pow(norm, tau))
            for j in 0..<width { out[k * width + j] = weights[k * width + j] * scale }
        }
        return out
    }
}

/// `--tau-norm`: off, a value of tau, or a search on the validation split.
public enum TauNormSetting: OptionValue, Hashable {
    case value(Double)
    /// tau in 0, 0.1, ..., 2 chosen on the validation split, each evaluation.
    case search

    /// The values `search` tries.
    public static let searched = (0...20).map { Double($0) / 10 }

    public static func parse(_ values: [String]) -> TauNormSetting? {
        guard values.count == 1 else { return nil }
        if values[0] == "search" { return .search }
        return Double(values[0]).map(TauNormSetting.value)
    }

    public static var expected: String { "a number (tau) or search" }

    public var text: String {
        switch self {
        case .value(let t): String(format: "%g", t)
        case .search: "search"
        }
    }

    /// The value of tau when given as one.
    public var tau: Double? { if case .value(let t) = self { t } else { nil } }

    /// Why the setting cannot be used, or nil.
    public var problem: String? {
        switch self {
        case .value(let t): t >= 0 && t <= 10 ? nil : "must be in 0...10, got \(text)"
        case .search: nil
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let t = try? c.decode(Double.self) {
            self = .value(t)
            return
        }
        guard try c.decode(String.self) == "search" else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected \(Self.expected)")
        }
        self = .search
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .value(let t): try c.encode(t)
        case .search: try c.encode("search")
        }
    }
}

extension Options {
    public var tauNorm: Option<TauNormSetting?> {
        Option("tau-norm", nil,
               "Tau-normalisation at evaluation (Kang et al. 2020): also predict with the classifier's rows " +
               "w_k / ||w_k||^tau, bias dropped, and record those figures beside the raw ones (*_taunorm); " +
               "search: tau in 0, 0.1, ..., 2 by the validation split's balanced accuracy (needs --val-split).",
               defaultText: "off", check: OptionCheck { $0.problem }.whenSet)
    }
}
