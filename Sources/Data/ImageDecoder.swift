import CImageCodecs

/// One decoded image: 8-bit pixels, planar (C, H, W) as `Split` holds them.
public struct DecodedImage: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var pixels: [UInt8]

    public init(channels: Int, height: Int, width: Int, pixels: [UInt8]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }
}

/// PNG and JPEG decoding through libpng and libjpeg-turbo (`CImageCodecs`), and the two
/// conversions an image set needs: to 1 or 3 channels and to one size.
public enum ImageDecoder {
    /// Decodes `bytes` (a PNG or JPEG, whatever the file's name says); `name` is the file for
    /// the error, which says what is wrong with it.
    public static func decode(_ bytes: [UInt8], name: String) throws -> DecodedImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { b in
            ddp_image_decode(b.baseAddress, b.count, &pixels, &width, &height, &channels, &error, error.count)
        }
        guard status == 0, let pixels else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DataError.format(path: name, field: "image", expected: "a PNG or JPEG image", found: reason)
        }
        defer { ddp_image_free(pixels) }
        let c = Int(channels), hw = Int(height) * Int(width)
        // Interleaved (H, W, C) to planar (C, H, W).
        var planar = [UInt8](repeating: 0, count: c * hw)
        for ch in 0..<c {
            for i in 0..<hw { planar[ch * hw + i] = pixels[i * c + ch] }
        }
        return DecodedImage(channels: c, height: Int(height), width: Int(width), pixels: planar)
    }
}

extension DecodedImage {
    /// The image with `target` channels: grey from colour by ITU-R 601 luma in the fixed-point
    /// form Pillow's `convert("L")` uses; colour from grey by repetition.
    public func converted(channels target: Int) -> DecodedImage {
        if target == channels { return self }
        let hw = height * width
        if target == 1 {
            var out = [UInt8](repeating: 0, count: hw)
            for i in 0..<hw {
                let r = UInt32(pixels[i]), g = UInt32(pixels[hw + i]), b = UInt32(pixels[2 * hw + i])
                out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
            return DecodedImage(channels: 1, height: height, width: width, pixels: out)
        }
        return DecodedImage(channels: target, height: height, width: width,
                            pixels: Array([[UInt8]](repeating: Array(pixels.prefix(hw)), count: target).joined()))
    }

    /// The image resampled to `newHeight` x `newWidth` with a triangle (bilinear) filter whose
    /// support widens with the reduction, so that shrinking averages instead of aliasing
    /// (as Pillow's and torchvision's antialiased bilinear resize).
    public func resized(height newHeight: Int, width newWidth: Int) -> DecodedImage {
        if newHeight == height, newWidth == width { return self }
        let horizontal = Self.weights(from: width, to: newWidth)
        let vertical = Self.weights(from: height, to: newHeight)
        var out = [UInt8](repeating: 0, count: channels * newHeight * newWidth)
        var rows = [Float](repeating: 0, count: height * newWidth)
        for ch in 0..<channels {
            let plane = ch * height * width
            for y in 0..<height {
                for (x, taps) in horizontal.enumerated() {
                    var s: Float = 0
                    for (i, w) in taps { s += w * Float(pixels[plane + y * width + i]) }
                    rows[y * newWidth + x] = s
                }
            }
            for (y, taps) in vertical.enumerated() {
                for x in 0..<newWidth {
                    var s: Float = 0
                    for (i, w) in taps { s += w * rows[i * newWidth + x] }
                    out[(ch * newHeight + y) * newWidth + x] = UInt8(max(0, min(255, s.rounded())))
                }
            }
        }
        return DecodedImage(channels: channels, height: newHeight, width: newWidth, pixels: out)
    }

    /// For each output position, its input positions and normalised triangle weights.
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        let support = max(scale, 1)
        return (0..<m).map { o in
            let center = (Double(o) + 0.5) * scale
            let lo = max(0, Int((center - support).rounded(.down))), hi = min(n, Int((center + support).rounded(.up)))
            var taps: [(Int, Float)] = []
            var total = 0.0
            for i in lo..<hi {
                let w = max(0, 1 - abs((Double(i) + 0.5 - center) / support))
                if w > 0 { taps.append((i, Float(w))); total += w }
            }
            if taps.isEmpty { return [(min(max(Int(center), 0), n - 1), 1)] }
            return taps.map { ($0.0, Float(Double($0.1) / total)) }
        }
    }
}
