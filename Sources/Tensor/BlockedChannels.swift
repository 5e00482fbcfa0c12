/// Per-channel kernels on activations in oneDNN's blocked layout (B, C / k, P, k), P = H * W,
/// k 8 or 16 (`ActivationLayout.blocked`): channel c is lane c % k of block c / k, so each
/// (sample, block) run of P * k floats is read with one k-wide vector per position and the
/// per-channel factors are vectors too. Parallel over the B * C / k runs.
extension Kernels {
    /// Per sample n and channel: `partials[n * 2C + c]` = sum over the plane of (x - shift[c]), and
    /// `partials[n * 2C + C + c]` = sum of its squares; each run summed in float, as the plain
    /// layout's `shiftedMoments` does, its total kept in double.
    public static func blockedMoments(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int,
                                      block k: Int, shift: UnsafePointer<Float>,
                                      partials: UnsafeMutablePointer<Double>) {
        precondition(k == 16 || k == 8, "channel blocks of \(k): only 8 and 16")
        if k == 16 {
            SIMD16<Float>.moments(x, channels: c, batch: b, plane: p, shift: shift, partials: partials)
        } else {
            SIMD8<Float>.moments(x, channels: c, batch: b, plane: p, shift: shift, partials: partials)
        }
    }

    /// Per sample n and channel: `partials[n * 2C + c]` = sum over the plane of dy, and
    /// `partials[n * 2C + C + c]` = sum of dy * (x - mean[c]) (batch norm's backward sums).
    public static func blockedNormalizedDot(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, channels c: Int,
                                            batch b: Int, plane p: Int, block k: Int, mean: UnsafePointer<Float>,
                                            partials: UnsafeMutablePointer<Double>) {
        precondition(k == 16 || k == 8, "channel blocks of \(k): only 8 and 16")
        if k == 16 {
            SIMD16<Float>.normalizedDot(dy, x, channels: c, batch: b, plane: p, mean: mean, partials: partials)
        } else {
            SIMD8<Float>.normalizedDot(dy, x, channels: c, batch: b, plane: p, mean: mean, partials: partials)
        }
    }

    /// `y = x * scale[c] + shift[c]` (y may be x).
    public static func blockedAffine(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int,
                                     block k: Int, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                     into y: UnsafeMutablePointer<Float>) {
        precondition(k == 16 || k == 8, "channel blocks of \(k): only 8 and 16")
        if k == 16 {
            SIMD16<Float>.affine(x, channels: c, batch: b, plane: p, scale: scale, shift: shift, into: y)
        } else {
            SIMD8<Float>.affine(x, channels: c, batch: b, plane: p, scale: scale, shift: shift, into: y)
        }
    }

    /// Batch norm's input gradient, `dx = g[c] * (dy - meanDy[c] - (x - mean[c]) * invStd[c] * meanDyx[c])`
    /// in training, `dx = g[c] * dy` in evaluation, with `factors` = (mean, invStd, g, meanDy, meanDyx),
    /// C floats each. `dx` may be `dy`.
    public static func blockedNormBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, channels c: Int,
                                           batch b: Int, plane p: Int, block k: Int, factors: UnsafePointer<Float>,
                                           training: Bool, into dx: UnsafeMutablePointer<Float>) {
        precondition(k == 16 || k == 8, "channel blocks of \(k): only 8 and 16")
        if k == 16 {
            SIMD16<Float>.normBackward(dy, x, channels: c, batch: b, plane: p, factors: factors, training: training,
                                       into: dx)
        } else {
            SIMD8<Float>.normBackward(dy, x, channels: c, batch: b, plane: p, factors: factors, training: training,
                                      into: dx)
        }
    }
}

/// A vector of one channel block's lanes (SIMD16 or SIMD8 of Float), with the kernels above.
public protocol SIMDLanes: SIMD where Scalar == Float {}
extension SIMD16: SIMDLanes where Scalar == Float {}
extension SIMD8: SIMDLanes where Scalar == Float {}

extension SIMDLanes {
    @inlinable @inline(__always)
    static func at(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }

    @inlinable @inline(__always)
    static func put(_ v: Self, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Self.self)
    }

    /// The (sample, block) runs of a batch: body(run, sample, block's first channel).
    @inlinable
    static func eachRun(channels c: Int, batch b: Int, _ body: (Int, Int, Int) -> Void) {
        let blocks = c / scalarCount
        Parallel.forEach(b * blocks) { runs in
            for run in runs {
                let (n, block) = run.quotientAndRemainder(dividingBy: blocks)
                body(run, n, block * scalarCount)
            }
        }
    }

    @inlinable
    static func moments(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int,
                        shift: UnsafePointer<Float>, partials: UnsafeMutablePointer<Double>) {
        let k = scalarCount
        eachRun(channels: c, batch: b) { run, n, c0 in
            let sh = at(shift + c0), source = x + run * p * k
            var s = Self(), q = Self()
            for i in 0..<p {
                let d = at(source + i * k) - sh
                s += d
                q += d * d
            }
            let out = partials + n * 2 * c + c0
            for l in 0..<k {
                out[l] = Double(s[l])
                out[c + l] = Double(q[l])
            }
        }
    }

    @inlinable
    static func normalizedDot(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, channels c: Int, batch b: Int,
                              plane p: Int, mean: UnsafePointer<Float>, partials: UnsafeMutablePointer<Double>) {
        let k = scalarCount
        eachRun(channels: c, batch: b) { run, n, c0 in
            let m = at(mean + c0), g = dy + run * p * k, source = x + run * p * k
            var s = Self(), q = Self()
            for i in 0..<p {
                let d = at(g + i * k)
                s += d
                q += d * (at(source + i * k) - m)
            }
            let out = partials + n * 2 * c + c0
            for l in 0..<k {
                out[l] = Double(s[l])
                out[c + l] = Double(q[l])
            }
        }
    }

    @inlinable
    static func affine(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int,
                       scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let k = scalarCount
        eachRun(channels: c, batch: b) { run, _, c0 in
            let a = at(scale + c0), t = at(shift + c0)
            let source = x + run * p * k, out = y + run * p * k
            for i in 0..<p { put(at(source + i * k) * a + t, out + i * k) }
        }
    }

    @inlinable
    static func normBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, channels c: Int, batch b: Int,
                             plane p: Int, factors f: UnsafePointer<Float>, training: Bool,
                             into dx: UnsafeMutablePointer<Float>) {
        let k = scalarCount
        eachRun(channels: c, batch: b) { run, _, c0 in
            let m = at(f + c0), inv = at(f + c + c0), g = at(f + 2 * c + c0)
            let meanDy = at(f + 3 * c + c0), meanDyx = at(f + 4 * c + c0)
            let gi = dy + run * p * k, source = x + run * p * k, out = dx + run * p * k
            if training {
                for i in 0..<p {
                    let xhat = (at(source + i * k) - m) * inv
                    put(g * (at(gi + i * k) - meanDy - xhat * meanDyx), out + i * k)
                }
            } else {
                for i in 0..<p { put(g * at(gi + i * k), out + i * k) }
            }
        }
    }
}
