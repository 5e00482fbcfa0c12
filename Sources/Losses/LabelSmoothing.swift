import Settings

extension Options {
    public var labelSmoothing: Option<Double> {
        Option("label-smoothing", 0.0,
               "Label smoothing of the cross-entropy losses (ce and the long-tail family), as PyTorch's " +
               "F.cross_entropy(label_smoothing=E): the target is 1 - E on the true class plus E / K on every class.",
               check: OptionCheck { $0 >= 0 && $0 < 1 ? nil : "must be in [0, 1), got \($0)" })
    }
}

/// Label smoothing as PyTorch's `F.cross_entropy(weight=w, label_smoothing=e)` computes it: per
/// sample `(1 - e) w_y CE_i + (e / K) sum_j w_j (-log p_j)`, both parts over the mean's denominator
/// (`sum_i w_y_i`, or the batch size without weights). Its gradient in the logits is
/// `(1 - e) w_y (p_j - [j = y]) + (e / K) (p_j sum_k w_k - w_j)`.
public struct LabelSmoothing: Sendable {
    public let epsilon: Double

    public init(_ epsilon: Double) { self.epsilon = epsilon }

    /// `settings`' smoothing, nil for none.
    public static func of(_ settings: Settings) -> LabelSmoothing? {
        settings.labelSmoothing > 0 ? LabelSmoothing(settings.labelSmoothing) : nil
    }

    /// The golden files' `label_smoothing` parameter.
    public static let golden = GoldenParameter("label_smoothing") { $0.labelSmoothing = $1 }

    /// The losses that take it: cross-entropy of the logits, plain or adjusted.
    public static let losses: [LossKind] = [.ce, .ldam, .balancedSoftmax, .logitAdjusted, .vs]

    /// Why `settings` cannot smooth labels, or nil.
    public static func problem(_ settings: Settings) -> String? {
        guard settings.labelSmoothing > 0, !losses.contains(settings.loss) else { return nil }
        return "--label-smoothing applies to the cross-entropy losses " +
               "(\(losses.map(\.rawValue).joined(separator: ", "))), " +
               "got --loss \(settings.loss.rawValue)"
    }

    /// Sample `i`'s smoothed cross-entropy (before the mean's denominator); adds `inv` times its
    /// gradient, times `scale(j)` (the chain through an adjustment), into `dz` (K).
    /// - logit: the (adjusted) logits; p: their softmax (K); lse: their log-sum-exp
    @inline(__always)
    func accumulate(logit: (Int) -> Double, p: UnsafePointer<Double>, lse: Double, target y: Int, weights: [Double]?,
                    classes k: Int, inv: Double, scale: (Int) -> Double,
                        into dz: UnsafeMutablePointer<Float>) -> Double {
        let e = epsilon, share = e / Double(k)
        let wy = weights?[y] ?? 1
        var smooth = 0.0, total = 0.0
        for j in 0..<k {
            let w = weights?[j] ?? 1
            smooth += w * (lse - logit(j))
            total += w
        }
        for j in 0..<k {
            let w = weights?[j] ?? 1
            let g = (1 - e) * wy * (p[j] - (j == y ? 1 : 0)) + share * (p[j] * total - w)
            dz[j] += Float(inv * g * scale(j))
        }
        return (1 - e) * wy * (lse - logit(y)) + share * smooth
    }
}
