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
    /// `y` (B, C / block, P, block) = `x` (C, B, P), P = H * W, C a multiple of `block`.
    public static func toBlocked(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int, block k: Int,
                                 into y: UnsafeMutablePointer<Float>) {
        Parallel.forEach(b * (c / k)) { units in
            for unit in units {
                let (n, cb) = unit.quotientAndRemainder(dividingBy: c / k)
                let out = y + unit * p * k
                for l in 0..<k {
                    let row = x + ((cb * k + l) * b + n) * p
                    for i in 0..<p { out[i * k + l] = row[i] }
                }
            }
        }
    }

    /// `y` (C, B, P) = `x` (B, C / block, P, block): `toBlocked`'s inverse.
    public static func toPlain(_ x: UnsafePointer<Float>, channels c: Int, batch b: Int, plane p: Int, block k: Int,
                               into y: UnsafeMutablePointer<Float>) {
        Parallel.forEach(b * (c / k)) { units in
            for unit in units {
                let (n, cb) = unit.quotientAndRemainder(dividingBy: c / k)
                let source = x + unit * p * k
                for l in 0..<k {
                    let row = y + ((cb * k + l) * b + n) * p
                    for i in 0..<p { row[i] = source[i * k + l] }
                }
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
