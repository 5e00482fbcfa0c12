import Foundation

/// The operations of AutoAugment and RandAugment on a C x H x W byte image, as torchvision
/// computes them on uint8 tensors (`torchvision.transforms.autoaugment._apply_op`, nearest
/// interpolation, fill 0): the blends in float32 truncated to bytes, the affine maps through
/// torchvision's float32 sampling grid (Tests/golden/augment_ops.json).
public enum ImageOp: String, CaseIterable, Sendable {
    case identity = "Identity"
    case shearX = "ShearX", shearY = "ShearY", translateX = "TranslateX", translateY = "TranslateY"
    case rotate = "Rotate", brightness = "Brightness", color = "Color", contrast = "Contrast"
    case sharpness = "Sharpness", posterize = "Posterize", solarize = "Solarize"
    case autoContrast = "AutoContrast", equalize = "Equalize", invert = "Invert"

    /// Whether a magnitude is negated with probability 1/2.
    var signed: Bool {
        switch self {
        case .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast,
             .sharpness: true
        default: false
        }
    }

    /// torchvision's `_augmentation_space(bins, (height, width))`: the magnitude of bin `bin`.
    func magnitude(bin: Int, bins: Int, height: Int, width: Int) -> Double {
        switch self {
        case .shearX, .shearY: Self.linspace(0, 0.3, bins, bin)
        case .translateX: Self.linspace(0, Float(150.0 / 331.0 * Double(width)), bins, bin)
        case .translateY: Self.linspace(0, Float(150.0 / 331.0 * Double(height)), bins, bin)
        case .rotate: Self.linspace(0, 30, bins, bin)
        case .brightness, .color, .contrast, .sharpness: Self.linspace(0, 0.9, bins, bin)
        case .posterize: Double(8 - Int((Float(bin) / (Float(bins - 1) / 4)).rounded(.toNearestOrEven)))
        case .solarize: Self.linspace(255, 0, bins, bin)
        case .identity, .autoContrast, .equalize, .invert: 0
        }
    }

    /// Value `i` of `torch.linspace(start, end, steps)` in float32 (from both ends towards the middle).
    static func linspace(_ start: Float, _ end: Float, _ steps: Int, _ i: Int) -> Double {
        let step = (end - start) / Float(steps - 1)
        return Double(i < steps / 2 ? start + step * Float(i) : end - step * Float(steps - i - 1))
    }

    /// Applies the operation with `magnitude` to `image` (C x H x W); `scratch` holds as many bytes.
    func apply(_ image: UnsafeMutablePointer<UInt8>, channels c: Int, height h: Int, width w: Int, magnitude m: Double,
               scratch: UnsafeMutablePointer<UInt8>) {
        let n = c * h * w
        switch self {
        case .identity: return
        case .shearX: affine(image, c, h, w, scratch, shear: (degrees(atan(m)), 0), centre: (0, 0))
        case .shearY: affine(image, c, h, w, scratch, shear: (0, degrees(atan(m))), centre: (0, 0))
        case .translateX: affine(image, c, h, w, scratch, translate: (Double(Int(m)), 0))
        case .translateY: affine(image, c, h, w, scratch, translate: (0, Double(Int(m))))
        case .rotate: affine(image, c, h, w, scratch, angle: -m)
        case .brightness: for i in 0..<n { image[i] = Self.blend(image[i], 0, 1 + m) }
        case .color:
            guard c == 3 else { return }
            let hw = h * w
            for i in 0..<hw {
                let grey = Self.grey(image[i], image[hw + i], image[2 * hw + i])
                for ch in 0..<3 { image[ch * hw + i] = Self.blend(image[ch * hw + i], Float(grey), 1 + m) }
            }
        case .contrast:
            // The mean of the (truncated) grey image: float32 sums of whole numbers below 2^24 are exact.
            let hw = h * w
            var sum = 0
            for i in 0..<hw { sum += c == 3 ? Int(Self.grey(image[i], image[hw + i], image[2 * hw + i])) : Int(image[i]) }
            let mean = Float(sum) / Float(hw)
            for i in 0..<n { image[i] = Self.blend(image[i], mean, 1 + m) }
        case .sharpness: sharpen(image, c, h, w, factor: 1 + m, scratch)
        case .posterize:
            let mask = UInt8(truncatingIfNeeded: -(1 << (8 - Int(m))))
            for i in 0..<n { image[i] &= mask }
        case .solarize:
            let threshold = Float(m)
            for i in 0..<n where Float(image[i]) >= threshold { image[i] = 255 - image[i] }
        case .autoContrast:
            for ch in 0..<c { Self.autoContrast(image + ch * h * w, h * w) }
        case .equalize:
            for ch in 0..<c { Self.equalize(image + ch * h * w, h * w) }
        case .invert: for i in 0..<n { image[i] = 255 - image[i] }
        }
    }

    func degrees(_ radians: Double) -> Double { radians * 180 / .pi }

    /// torchvision's `_blend`: ratio a + (1 - ratio) b in float32, clamped, truncated to a byte.
    @inline(__always)
    static func blend(_ a: UInt8, _ b: Float, _ ratio: Double) -> UInt8 {
        let v = Float(ratio) * Float(a) + Float(1 - ratio) * b
        return UInt8(min(255, max(0, v)))
    }

    /// torchvision's `rgb_to_grayscale` of bytes: 0.2989 r + 0.587 g + 0.114 b in float32, truncated.
    @inline(__always)
    static func grey(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(min(255, max(0, Float(0.2989) * Float(r) + Float(0.587) * Float(g) + Float(0.114) * Float(b))))
    }

    /// Blend with the image blurred by [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (rounded; the border kept).
    func sharpen(_ image: UnsafeMutablePointer<UInt8>, _ c: Int, _ h: Int, _ w: Int, factor: Double,
                 _ blurred: UnsafeMutablePointer<UInt8>) {
        guard h > 2, w > 2 else { return }
        let side = Float(1) / 13, centre = Float(5) / 13
        blurred.update(from: image, count: c * h * w)
        for ch in 0..<c {
            let p = image + ch * h * w, q = blurred + ch * h * w
            for y in 1..<(h - 1) {
                for x in 1..<(w - 1) {
                    var s: Float = 0
                    for dy in -1...1 {
                        for dx in -1...1 { s += Float(p[(y + dy) * w + x + dx]) * (dy == 0 && dx == 0 ? centre : side) }
                    }
                    q[y * w + x] = UInt8(min(255, max(0, s.rounded(.toNearestOrEven))))
                }
            }
        }
        for i in 0..<(c * h * w) { image[i] = Self.blend(image[i], Float(blurred[i]), factor) }
    }

    /// Each channel stretched from its minimum and maximum to 0-255 (float32, truncated).
    static func autoContrast(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) {
        var lo: UInt8 = 255, hi: UInt8 = 0
        for i in 0..<n { lo = min(lo, p[i]); hi = max(hi, p[i]) }
        guard hi > lo else { return }
        // PyTorch divides a number by a tensor as the number times the tensor's reciprocal.
        let scale = Float(255) * (1 / (Float(hi) - Float(lo))), shift = Float(lo)
        for i in 0..<n { p[i] = UInt8(min(255, max(0, (Float(p[i]) - shift) * scale))) }
    }

    /// torchvision's `_scale_channel`: the histogram's cumulative sum over a step, as a lookup table.
    static func equalize(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) {
        var histogram = [Int](repeating: 0, count: 256)
        for i in 0..<n { histogram[Int(p[i])] += 1 }
        let nonzero = histogram.filter { $0 != 0 }
        let step = nonzero.dropLast().reduce(0, +) / 255
        guard step > 0 else { return }
        var lut = [UInt8](repeating: 0, count: 256), cumulative = 0
        for v in 0..<256 {
            lut[v] = UInt8(min(255, (cumulative + step / 2) / step))
            cumulative += histogram[v]
        }
        for i in 0..<n { p[i] = lut[Int(p[i])] }
    }

    /// torchvision's `affine` of a tensor: the inverse map of (angle, translation, shear) about
    /// `centre` (pixels from the top-left; nil: the image's centre) through its float32 grid,
    /// nearest pixel (ties to even), zero outside.
    func affine(_ image: UnsafeMutablePointer<UInt8>, _ c: Int, _ h: Int, _ w: Int,
                _ out: UnsafeMutablePointer<UInt8>, angle: Double = 0, translate: (Double, Double) = (0, 0),
                shear: (Double, Double) = (0, 0), centre: (Double, Double)? = nil) {
        let cx = centre.map { $0.0 - Double(w) * 0.5 } ?? 0, cy = centre.map { $0.1 - Double(h) * 0.5 } ?? 0
        let rot = angle * .pi / 180, sx = shear.0 * .pi / 180, sy = shear.1 * .pi / 180
        let a = cos(rot - sy) / cos(sy), b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot)
        let cc = sin(rot - sy) / cos(sy), d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot)
        var m = [d, -b, 0, -cc, a, 0]
        m[2] += m[0] * (-cx - translate.0) + m[1] * (-cy - translate.1)
        m[5] += m[3] * (-cx - translate.0) + m[4] * (-cy - translate.1)
        m[2] += cx
        m[5] += cy
        // rescaled_theta = theta^T / (w/2, h/2), in float32; grid = (x, y, 1) rescaled_theta.
        let theta = m.map { Float($0) }, halfW = Float(0.5) * Float(w), halfH = Float(0.5) * Float(h)
        let t00 = theta[0] / halfW, t10 = theta[1] / halfW, t20 = theta[2] / halfW
        let t01 = theta[3] / halfH, t11 = theta[4] / halfH, t21 = theta[5] / halfH
        let hw = h * w
        for y in 0..<h {
            let gy = Float(Self.linspace(-Float(h) * 0.5 + 0.5, Float(h) * 0.5 + 0.5 - 1, h, y))
            for x in 0..<w {
                let gx = Float(Self.linspace(-Float(w) * 0.5 + 0.5, Float(w) * 0.5 + 0.5 - 1, w, x))
                // As its float32 product: the first term, the second fused into it, then the third.
                let u = (gx * t00).addingProduct(gy, t10) + t20, v = (gx * t01).addingProduct(gy, t11) + t21
                // grid_sample, align_corners=False: ((u + 1) w - 1) / 2, nearest.
                let ix = (((u + 1) * Float(w) - 1) / 2).rounded(.toNearestOrEven)
                let iy = (((v + 1) * Float(h) - 1) / 2).rounded(.toNearestOrEven)
                let inside = ix >= 0 && ix < Float(w) && iy >= 0 && iy < Float(h)
                let source = inside ? Int(iy) * w + Int(ix) : -1
                for ch in 0..<c { out[ch * hw + y * w + x] = source >= 0 ? image[ch * hw + source] : 0 }
            }
        }
        image.update(from: out, count: c * hw)
    }
}
