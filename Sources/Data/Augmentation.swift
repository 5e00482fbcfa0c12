import Foundation
import Settings
import Tensor

extension Options {
    public var cutout: Option<Int> {
        Option("cutout", 0,
               "Cutout (DeVries and Taylor 2017): zero an S x S square of each normalised training image, centred " +
               "anywhere in it (clipped at the borders); 0 = off.", valueName: "S", check: .range(0, 1 << 16))
    }
    public var mixup: Option<Double> {
        Option("mixup", 0.0,
               "mixup (Zhang et al. 2018) with Beta(A, A): each global batch is blended with itself in reverse " +
               "order, lambda x_i + (1 - lambda) x_j, and the loss is lambda L(y_i) + (1 - lambda) L(y_j) " +
               "(soft targets; ce, focal, the logit-adjusted family, label smoothing); 0 = off.",
               valueName: "A", check: .closed(0, 100))
    }
    public var cutmix: Option<Double> {
        Option("cutmix", 0.0,
               "CutMix (Yun et al. 2019) with Beta(A, A): a box of each image comes from its partner in the " +
               "reversed global batch, lambda the share left; with --mixup, each step takes one of the two " +
               "at random; 0 = off.", valueName: "A", check: .closed(0, 100))
    }
}

/// How training images are augmented: seeded by (seed, epoch, sample), so N ranks draw what one
/// process draws, bit for bit.
///
/// `--augment`: below 64 px (the smaller side) a random crop with 4-pixel zero padding and a
/// horizontal flip; from 64 px torchvision's `RandomResizedCrop` (area 0.08-1, aspect 3/4-4/3,
/// bilinear) and a flip, the evaluated images then resized to 8/7 and centre-cropped
/// (`Split.centreCropped`, torchvision's 256 / 224). `--cutout S` after normalisation; `--mixup`
/// and `--cutmix` per global batch (`BatchMix`). `--autoaugment` and `--randaugment`
/// (`ImagePolicy`) act on the cropped image's bytes, before normalisation.
public struct Augmentation: Sendable, Equatable {
    public var cropAndFlip = false
    public var policy: ImagePolicy?
    public var cutout = 0
    public var mixup = 0.0
    public var cutmix = 0.0

    public init(cropAndFlip: Bool = false, policy: ImagePolicy? = nil, cutout: Int = 0, mixup: Double = 0,
                cutmix: Double = 0) {
        self.cropAndFlip = cropAndFlip
        self.policy = policy
        self.cutout = cutout
        self.mixup = mixup
        self.cutmix = cutmix
    }

    /// Why these images cannot take this augmentation, or nil: the policies' operations are
    /// torchvision's on bytes of 1 or 3 channels.
    public func problem(for images: Split) -> String? {
        guard policy != nil else { return nil }
        let option = if case .auto = policy { "--autoaugment" } else { "--randaugment" }
        if case .floats = images.pixels {
            return "\(option) works on 8-bit images, as torchvision's; these training images are floats"
        }
        if images.channels != 1 && images.channels != 3 {
            return "\(option) works on grey or colour images (1 or 3 channels); these have \(images.channels)"
        }
        return nil
    }

    /// Whether a global batch is blended with itself (mixup or CutMix).
    public var mixes: Bool { mixup > 0 || cutmix > 0 }

    /// Images from this smaller side on take the resized crop (and the ImageNet stem).
    public static let resizedCropSide = 64

    /// Whether images of this size take torchvision's resized crop (else the padded crop).
    public static func resizedCrop(height: Int, width: Int) -> Bool { min(height, width) >= resizedCropSide }

    /// Whether evaluated images of this size are resized to 8/7 and centre-cropped for a model
    /// trained with `cropAndFlip`.
    public static func testCrop(cropAndFlip: Bool, height: Int, width: Int) -> Bool {
        cropAndFlip && resizedCrop(height: height, width: width)
    }

    /// The random view of one training image: the source rectangle read into the whole output
    /// (bilinear), or an integer shift with zero padding; a horizontal flip.
    struct View {
        enum Kind { case identity, shift(dy: Int, dx: Int), crop(top: Int, left: Int, height: Int, width: Int) }
        var kind = Kind.identity
        var flip = false
    }

    /// The view of the sample at epoch position `position`.
    func view(seed: UInt64, epoch: Int, position: Int, height h: Int, width w: Int) -> View {
        guard cropAndFlip else { return View() }
        var rng = RandomSource(seed: seed, stream: [0xA06, UInt64(epoch), UInt64(position)])
        if !Self.resizedCrop(height: h, width: w) {
            let dy = rng.nextInt(below: 9) - 4, dx = rng.nextInt(below: 9) - 4
            return View(kind: .shift(dy: dy, dx: dx), flip: rng.nextInt(below: 2) == 1)
        }
        let crop = Self.resizedCropBox(&rng, height: h, width: w)
        return View(kind: .crop(top: crop.top, left: crop.left, height: crop.height, width: crop.width),
                    flip: rng.nextInt(below: 2) == 1)
    }

    /// torchvision's `RandomResizedCrop.get_params` (scale 0.08-1, ratio 3/4-4/3): ten tries of an
    /// area and a log-uniform aspect, then the centre crop of the image's aspect clamped to the range.
    static func resizedCropBox(_ rng: inout RandomSource, height h: Int,
                               width w: Int) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(h * w), logLow = log(3.0 / 4), logHigh = log(4.0 / 3)
        for _ in 0..<10 {
            let target = area * (0.08 + 0.92 * rng.nextDouble())
            let aspect = exp(logLow + (logHigh - logLow) * rng.nextDouble())
            let cw = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let ch = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if cw > 0, cw <= w, ch > 0, ch <= h {
                return (rng.nextInt(below: h - ch + 1), rng.nextInt(below: w - cw + 1), ch, cw)
            }
        }
        let ratio = Double(w) / Double(h)
        var cw = w, ch = h
        if ratio < 3.0 / 4 {
            ch = Int((Double(cw) / (3.0 / 4)).rounded(.toNearestOrEven))
        } else if ratio > 4.0 / 3 {
            cw = Int((Double(ch) * (4.0 / 3)).rounded(.toNearestOrEven))
        }
        ch = min(ch, h)
        cw = min(cw, w)
        return ((h - ch) / 2, (w - cw) / 2, ch, cw)
    }

    /// The Cutout square of the sample at `position`: rows and columns, clipped to the image.
    func cutoutBox(seed: UInt64, epoch: Int, position: Int, height h: Int,
                   width w: Int) -> (rows: Range<Int>, columns: Range<Int>)? {
        guard cutout > 0 else { return nil }
        var rng = RandomSource(seed: seed, stream: [0xC07, UInt64(epoch), UInt64(position)])
        let cy = rng.nextInt(below: h), cx = rng.nextInt(below: w)
        let rows = max(0, cy - cutout / 2)..<min(h, cy - cutout / 2 + cutout)
        let columns = max(0, cx - cutout / 2)..<min(w, cx - cutout / 2 + cutout)
        return (rows, columns)
    }
}

/// Bilinear sampling along one axis as PyTorch's `interpolate(mode="bilinear",
/// align_corners=False)` reads `source` pixels resized to `resized`, of which `output` pixels
/// from `offset` are kept: output pixel `o` reads `source / resized * (o + offset + 0.5) - 0.5`
/// (clamped at 0), between pixels `first` and `second` of the source.
struct AxisSamples {
    var first: [Int32]
    var second: [Int32]
    var fraction: [Float]

    init(capacity: Int) {
        first = [Int32](repeating: 0, count: capacity)
        second = first
        fraction = [Float](repeating: 0, count: capacity)
    }

    /// `output` pixels read from the `source` pixels from `start` on, resized to `resized` (by
    /// default `output`) of which the `output` from `offset` are kept; mirrored with `flip`.
    mutating func set(output: Int, source: Int, start: Int = 0, resized: Int? = nil, offset: Int = 0,
                      flip: Bool = false) {
        let scale = Double(source) / Double(resized ?? output)
        for o in 0..<output {
            let real = max(0, scale * (Double(o + offset) + 0.5) - 0.5)
            let i0 = min(Int(real), source - 1), i1 = min(i0 + 1, source - 1)
            let at = flip ? output - 1 - o : o
            first[at] = Int32(start + i0)
            second[at] = Int32(start + i1)
            fraction[at] = Float(real - Double(i0))
        }
    }
}
