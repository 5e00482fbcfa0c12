import NN
import Tensor

/// What a layer sees (Zeiler and Fergus 2014's visualisation of intermediate layers): an
/// image's strongest feature maps at a layer, and the first convolution's filters, as pictures.
public enum FeatureView {
    /// One feature map of one image: its channel, mean activation and values (h x w).
    public struct Channel: Sendable {
        public var channel: Int
        public var mean: Double
        public var map: ExplanationMap
    }

    /// The `count` channels of the explainer's layer with the largest mean activation for each
    /// image of `input` (the model's layout), strongest first (ties: the lower channel).
    public static func strongest(_ explainer: Explainer, input: Tensor, images: Int, count: Int) -> [[Channel]] {
        let p = explainer.pass(input, classes: [Int](repeating: 0, count: images))
        let (ch, h, w) = p.featureShape
        return (0..<images).map { b in
            let channels = (0..<ch).map { k -> Channel in
                let base = (k * images + b) * h * w
                let values = (0..<(h * w)).map { Double(p.featureMap[base + $0]) }
                return Channel(channel: k, mean: values.reduce(0, +) / Double(max(h * w, 1)),
                               map: ExplanationMap(height: h, width: w, values: values))
            }
            return Array(channels.sorted { $0.mean != $1.mean
                ? $0.mean > $1.mean : $0.channel < $1.channel }.prefix(count))
        }
    }

    /// A feature map as an RGB tile, enlarged by whole pixels to about `side` pixels, in viridis
    /// from its minimum to its maximum.
    public static func tile(_ map: ExplanationMap, side: Int = 112) -> (rgb: [UInt8], height: Int, width: Int) {
        let scale = max(1, side / max(map.height, map.width))
        let unit = map.scaledToUnit
        let (oh, ow) = (map.height * scale, map.width * scale)
        var rgb = [UInt8](repeating: 0, count: oh * ow * 3)
        for y in 0..<oh {
            for x in 0..<ow {
                let c = Overlay.color(unit.values[(y / scale) * map.width + x / scale])
                rgb[(y * ow + x) * 3] = c.0
                rgb[(y * ow + x) * 3 + 1] = c.1
                rgb[(y * ow + x) * 3 + 2] = c.2
            }
        }
        return (rgb, oh, ow)
    }

    /// The first layer's filters as one grey picture: each filter (a convolution's k x k kernel
    /// of each input channel averaged over the channels, or a linear layer's weights over the
    /// image) scaled from its minimum (black) to its maximum (white), enlarged, in a grid of
    /// `columns`; at most `limit` filters. Nil when the first layer has no weights.
    public static func filters(_ model: Model, limit: Int = 64, columns: Int = 8) -> (rgb: [UInt8], height: Int,
                                                                                      width: Int, count: Int)? {
        guard let first = model.features.first, let offset = first.parameterOffset,
              let entry = model.parameters.entries.first(where: { $0.offset == offset }) else { return nil }
        let s = model.inputShape
        let (count, c, h, w): (Int, Int, Int, Int)
        if entry.shape.count == 4 {
            (count, c, h, w) = (entry.shape[0], entry.shape[1], entry.shape[2], entry.shape[3])
        } else if entry.shape.count == 2, entry.shape[1] == s.count {
            (count, c, h, w) = (entry.shape[0], s.channels, s.height, s.width)
        } else {
            return nil
        }
        let n = min(count, limit), cols = min(columns, n), rows = (n + cols - 1) / cols
        let scale = max(1, 48 / max(h, w)), gap = 4
        let (th, tw) = (h * scale, w * scale)
        let (oh, ow) = (rows * (th + gap) - gap, cols * (tw + gap) - gap)
        var rgb = [UInt8](repeating: 255, count: oh * ow * 3)
        let weights = model.parameters.values + offset
        for f in 0..<n {
            var kernel = [Double](repeating: 0, count: h * w)
            for ch in 0..<c { for i in 0..<(h
                * w) { kernel[i] += Double(weights[(f * c + ch) * h * w + i]) / Double(c) } }
            let unit = ExplanationMap(height: h, width: w, values: kernel).scaledToUnit
            let (r0, c0) = ((f / cols) * (th + gap), (f % cols) * (tw + gap))
            for y in 0..<th {
                for x in 0..<tw {
                    let v = UInt8((255 * unit.values[(y / scale) * w + x / scale]).rounded())
                    for k in 0..<3 { rgb[((r0 + y) * ow + c0 + x) * 3 + k] = v }
                }
            }
        }
        return (rgb, oh, ow, n)
    }
}
