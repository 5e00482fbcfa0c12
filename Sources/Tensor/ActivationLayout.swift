import Foundation

/// How the elements of a (C, B, H, W) feature map lie in memory. The shape is always the logical
/// (C, B, H, W); the layout says where element (c, b, y, x) is.
///
/// The program's layout is channel-major. oneDNN's convolutions run in channel blocks, and a
/// residual block keeps its inner activations in them (`BasicBlock`), so that no reorder runs
/// between its convolutions, batch norms and ReLUs.
public enum ActivationLayout: Equatable, Sendable {
    /// (C, B, H, W), row-major: the program's layout, which every layer reads.
    case plain
    /// oneDNN's nChw8c / nChw16c: (B, C / block, H, W, block), C a multiple of `block` (8 or 16).
    case blocked(Int)

    /// The channel block, 0 for `plain`.
    public var block: Int {
        if case .blocked(let k) = self { return k }
        return 0
    }

    /// The blocked layout oneDNN's float32 convolutions prefer on this CPU for `channels`
    /// channels (blocks of 16 on AVX-512, 8 on AVX2), or `plain` where there is none or the
    /// channels are not a multiple of it, or where DDP_TRAIN_BLOCKED_ACTIVATIONS=0 (for
    /// comparisons; docs/benchmarks.md).
    public static func preferredBlocked(channels: Int) -> ActivationLayout {
        let k = preferredBlock
        return k > 0 && channels % k == 0 ? .blocked(k) : .plain
    }

    private static let preferredBlock: Int = {
        guard OneDNN.isAvailable, getenv("DDP_TRAIN_BLOCKED_ACTIVATIONS").map({ String(cString: $0) }) != "0"
        else { return 0 }
        if OneDNN.isa.hasPrefix("avx512") { return 16 }
        return OneDNN.isa.hasPrefix("avx2") ? 8 : 0
    }()
}

extension Kernels {
    /// Positions per tile of `forEachTile`: a tile of 16 channels (4 KB) stays in the L1 cache
    /// while its lanes are visited one after the other (a whole run, 50 KB for resnet32's first
    /// stage, does not: the same copy was about 3x slower lane by lane over whole runs).
    public static let tilePositions = 64

    /// Visits a (C, B, P) feature map, P = H * W, by (sample, block of k channels) runs and tiles
    /// of positions, in parallel over the runs: `body(run, n, c0, i0, i1)` for run `run` = sample `n`'s
    /// block of channels `c0 ..< c0 + k`, positions `i0 ..< i1`. In the blocked layout the run
    /// starts at `run * P * k`; in the plain one channel c of sample n at `(c * B + n) * P`.
    @inlinable
    public static func forEachTile(channels c: Int, batch b: Int, plane p: Int, block k: Int,
                                   _ body: (Int, Int, Int, Int, Int) -> Void) {
        let blocks = c / k
        Parallel.forEach(b * blocks) { runs in
            for run in runs {
                let (n, block) = run.quotientAndRemainder(dividingBy: blocks)
                var i0 = 0
                while i0 < p {
                    let i1 = min(i0 + tilePositions, p)
                    body(run, n, block * k, i0, i1)
                    i0 = i1
                }
            }
        }
    }

    /// `y` (B, C / block, P, block) = `x` (C, B, P), P = H * W, C a multiple of `block`.
    public static func toBlocked(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int, block k: Int,
                                 into y: UnsafeMutablePointer<Float>) {
        forEachTile(channels: c, batch: b, plane: p, block: k) { run, n, c0, i0, i1 in
            let out = y + run * p * k
            for l in 0..<k {
                let row = x + ((c0 + l) * b + n) * p
                for i in i0..<i1 { out[i * k + l] = row[i] }
            }
        }
    }

    /// `y` (C, B, P) = `x` (B, C / block, P, block): `toBlocked`'s inverse.
    public static func toPlain(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int, block k: Int,
                               into y: UnsafeMutablePointer<Float>) {
        forEachTile(channels: c, batch: b, plane: p, block: k) { run, n, c0, i0, i1 in
            let source = x + run * p * k
            for l in 0..<k {
                let row = y + ((c0 + l) * b + n) * p
                for i in i0..<i1 { row[i] = source[i * k + l] }
            }
        }
    }
}

extension Tensor {
    /// Writes this (C, B, H, W) feature map into `plain` in the plain layout (a copy even when
    /// it is plain already), giving `plain` its shape.
    public func copyPlain(into plain: Tensor) {
        plain.ensureShape(shape[0], shape[1], shape[2], shape[3])
        plain.layout = .plain
        let k = layout.block
        if k == 0 {
            plain.data.update(from: data, count: count)
        } else {
            Kernels.toPlain(data, channels: shape[0], batch: shape[1], plane: shape[2] * shape[3], block: k,
                            into: plain.data)
        }
    }

    /// Writes this plain (C, B, H, W) feature map into `other` in `target`, giving it its shape.
    public func copy(into other: Tensor, layout target: ActivationLayout) {
        precondition(layout == .plain, "Tensor.copy(into:layout:) from \(layout)")
        other.ensureShape(shape[0], shape[1], shape[2], shape[3])
        other.layout = target
        let k = target.block
        if k == 0 {
            other.data.update(from: data, count: count)
        } else {
            Kernels.toBlocked(data, channels: shape[0], batch: shape[1], plane: shape[2] * shape[3], block: k,
                              into: other.data)
        }
    }
}

/// Where element (sample n, channel c, position i) of a (C, B, H, W) feature map lies in its
/// layout: `(c * B + n) * P + i` plain, `((n * C / k + c / k) * P + i) * k + c % k` blocked.
public struct FeatureMapIndex {
    public let channels: Int, batch: Int, plane: Int, block: Int
    /// log2(block) (blocks are 8 or 16): shifts and masks, not divisions, per element.
    @usableFromInline let shift: Int

    public init(_ t: Tensor) {
        channels = t.shape[0]
        batch = t.shape[1]
        plane = t.shape[2] * t.shape[3]
        block = t.layout.block
        shift = block == 0 ? 0 : block.trailingZeroBitCount
    }

    @inlinable
    public func callAsFunction(_ n: Int, _ c: Int, _ i: Int) -> Int {
        block == 0 ? (c * batch + n) * plane + i
            : (((n * channels + c) >> shift) * plane + i) << shift | (c & (block - 1))
    }
}

extension Kernels {
    /// `y = max(a + b, 0)` for feature maps of one shape in any layouts (y's as set): element
    /// by element where the three agree, else through `FeatureMapIndex`.
    public static func addRelu(_ a: Tensor, _ b: Tensor, into y: Tensor) {
        precondition(a.shape == b.shape && a.shape == y.shape, "addRelu of \(a.shape), \(b.shape) into \(y.shape)")
        if a.layout == b.layout, a.layout == y.layout {
            addRelu(a.data, b.data, y.data, count: a.count)
            return
        }
        let (c, n, p) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        let ai = FeatureMapIndex(a), bi = FeatureMapIndex(b), yi = FeatureMapIndex(y)
        let x = a.data, s = b.data, out = y.data
        Parallel.forEach(c) { range in
            for ch in range {
                for sample in 0..<n {
                    for i in 0..<p { out[yi(sample, ch, i)] = max(x[ai(sample, ch, i)] + s[bi(sample, ch, i)], 0) }
                }
            }
        }
    }

    /// `y += x` for feature maps of one shape in any layouts.
    public static func add(_ x: Tensor, into y: Tensor) {
        precondition(x.shape == y.shape, "add of \(x.shape) into \(y.shape)")
        if x.layout == y.layout {
            add(x.data, into: y.data, count: x.count)
            return
        }
        let (c, n, p) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        let xi = FeatureMapIndex(x), yi = FeatureMapIndex(y), source = x.data, target = y.data
        Parallel.forEach(c) { range in
            for ch in range {
                for sample in 0..<n {
                    for i in 0..<p { target[yi(sample, ch, i)] += source[xi(sample, ch, i)] }
                }
            }
        }
    }
}
