/// An image with an explanation map over it, for people: the input in grey (or its colours)
/// beside the same input with the map in viridis (a perceptual colour map: brightness rises
/// with the value, legible in grey print and to colour-blind readers) blended over it,
/// both enlarged to about 224 pixels.
public enum Overlay {
    /// Viridis at 0, 1/8, ..., 1 (matplotlib's table).
    static let viridis: [(Double, Double, Double)] = [
        (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x49, 0x89), (0x31, 0x68, 0x8E), (0x26, 0x82, 0x8E),
        (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6E, 0xCE, 0x58), (0xFD, 0xE7, 0x25),
    ].map { (Double($0.0), Double($0.1), Double($0.2)) }

    /// The colour of `v` in [0, 1].
    public static func color(_ v: Double) -> (UInt8, UInt8, UInt8) {
        let t = min(max(v.isFinite ? v : 0, 0), 1) * Double(viridis.count - 1)
        let i = min(Int(t), viridis.count - 2), f = t - Double(i)
        let a = viridis[i], b = viridis[i + 1]
        func mix(_ x: Double, _ y: Double) -> UInt8 { UInt8((x + (y - x) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The PNG: input | input with the map. `image` holds C x H x W values in [0, 1].
    public static func png(image: [Float], channels: Int, map: ExplanationMap, alpha: Double = 0.55) -> [UInt8] {
        let (h, w) = (map.height, map.width)
        let scale = max(1, 224 / max(h, w)), gap = 8
        let outH = h * scale, outW = 2 * w * scale + gap
        let shown = BilinearResize.resize(map.scaledToUnit, height: outH, width: w * scale)
        var rgb = [UInt8](repeating: 255, count: outH * outW * 3)
        for y in 0..<outH {
            for x in 0..<(w * scale) {
                let p = (y / scale) * w + x / scale
                let heat = color(shown.values[y * w * scale + x])
                for c in 0..<3 {
                    let value = Double(image[(channels == 3 ? c : 0) * h * w + p])
                    let tint = Double(c == 0 ? heat.0 : c == 1 ? heat.1 : heat.2)
                    let grey = 255 * min(max(value, 0), 1)
                    rgb[(y * outW + x) * 3 + c] = UInt8(grey.rounded())
                    rgb[(y * outW + w * scale + gap + x) * 3 + c] = UInt8(((1 - alpha) * grey + alpha * tint).rounded())
                }
            }
        }
        return rgb
    }

    /// Width of `png`'s image for a map of `width` x `height`.
    public static func size(height: Int, width: Int) -> (height: Int, width: Int) {
        let scale = max(1, 224 / max(height, width))
        return (height * scale, 2 * width * scale + 8)
    }
}
