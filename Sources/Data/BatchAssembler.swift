import Tensor

/// Gathers samples into a model's input tensor, normalised and augmented (`Augmentation`,
/// `BatchMix`).
///
/// Writes either rows (B, C*H*W) or channel-major (C, B, H, W) batches, the
/// layout the model wants, so no transpose follows. Buffers are reused.
public final class BatchAssembler {
    public let split: Split
    public let mean: [Float]
    public let std: [Float]
    public let channelMajor: Bool
    /// The training augmentation (none for evaluation).
    public let augmentation: Augmentation
    public let seed: UInt64
    /// (B, C*H*W) or (C, B, H, W)
    public let input = Tensor(shape: [1, 1])
    /// (B)
    public private(set) var targets: UnsafeMutablePointer<Int32>
    /// (B) the partners' labels of a mixed batch (`BatchMix`).
    public private(set) var partnerTargets: UnsafeMutablePointer<Int32>
    private var capacity = 0
    private var scale: [Float]
    private var shift: [Float]
    private var rows: AxisSamples
    private var columns: AxisSamples
    /// One sample (C*H*W): a partner's image before blending.
    private var partner: [Float]
    /// One sample's raw pixels, its bytes and an operation's scratch (`ImagePolicy`).
    private var raw: [Float], bytes: [UInt8], opScratch: [UInt8]

    public init(split: Split, mean: [Float], std: [Float], channelMajor: Bool, augmentation: Augmentation = .init(),
                seed: UInt64) {
        self.split = split
        self.mean = mean
        self.std = std
        self.channelMajor = channelMajor
        self.augmentation = augmentation
        self.seed = seed
        targets = .allocate(capacity: 1)
        partnerTargets = .allocate(capacity: 1)
        // x_normalised = raw * scale + shift, raw in source units (bytes or floats).
        let unit: Float
        if case .bytes = split.pixels { unit = 1 / 255 } else { unit = 1 }
        scale = std.map { unit / $0 }
        shift = zip(mean, std).map { -$0 / $1 }
        rows = AxisSamples(capacity: split.height)
        columns = AxisSamples(capacity: split.width)
        partner = augmentation.mixes ? [Float](repeating: 0, count: split.sampleSize) : []
        let policySize = augmentation.policy == nil ? 0 : split.sampleSize
        raw = [Float](repeating: 0, count: policySize)
        bytes = [UInt8](repeating: 0, count: policySize)
        opScratch = bytes
    }

    deinit {
        targets.deallocate()
        partnerTargets.deallocate()
    }

    /// Assembles the samples `indices[0..<n]`; `positions` and `epoch` seed the augmentation.
    /// With `mix`, sample b is blended with sample `partners.indices[b]` (at epoch position
    /// `partners.positions[b]`, augmented as that sample is).
    public func assemble(indices: UnsafePointer<Int>, positions: UnsafePointer<Int>, count n: Int, epoch: Int,
                         mix: BatchMix? = nil,
                         partners: (indices: UnsafePointer<Int>, positions: UnsafePointer<Int>)? = nil) {
        let (c, h, w) = (split.channels, split.height, split.width)
        let hw = h * w, size = c * hw
        if channelMajor { input.ensureShape(c, n, h, w) } else { input.ensureShape(n, size) }
        if n > capacity {
            targets.deallocate()
            partnerTargets.deallocate()
            targets = .allocate(capacity: n)
            partnerTargets = .allocate(capacity: n)
            capacity = n
        }
        let out = input.data
        for b in 0..<n {
            targets[b] = split.labels[indices[b]]
            let plane = { (ch: Int) in self.channelMajor ? out + (ch * n + b) * hw : out + b * size + ch * hw }
            render(indices[b], position: positions[b], epoch: epoch, plane: plane)
            guard let mix, let partners else { continue }
            let j = partners.indices[b]
            partnerTargets[b] = split.labels[j]
            partner.withUnsafeMutableBufferPointer { scratch in
                let other = scratch.baseAddress!
                render(j, position: partners.positions[b], epoch: epoch) { other + $0 * hw }
                for ch in 0..<c { blend(plane(ch), other + ch * hw, mix, h: h, w: w) }
            }
        }
    }

    /// Sample `i`'s normalised, augmented image; channel `ch` goes to `plane(ch)` (H*W).
    private func render(_ i: Int, position: Int, epoch: Int, plane: (Int) -> UnsafeMutablePointer<Float>) {
        let (c, h, w) = (split.channels, split.height, split.width)
        let view = augmentation.view(seed: seed, epoch: epoch, position: position, height: h, width: w)
        if case .crop(let top, let left, let ch, let cw) = view.kind {
            rows.set(output: h, source: ch, start: top)
            columns.set(output: w, source: cw, start: left, flip: view.flip)
        }
        let box = augmentation.cutoutBox(seed: seed, epoch: epoch, position: position, height: h, width: w)
        if let policy = augmentation.policy {
            applyPolicy(policy, i, position: position, epoch: epoch, view: view)
        }
        for ch in 0..<c {
            let dst = plane(ch)
            if augmentation.policy != nil {
                for j in 0..<(h * w) { dst[j] = Float(bytes[ch * h * w + j]) * scale[ch] + shift[ch] }
            } else {
                copyPlane(i, ch, to: dst, view: view)
            }
            if let box {
                for y in box.rows { for x in box.columns { dst[y * w + x] = 0 } }
            }
        }
    }

    /// Sample `i`'s channel `ch` through `view`, normalised, into `dst`.
    private func copyPlane(_ i: Int, _ ch: Int, to dst: UnsafeMutablePointer<Float>, view: Augmentation.View,
                           normalised: Bool = true) {
        let (h, w) = (split.height, split.width)
        let size = split.sampleSize
        let sc = normalised ? scale[ch] : 1, sh = normalised ? shift[ch] : 0
        switch split.pixels {
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { src in
                copyPlane(src.baseAddress! + i * size + ch * h * w, to: dst, view: view, scale: sc, shift: sh)
            }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { src in
                copyPlane(src.baseAddress! + i * size + ch * h * w, to: dst, view: view, scale: sc, shift: sh)
            }
        }
    }

    /// The cropped image of sample `i` as bytes (a resized crop rounded, as torchvision's uint8
    /// resize), through `policy`'s operations, into `bytes`.
    private func applyPolicy(_ policy: ImagePolicy, _ i: Int, position: Int, epoch: Int, view: Augmentation.View) {
        let (c, h, w) = (split.channels, split.height, split.width)
        raw.withUnsafeMutableBufferPointer { r in
            for ch in 0..<c { copyPlane(i, ch, to: r.baseAddress! + ch * h * w, view: view, normalised: false) }
        }
        for j in 0..<(c * h * w) { bytes[j] = UInt8(min(255, max(0, raw[j].rounded(.toNearestOrEven)))) }
        bytes.withUnsafeMutableBufferPointer { b in
            opScratch.withUnsafeMutableBufferPointer { s in
                policy.apply(b.baseAddress!, channels: c, height: h, width: w, seed: seed, epoch: epoch,
                             position: position, scratch: s.baseAddress!)
            }
        }
    }

    /// One image plane through `view` (zero padding in raw pixel units), normalised.
    @inline(__always)
    private func copyPlane<T: PixelValue>(_ src: UnsafePointer<T>, to dst: UnsafeMutablePointer<Float>,
                                          view: Augmentation.View, scale: Float, shift: Float) {
        let (h, w) = (split.height, split.width)
        switch view.kind {
        case .identity where !view.flip:
            for j in 0..<(h * w) { dst[j] = src[j].float * scale + shift }
        case .identity, .shift:
            var dy = 0, dx = 0
            if case .shift(let sy, let sx) = view.kind { (dy, dx) = (sy, sx) }
            for y in 0..<h {
                let sy = y + dy
                for x in 0..<w {
                    let sx = (view.flip ? w - 1 - x : x) + dx
                    let raw: Float = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sy * w + sx].float : 0
                    dst[y * w + x] = raw * scale + shift
                }
            }
        case .crop:
            AxisSamples.resample(src, width: w, rows: rows, columns: columns, outputHeight: h,
                                 outputWidth: w) { j, raw in dst[j] = raw * scale + shift }
        }
    }

    /// `own` blended with `other` by `mix` (one plane).
    @inline(__always)
    private func blend(_ own: UnsafeMutablePointer<Float>, _ other: UnsafePointer<Float>, _ mix: BatchMix, h: Int,
                       w: Int) {
        switch mix.kind {
        case .mixup:
            let a = Float(mix.lambda), b = 1 - a
            for j in 0..<(h * w) { own[j] = a * own[j] + b * other[j] }
        case .cutmix(let rows, let columns):
            for y in rows { for x in columns { own[y * w + x] = other[y * w + x] } }
        }
    }
}
