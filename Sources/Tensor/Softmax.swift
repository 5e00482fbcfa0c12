import Foundation

/// Softmax, log-sum-exp and argmax: the one definition that losses, evaluation and
/// explanations use. Arithmetic in double precision, the maximum subtracted first, so huge
/// logits stay finite.
public enum Softmax {
    /// `log sum_j exp(x[j])` of `count` values.
    @inlinable
    public static func logSumExp(_ x: UnsafePointer<Double>, count n: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<n { m = max(m, x[j]) }
        var sum = 0.0
        for j in 0..<n { sum += Foundation.exp(x[j] - m) }
        return m + Foundation.log(sum)
    }

    /// Replaces `x` (`count` values) by its softmax and returns its log-sum-exp.
    @inlinable
    @discardableResult
    public static func normalize(_ x: UnsafeMutablePointer<Double>, count n: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<n { m = max(m, x[j]) }
        var sum = 0.0
        for j in 0..<n {
            x[j] = Foundation.exp(x[j] - m)
            sum += x[j]
        }
        let inv = 1 / sum
        for j in 0..<n { x[j] *= inv }
        return m + Foundation.log(sum)
    }

    /// The softmax of each row of `logits` (rows x columns, float) into `probabilities` (double,
    /// the same shape); each row's log-sum-exp into `logSumExp` (rows) when given.
    @inlinable
    public static func rows(_ logits: UnsafePointer<Float>, rows: Int, columns k: Int,
                            into probabilities: UnsafeMutablePointer<Double>,
                            logSumExp: UnsafeMutablePointer<Double>? = nil) {
        for i in 0..<rows {
            let z = logits + i * k, p = probabilities + i * k
            for j in 0..<k { p[j] = Double(z[j]) }
            let lse = normalize(p, count: k)
            logSumExp?[i] = lse
        }
    }

    /// The softmax of one row of float logits.
    public static func probabilities(_ logits: [Float]) -> [Double] {
        var p = logits.map(Double.init)
        p.withUnsafeMutableBufferPointer { _ = normalize($0.baseAddress!, count: $0.count) }
        return p
    }

    /// The index of the largest of `count` values (`+ offsets[j]` when given); the first on ties,
    /// as PyTorch's argmax. 0 for no values.
    @inlinable
    public static func argmax(_ x: UnsafePointer<Float>, count n: Int, offsets: UnsafePointer<Float>? = nil) -> Int {
        guard n > 0 else { return 0 }
        var best = 0
        if let offsets {
            var top = x[0] + offsets[0]
            for j in 1..<n where x[j] + offsets[j] > top {
                best = j
                top = x[j] + offsets[j]
            }
        } else {
            for j in 1..<n where x[j] > x[best] { best = j }
        }
        return best
    }

    /// `argmax` of an array.
    public static func argmax(_ x: [Float]) -> Int {
        x.withUnsafeBufferPointer { argmax($0.baseAddress!, count: $0.count) }
    }
}
