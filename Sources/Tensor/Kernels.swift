/// Elementwise and layout kernels the layers need, on raw pointers.
///
/// Loops are written over `UnsafeMutablePointer` so the compiler vectorises
/// them; each has a naive twin in the tests.
public enum Kernels {
    /// `y[i] = max(x[i], 0)`.
    @inlinable
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        // Eight floats at a time (the compiler left the scalar loop scalar, x and y may alias).
        Parallel.forEach(count, grain: 1 << 16) { r in
            typealias V = SIMD8<Float>
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: 0, where: v .< 0), as: V.self)
                i += 8
            }
            while i < r.upperBound { y[i] = max(x[i], 0); i += 1 }
        }
    }

    /// `y[i] = max(a[i] + b[i], 0)` (a residual block's sum; y may be a).
    @inlinable
    public static func addRelu(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { r in
            typealias V = SIMD8<Float>
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = UnsafeRawPointer(a + i).loadUnaligned(as: V.self)
                    + UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: 0, where: v .< 0), as: V.self)
                i += 8
            }
            while i < r.upperBound { y[i] = max(a[i] + b[i], 0); i += 1 }
        }
    }

    /// `y[i] += x[i]` (a shortcut's gradient added to the main path's).
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { r in
            typealias V = SIMD8<Float>
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
                    + UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: V.self)
                i += 8
            }
            while i < r.upperBound { y[i] += x[i]; i += 1 }
        }
    }

    /// `dx[i] = y[i] > 0 ? dy[i] : 0`, where `y` is the ReLU's output.
    @inlinable
    public static func reluBackward(output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { r in
            typealias V = SIMD8<Float>
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let out = UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: g.replacing(with: 0, where: .!(out .> 0)), as: V.self)
                i += 8
            }
            while i < r.upperBound { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
        }
    }

    /// `sums[j] += sum_i x[i, j]` for `x` (m, n).
    @inlinable
    public static func accumulateColumnSums(_ x: UnsafePointer<Float>, rows m: Int, columns n: Int,
                                            into sums: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let row = x + i * n
            for j in 0..<n { sums[j] += row[j] }
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
    /// - channelStride: floats between channels of `x` (default `b * h * w`; larger when `x` is
    ///   a chunk of the samples of a bigger batch)
    public static func im2col(
        _ x: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, channelStride: Int? = nil, into cols: UnsafeMutablePointer<Float>
    ) {
        let cs = channelStride ?? b * h * w
        if s == 1, 2 * p == k - 1 {
            sameIm2col(x, channels: c, batch: b, height: h, width: w, kernel: k, padding: p, channelStride: cs,
                       into: cols)
        } else {
            generalIm2col(x, channels: c, batch: b, height: h, width: w, kernel: k, stride: s, padding: p,
                          channelStride: cs, into: cols)
        }
    }

    /// The output columns `first..<last` whose input column `ox * s - p + offset` lies inside `[0, width)`.
    @inline(__always)
    static func insideColumns(outputs ow: Int, width w: Int, offset kj: Int, stride s: Int, padding p: Int) -> (Int,
                                                                                                                Int) {
        let first = min(ow, max(0, (p - kj + s - 1) / s))
        let last = max(first, min(ow, (w - 1 + p - kj) >= 0 ? (w - 1 + p - kj) / s + 1 : 0))
        return (first, last)
    }

    /// im2col for any stride and padding, row segment by row segment.
    static func generalIm2col(
        _ x: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, channelStride cs: Int, into cols: UnsafeMutablePointer<Float>
    ) {
        let oh = outputSize(h, kernel: k, stride: s, padding: p)
        let ow = outputSize(w, kernel: k, stride: s, padding: p)
        let columns = b * oh * ow
        Parallel.forEach(c) { channels in
        for ch in channels {
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((ch * k + ki) * k + kj) * columns
                    let (first, last) = insideColumns(outputs: ow, width: w, offset: kj, stride: s, padding: p)
                    for bi in 0..<b {
                        let plane = x + ch * cs + bi * h * w
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
    }

    /// Folds convolution columns back into a channel-major input gradient, accumulating.
    ///
    /// - cols: (C * k * k, B * OH * OW), scratch: entries that fall on padding may be overwritten
    /// - dx: (C, B, H, W), added to
    /// - channelStride: floats between channels of `dx` (default `b * h * w`)
    public static func col2im(
        _ cols: UnsafeMutablePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, channelStride: Int? = nil, into dx: UnsafeMutablePointer<Float>
    ) {
        let cs = channelStride ?? b * h * w
        if s == 1, 2 * p == k - 1 {
            sameCol2im(cols, channels: c, batch: b, height: h, width: w, kernel: k, padding: p, channelStride: cs,
                       into: dx)
        } else {
            generalCol2im(cols, channels: c, batch: b, height: h, width: w, kernel: k, stride: s, padding: p,
                          channelStride: cs, into: dx)
        }
    }

    /// col2im for any stride and padding.
    static func generalCol2im(
        _ cols: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
        kernel k: Int, stride s: Int, padding p: Int, channelStride cs: Int, into dx: UnsafeMutablePointer<Float>
    ) {
        let oh = outputSize(h, kernel: k, stride: s, padding: p)
        let ow = outputSize(w, kernel: k, stride: s, padding: p)
        let columns = b * oh * ow
        Parallel.forEach(c) { channels in
        for ch in channels {
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((ch * k + ki) * k + kj) * columns
                    let (first, last) = insideColumns(outputs: ow, width: w, offset: kj, stride: s, padding: p)
                    for bi in 0..<b {
                        let plane = dx + ch * cs + bi * h * w
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

    // MARK: - "Same" convolutions (stride 1, output size = input size)

    /// im2col when stride is 1 and the padding keeps the size (k = 2p + 1): in channel-major
    /// layout, row (ch, ki, kj) of the columns is the channel's whole (B, H, W) block shifted by
    /// (ki - p) rows and (kj - p) columns, so it is one contiguous copy followed by zeroing the
    /// positions that fall outside a plane.
    static func sameIm2col(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, height h: Int, width w: Int,
                           kernel k: Int, padding p: Int, channelStride cs: Int,
                           into cols: UnsafeMutablePointer<Float>) {
        let n = b * h * w
        Parallel.forEach(c) { channels in
        for ch in channels {
            let src = x + ch * cs
            for ki in 0..<k {
                let dy = ki - p
                for kj in 0..<k {
                    let dx = kj - p
                    let row = cols + ((ch * k + ki) * k + kj) * n
                    let shift = dy * w + dx
                    // Flattened out[i] = in[i + shift] where valid; copy the overlapping range.
                    let lo = max(0, -shift), hi = min(n, n - shift)
                    if lo > 0 { row.update(repeating: 0, count: lo) }
                    if hi > lo { (row + lo).update(from: src + lo + shift, count: hi - lo) }
                    if hi < n { (row + hi).update(repeating: 0, count: n - hi) }
                    zeroOutside(row, batch: b, height: h, width: w, dy: dy, dx: dx)
                }
            }
        }
        }
    }

    /// Zeroes the positions (b, y, x) of a (B, H, W) block whose source (y + dy, x + dx) lies outside the plane.
    @inline(__always)
    static func zeroOutside(_ row: UnsafeMutablePointer<Float>, batch b: Int, height h: Int, width w: Int, dy: Int,
                            dx: Int) {
        let hw = h * w
        for bi in 0..<b {
            let plane = row + bi * hw
            if dy < 0 { plane.update(repeating: 0, count: min(-dy, h) * w) }
            if dy > 0 { (plane + max(h - dy, 0) * w).update(repeating: 0, count: min(dy, h) * w) }
            if dx < 0 {
                for y in 0..<h { for x in 0..<min(-dx, w) { plane[y * w + x] = 0 } }
            } else if dx > 0 {
                for y in 0..<h { for x in max(w - dx, 0)..<w { plane[y * w + x] = 0 } }
            }
        }
    }

    /// col2im for "same" convolutions: zero the columns' outside positions (they are scratch),
    /// then add each row into the block shifted back, one contiguous vector add per row.
    static func sameCol2im(_ cols: UnsafeMutablePointer<Float>, channels c: Int, batch b: Int, height h: Int,
                           width w: Int,
                           kernel k: Int, padding p: Int, channelStride cs: Int,
                           into dxOut: UnsafeMutablePointer<Float>) {
        let n = b * h * w
        Parallel.forEach(c) { channels in
        for ch in channels {
            let dst = dxOut + ch * cs
            for ki in 0..<k {
                let dy = ki - p
                for kj in 0..<k {
                    let dx = kj - p
                    let row = cols + ((ch * k + ki) * k + kj) * n
                    zeroOutside(row, batch: b, height: h, width: w, dy: dy, dx: dx)
                    let shift = dy * w + dx
                    let lo = max(0, -shift), hi = min(n, n - shift)
                    if hi <= lo { continue }
                    let d = dst + lo + shift, r = row + lo
                    for i in 0..<(hi - lo) { d[i] += r[i] }
                }
            }
        }
        }
    }
}
