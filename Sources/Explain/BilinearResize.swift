/// Bilinear resizing as OpenCV's `INTER_LINEAR` does it on floating-point images: the source
/// coordinate of destination pixel d is `(d + 0.5) * (source / destination) - 0.5`, clamped
/// to the edge pixels.
public enum BilinearResize {
    public static func resize(_ m: ExplanationMap, height: Int, width: Int) -> ExplanationMap {
        let xs = taps(source: m.width, destination: width), ys = taps(source: m.height, destination: height)
        var out = [Double](repeating: 0, count: height * width)
        for (y, (y0, y1, fy)) in ys.enumerated() {
            for (x, (x0, x1, fx)) in xs.enumerated() {
                let top = m.values[y0 * m.width + x0] * (1 - fx) + m.values[y0 * m.width + x1] * fx
                let bottom = m.values[y1 * m.width + x0] * (1 - fx) + m.values[y1 * m.width + x1] * fx
                out[y * width + x] = top * (1 - fy) + bottom * fy
            }
        }
        return ExplanationMap(height: height, width: width, values: out)
    }

    /// For each destination index: the two source indices and the weight of the second.
    static func taps(source: Int, destination: Int) -> [(Int, Int, Double)] {
        let scale = Double(source) / Double(destination)
        return (0..<destination).map { d in
            let f = (Double(d) + 0.5) * scale - 0.5
            var i = Int(f.rounded(.down)), w = f - Double(i)
            if i < 0 { i = 0; w = 0 }
            if i >= source - 1 { i = source - 1; w = 0 }
            return (i, min(i + 1, source - 1), w)
        }
    }
}
