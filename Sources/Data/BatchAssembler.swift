import Tensor

/// Gathers samples into a model's input tensor, normalised (and augmented).
///
/// Writes either rows (B, C*H*W) or channel-major (C, B, H, W) batches, the
/// layout the model wants, so no transpose follows. Buffers are reused.
public final class BatchAssembler {
    public let split: Split
    public let mean: [Float]
    public let std: [Float]
    public let channelMajor: Bool
    /// Random crop with 4-pixel padding and horizontal flip (training; images below
    /// `BatchAssembler.augmentedSide` pixels, any channels).
    public let augment: Bool
    /// Images from this side on would take torchvision's RandomResizedCrop instead (not built:
    /// `--augment` refuses them).
    public static let augmentedSide = 64
    public let seed: UInt64
    /// (B, C*H*W) or (C, B, H, W)
    public let input = Tensor(shape: [1, 1])
    /// (B)
    public private(set) var targets: UnsafeMutablePointer<Int32>
    private var capacity = 0
    private var scale: [Float]
    private var shift: [Float]

    public init(split: Split, mean: [Float], std: [Float], channelMajor: Bool, augment: Bool, seed: UInt64) {
        self.split = split
        self.mean = mean
        self.std = std
        self.channelMajor = channelMajor
        self.augment = augment && split.height < Self.augmentedSide && split.width < Self.augmentedSide
        self.seed = seed
        targets = .allocate(capacity: 1)
        // x_normalised = raw * scale + shift, raw in source units (bytes or floats).
        let unit: Float
        if case .bytes = split.pixels { unit = 1 / 255 } else { unit = 1 }
        scale = std.map { unit / $0 }
        shift = zip(mean, std).map { -$0 / $1 }
    }

    deinit { targets.deallocate() }

    /// Assembles the samples `indices[0..<n]`; `positions` and `epoch` seed the augmentation.
    public func assemble(indices: UnsafePointer<Int>, positions: UnsafePointer<Int>, count n: Int, epoch: Int) {
        let (c, h, w) = (split.channels, split.height, split.width)
        let hw = h * w, size = c * hw
        if channelMajor { input.ensureShape(c, n, h, w) } else { input.ensureShape(n, size) }
        if n > capacity {
            targets.deallocate()
            targets = .allocate(capacity: n)
            capacity = n
        }
        let out = input.data
        for b in 0..<n {
            let i = indices[b]
            targets[b] = split.labels[i]
            var dy = 0, dx = 0, flip = false
            if augment {
                var rng = RandomSource(seed: seed, stream: [0xA06, UInt64(epoch), UInt64(positions[b])])
                dy = rng.nextInt(below: 9) - 4
                dx = rng.nextInt(below: 9) - 4
                flip = rng.nextInt(below: 2) == 1
            }
            for ch in 0..<c {
                let dst = channelMajor ? out + (ch * n + b) * hw : out + b * size + ch * hw
                let sc = scale[ch], sh = shift[ch]
                switch split.pixels {
                case .bytes(let bytes):
                    bytes.withUnsafeBufferPointer { src in
                        copyPlane(src.baseAddress! + i * size + ch * hw, to: dst, h: h, w: w, dy: dy, dx: dx,
                                  flip: flip, scale: sc, shift: sh)
                    }
                case .floats(let floats):
                    floats.withUnsafeBufferPointer { src in
                        copyPlane(src.baseAddress! + i * size + ch * hw, to: dst, h: h, w: w, dy: dy, dx: dx,
                                  flip: flip, scale: sc, shift: sh)
                    }
                }
            }
        }
    }

    /// One image plane, shifted by (dy, dx) with zero padding (in raw pixel units) and optionally mirrored.
    @inline(__always)
    private func copyPlane<T: BinaryInteger>(_ src: UnsafePointer<T>, to dst: UnsafeMutablePointer<Float>, h: Int,
                                             w: Int,
                                             dy: Int, dx: Int, flip: Bool, scale: Float, shift: Float) {
        if dy == 0 && dx == 0 && !flip {
            for j in 0..<(h * w) { dst[j] = Float(src[j]) * scale + shift }
            return
        }
        for y in 0..<h {
            let sy = y + dy
            for x in 0..<w {
                let sx = (flip ? w - 1 - x : x) + dx
                let raw: Float = sy >= 0 && sy < h && sx >= 0 && sx < w ? Float(src[sy * w + sx]) : 0
                dst[y * w + x] = raw * scale + shift
            }
        }
    }

    @inline(__always)
    private func copyPlane(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, h: Int, w: Int,
                           dy: Int, dx: Int, flip: Bool, scale: Float, shift: Float) {
        for y in 0..<h {
            let sy = y + dy
            for x in 0..<w {
                let sx = (flip ? w - 1 - x : x) + dx
                let raw: Float = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sy * w + sx] : 0
                dst[y * w + x] = raw * scale + shift
            }
        }
    }
}
