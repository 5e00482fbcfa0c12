/// Vectorised sums. Float addition is not associative, so the compiler keeps
/// a plain loop scalar; these keep several SIMD accumulators instead.
extension Kernels {
    @inlinable @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// `sum_i x[i]`.
    @inlinable
    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += load8(x + i)
            a1 += load8(x + i + 8)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// `(sum_i (x[i] - shift), sum_i (x[i] - shift)^2)`.
    @inlinable
    public static func shiftedMoments(_ x: UnsafePointer<Float>, count n: Int, shift: Float) -> (Float, Float) {
        let sh = SIMD8<Float>(repeating: shift)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), q0 = SIMD8<Float>(), q1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let d0 = load8(x + i) - sh, d1 = load8(x + i + 8) - sh
            s0 += d0; s1 += d1
            q0 += d0 * d0; q1 += d1 * d1
            i += 16
        }
        var s = (s0 + s1).sum(), q = (q0 + q1).sum()
        while i < n {
            let d = x[i] - shift
            s += d; q += d * d
            i += 1
        }
        return (s, q)
    }

    /// `(sum_i dy[i], sum_i dy[i] * (x[i] - mean) * invStd)`, the batch-norm backward sums.
    @inlinable
    public static func normalizedDot(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int,
                                     mean: Float, invStd: Float) -> (Float, Float) {
        let m = SIMD8<Float>(repeating: mean)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), p0 = SIMD8<Float>(), p1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let g0 = load8(dy + i), g1 = load8(dy + i + 8)
            s0 += g0; s1 += g1
            p0 += g0 * (load8(x + i) - m)
            p1 += g1 * (load8(x + i + 8) - m)
            i += 16
        }
        var s = (s0 + s1).sum(), p = (p0 + p1).sum()
        while i < n {
            s += dy[i]
            p += dy[i] * (x[i] - mean)
            i += 1
        }
        return (s, p * invStd)
    }
}
