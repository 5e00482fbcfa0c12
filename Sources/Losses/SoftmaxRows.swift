import Tensor

/// The softmax of a batch's logits, kept between steps (no allocation once sized): each row's
/// probabilities in double precision, its log-sum-exp, and the probabilities as floats (CRL's
/// scores, gathered for global mining). The softmax-family losses share it.
public final class SoftmaxRows {
    /// Probabilities (B, K), double.
    public private(set) var p = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    /// Log-sum-exp of each row (B): cross-entropy is `lse[i] - z[i, y]`.
    public private(set) var lse = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    /// Probabilities (B, K), float.
    public let probabilities = Tensor(shape: [1, 1])
    private var capacity = 1, rowCapacity = 1

    public init() {}

    deinit {
        p.deallocate()
        lse.deallocate()
    }

    /// The softmax of `logits` (B, K).
    public func compute(_ logits: Tensor, classes k: Int) {
        let b = logits.shape[0]
        precondition(logits.count == b * k, "logits \(logits.shape) for \(k) classes")
        if b * k > capacity {
            p.deallocate()
            p = .allocate(capacity: b * k)
            capacity = b * k
        }
        if b > rowCapacity {
            lse.deallocate()
            lse = .allocate(capacity: b)
            rowCapacity = b
        }
        probabilities.ensureShape(b, k)
        Softmax.rows(logits.data, rows: b, columns: k, into: p, logSumExp: lse)
        for j in 0..<(b * k) { probabilities.data[j] = Float(p[j]) }
    }

    /// Sample `i`'s cross-entropy `w (lse - z_y)` for target `y` and weight `w`.
    @inline(__always)
    public func crossEntropy(_ i: Int, logits: Tensor, target y: Int, weight w: Double, classes k: Int) -> Double {
        w * (lse[i] - Double(logits.data[i * k + y]))
    }

    /// `dz[i, j] += Float(factor * (p_ij - [j = y]))`: a multiple of cross-entropy's gradient.
    @inline(__always)
    public func addCrossEntropyGradient(_ i: Int, target y: Int, factor: Double, into dz: UnsafeMutablePointer<Float>,
                                        classes k: Int) {
        let pi = p + i * k, row = dz + i * k
        for j in 0..<k { row[j] += Float(factor * (pi[j] - (j == y ? 1 : 0))) }
    }
}
