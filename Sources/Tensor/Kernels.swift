/// Elementwise and layout kernels the layers need, on raw pointers.
///
/// Loops are written over `UnsafeMutablePointer` so the compiler vectorises
/// them; each has a naive twin in the tests.
public enum Kernels {
    /// `y[i] = max(x[i], 0)`.
    @inlinable
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = max(x[i], 0) }
    }

    /// `dx[i] = y[i] > 0 ? dy[i] : 0`, where `y` is the ReLU's output.
    @inlinable
    public static func reluBackward(output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }

    /// Adds `bias` (n) to every row of `y` (m, n).
    @inlinable
    public static func addRowBias(_ y: UnsafeMutablePointer<Float>, rows m: Int, columns n: Int, bias: UnsafePointer<Float>) {
        for i in 0..<m {
            let row = y + i * n
            for j in 0..<n { row[j] += bias[j] }
        }
    }

    /// `sums[j] += sum_i x[i, j]` for `x` (m, n).
    @inlinable
    public static func accumulateColumnSums(_ x: UnsafePointer<Float>, rows m: Int, columns n: Int, into sums: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let row = x + i * n
            for j in 0..<n { sums[j] += row[j] }
        }
    }

    /// `y = transpose(x)`: `x` (m, n) -> `y` (n, m).
    @inlinable
    public static func transpose(_ x: UnsafePointer<Float>, rows m: Int, columns n: Int, into y: UnsafeMutablePointer<Float>) {
        let tile = 32
        var i0 = 0
        while i0 < m {
            let i1 = min(i0 + tile, m)
            var j0 = 0
            while j0 < n {
                let j1 = min(j0 + tile, n)
                for i in i0..<i1 {
                    for j in j0..<j1 { y[j * m + i] = x[i * n + j] }
                }
                j0 = j1
            }
            i0 = i1
        }
    }

    /// Output extent of a convolution or pooling window.
    @inlinable
    public static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }

    /// Unfolds a channel-major input into convolution columns.
    ///
    /// - x: (C, B, H, W)
    /// - cols: (C * k * k, B * OH * OW); row `(c * k + ki) * k + kj`, column `(b * OH + oh) * OW + ow`
    public static func im2col(
        _ x: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, into cols: UnsafeMutablePointer<Float>
    ) {
        let oh = outputSize(h, kernel: k, stride: s, padding: p)
        let ow = outputSize(w, kernel: k, stride: s, padding: p)
        let columns = b * oh * ow
        for ch in 0..<c {
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((ch * k + ki) * k + kj) * columns
                    // Output columns ox whose input column ix = ox*s - p + kj lies inside [0, w).
                    let first = min(ow, max(0, (p - kj + s - 1) / s))
                    let last = max(first, min(ow, (w - 1 + p - kj) >= 0 ? (w - 1 + p - kj) / s + 1 : 0))
                    for bi in 0..<b {
                        let plane = x + (ch * b + bi) * h * w
                        for oy in 0..<oh {
                            let out = row + (bi * oh + oy) * ow
                            let iy = oy * s - p + ki
                            if iy < 0 || iy >= h {
                                out.update(repeating: 0, count: ow)
                                continue
                            }
                            let line = plane + iy * w
                            for ox in 0..<first { out[ox] = 0 }
                            if s == 1 {
                                (out + first).update(from: line + (first - p + kj), count: last - first)
                            } else {
                                for ox in first..<last { out[ox] = line[ox * s - p + kj] }
                            }
                            for ox in last..<ow { out[ox] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// Folds convolution columns back into a channel-major input gradient, accumulating.
    ///
    /// - cols: (C * k * k, B * OH * OW)
    /// - dx: (C, B, H, W), added to
    public static func col2im(
        _ cols: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, into dx: UnsafeMutablePointer<Float>
    ) {
        let oh = outputSize(h, kernel: k, stride: s, padding: p)
        let ow = outputSize(w, kernel: k, stride: s, padding: p)
        let columns = b * oh * ow
        for ch in 0..<c {
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((ch * k + ki) * k + kj) * columns
                    let first = min(ow, max(0, (p - kj + s - 1) / s))
                    let last = max(first, min(ow, (w - 1 + p - kj) >= 0 ? (w - 1 + p - kj) / s + 1 : 0))
                    for bi in 0..<b {
                        let plane = dx + (ch * b + bi) * h * w
                        for oy in 0..<oh {
                            let iy = oy * s - p + ki
                            if iy < 0 || iy >= h { continue }
                            let src = row + (bi * oh + oy) * ow
                            let line = plane + iy * w
                            if s == 1 {
                                let dst = line + (first - p + kj)
                                for ox in 0..<(last - first) { dst[ox] += src[first + ox] }
                            } else {
                                for ox in first..<last { line[ox * s - p + kj] += src[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}
