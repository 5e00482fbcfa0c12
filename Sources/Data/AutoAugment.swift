import Settings
import Tensor

/// `--autoaugment`: torchvision's AutoAugment policies (Cubuk et al. 2019).
public enum AutoAugmentPolicy: String, Codable, CaseIterable, Sendable, OptionEnum {
    case cifar10, imagenet, svhn

    /// The 25 sub-policies: two (operation, probability, magnitude bin of 10) each.
    var subPolicies: [[(ImageOp, Double, Int?)]] {
        switch self {
        case .imagenet: [
            [(.posterize, 0.4, 8), (.rotate, 0.6, 9)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, nil)],
            [(.equalize, 0.8, nil), (.equalize, 0.6, nil)], [(.posterize, 0.6, 7), (.posterize, 0.6, 6)],
            [(.equalize, 0.4, nil), (.solarize, 0.2, 4)], [(.equalize, 0.4, nil), (.rotate, 0.8, 8)],
            [(.solarize, 0.6, 3), (.equalize, 0.6, nil)], [(.posterize, 0.8, 5), (.equalize, 1.0, nil)],
            [(.rotate, 0.2, 3), (.solarize, 0.6, 8)], [(.equalize, 0.6, nil), (.posterize, 0.4, 6)],
            [(.rotate, 0.8, 8), (.color, 0.4, 0)], [(.rotate, 0.4, 9), (.equalize, 0.6, nil)],
            [(.equalize, 0.0, nil), (.equalize, 0.8, nil)], [(.invert, 0.6, nil), (.equalize, 1.0, nil)],
            [(.color, 0.6, 4), (.contrast, 1.0, 8)], [(.rotate, 0.8, 8), (.color, 1.0, 2)],
            [(.color, 0.8, 8), (.solarize, 0.8, 7)], [(.sharpness, 0.4, 7), (.invert, 0.6, nil)],
            [(.shearX, 0.6, 5), (.equalize, 1.0, nil)], [(.color, 0.4, 0), (.equalize, 0.6, nil)],
            [(.equalize, 0.4, nil), (.solarize, 0.2, 4)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, nil)],
            [(.invert, 0.6, nil), (.equalize, 1.0, nil)], [(.color, 0.6, 4), (.contrast, 1.0, 8)],
            [(.equalize, 0.8, nil), (.equalize, 0.6, nil)],
        ]
        case .cifar10: [
            [(.invert, 0.1, nil), (.contrast, 0.2, 6)], [(.rotate, 0.7, 2), (.translateX, 0.3, 9)],
            [(.sharpness, 0.8, 1), (.sharpness, 0.9, 3)], [(.shearY, 0.5, 8), (.translateY, 0.7, 9)],
            [(.autoContrast, 0.5, nil), (.equalize, 0.9, nil)], [(.shearY, 0.2, 7), (.posterize, 0.3, 7)],
            [(.color, 0.4, 3), (.brightness, 0.6, 7)], [(.sharpness, 0.3, 9), (.brightness, 0.7, 9)],
            [(.equalize, 0.6, nil), (.equalize, 0.5, nil)], [(.contrast, 0.6, 7), (.sharpness, 0.6, 5)],
            [(.color, 0.7, 7), (.translateX, 0.5, 8)], [(.equalize, 0.3, nil), (.autoContrast, 0.4, nil)],
            [(.translateY, 0.4, 3), (.sharpness, 0.2, 6)], [(.brightness, 0.9, 6), (.color, 0.2, 8)],
            [(.solarize, 0.5, 2), (.invert, 0.0, nil)], [(.equalize, 0.2, nil), (.autoContrast, 0.6, nil)],
            [(.equalize, 0.2, nil), (.equalize, 0.6, nil)], [(.color, 0.9, 9), (.equalize, 0.6, nil)],
            [(.autoContrast, 0.8, nil), (.solarize, 0.2, 8)], [(.brightness, 0.1, 3), (.color, 0.7, 0)],
            [(.solarize, 0.4, 5), (.autoContrast, 0.9, nil)], [(.translateY, 0.9, 9), (.translateY, 0.7, 9)],
            [(.autoContrast, 0.9, nil), (.solarize, 0.8, 3)], [(.equalize, 0.8, nil), (.invert, 0.1, nil)],
            [(.translateY, 0.7, 9), (.autoContrast, 0.9, nil)],
        ]
        case .svhn: [
            [(.shearX, 0.9, 4), (.invert, 0.2, nil)], [(.shearY, 0.9, 8), (.invert, 0.7, nil)],
            [(.equalize, 0.6, nil), (.solarize, 0.6, 6)], [(.invert, 0.9, nil), (.equalize, 0.6, nil)],
            [(.equalize, 0.6, nil), (.rotate, 0.9, 3)], [(.shearX, 0.9, 4), (.autoContrast, 0.8, nil)],
            [(.shearY, 0.9, 8), (.invert, 0.4, nil)], [(.shearY, 0.9, 5), (.solarize, 0.2, 6)],
            [(.invert, 0.9, nil), (.autoContrast, 0.8, nil)], [(.equalize, 0.6, nil), (.rotate, 0.9, 3)],
            [(.shearX, 0.9, 4), (.solarize, 0.3, 3)], [(.shearY, 0.8, 8), (.invert, 0.7, nil)],
            [(.equalize, 0.9, nil), (.translateY, 0.6, 6)], [(.invert, 0.9, nil), (.equalize, 0.6, nil)],
            [(.contrast, 0.3, 3), (.rotate, 0.8, 4)], [(.invert, 0.8, nil), (.translateY, 0.0, 2)],
            [(.shearY, 0.7, 6), (.solarize, 0.4, 8)], [(.invert, 0.6, nil), (.rotate, 0.8, 4)],
            [(.shearY, 0.3, 7), (.translateX, 0.9, 3)], [(.shearX, 0.1, 6), (.invert, 0.6, nil)],
            [(.solarize, 0.7, 2), (.translateY, 0.6, 7)], [(.shearY, 0.8, 4), (.invert, 0.8, nil)],
            [(.shearX, 0.7, 9), (.translateY, 0.8, 3)], [(.shearY, 0.8, 5), (.autoContrast, 0.7, nil)],
            [(.shearX, 0.7, 2), (.invert, 0.1, nil)],
        ]
        }
    }
}

/// `--randaugment N,M`: N operations drawn uniformly from torchvision's 14, each at bin M of 31
/// (Cubuk et al. 2020).
public struct RandAugmentSetting: OptionValue, Hashable {
    public var operations: Int
    public var magnitude: Int

    public init(operations: Int, magnitude: Int) {
        self.operations = operations
        self.magnitude = magnitude
    }

    public static func parse(_ values: [String]) -> RandAugmentSetting? {
        guard values.count == 1 else { return nil }
        let parts = values[0].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let n = parts[0], let m = parts[1] else { return nil }
        return RandAugmentSetting(operations: n, magnitude: m)
    }

    public static var expected: String { "N,M: operations per image and a magnitude bin, such as 2,9" }
    public var text: String { "\(operations),\(magnitude)" }

    public var problem: String? {
        operations >= 1 && operations <= 16 && magnitude >= 0 && magnitude <= 30 ? nil
            : "must be N,M with N in 1...16 and M in 0...30, got \(text)"
    }

    static let bins = 31
    /// torchvision's RandAugment operations, in its order.
    static let space: [ImageOp] = [.identity, .shearX, .shearY, .translateX, .translateY, .rotate, .brightness,
                                   .color, .contrast, .sharpness, .posterize, .solarize, .autoContrast, .equalize]
}

extension Options {
    public var autoAugment: Option<AutoAugmentPolicy?> {
        Option("autoaugment", nil,
               "torchvision's AutoAugment policy for training images (after the crop and flip of --augment): one " +
               "of two operations' sub-policies at random per image, as torchvision computes them on bytes.",
               defaultText: "none")
    }
    public var randAugment: Option<RandAugmentSetting?> {
        Option("randaugment", nil,
               "torchvision's RandAugment: N operations of its 14 per training image at magnitude bin M of 31 " +
               "(timm and the long-tail papers use 2,9 to 2,10).", defaultText: "none",
               check: OptionCheck { $0?.problem })
    }
}

/// The per-image policy of `--autoaugment` or `--randaugment`, seeded by (seed, epoch, sample).
public enum ImagePolicy: Sendable, Equatable {
    case auto(AutoAugmentPolicy)
    case rand(RandAugmentSetting)

    /// Applies the policy's draws for the sample at `position` to `image` (C x H x W bytes).
    func apply(_ image: UnsafeMutablePointer<UInt8>, channels c: Int, height h: Int, width w: Int, seed: UInt64,
               epoch: Int, position: Int, scratch: UnsafeMutablePointer<UInt8>) {
        var rng = RandomSource(seed: seed, stream: [0xAA0, UInt64(epoch), UInt64(position)])
        func run(_ op: ImageOp, bin: Int?, bins: Int) {
            var m = bin.map { op.magnitude(bin: $0, bins: bins, height: h, width: w) } ?? 0
            if op.signed, rng.nextInt(below: 2) == 0 { m = -m }
            op.apply(image, channels: c, height: h, width: w, magnitude: m, scratch: scratch)
        }
        switch self {
        case .auto(let policy):
            let pair = policy.subPolicies[rng.nextInt(below: policy.subPolicies.count)]
            for (op, probability, bin) in pair where rng.nextDouble() <= probability {
                run(op, bin: bin, bins: 10)
            }
        case .rand(let setting):
            for _ in 0..<setting.operations {
                let op = RandAugmentSetting.space[rng.nextInt(below: RandAugmentSetting.space.count)]
                run(op, bin: op.hasMagnitude ? setting.magnitude : nil, bins: RandAugmentSetting.bins)
            }
        }
    }
}

extension ImageOp {
    /// Whether the operation takes a magnitude.
    var hasMagnitude: Bool { ![.identity, .autoContrast, .equalize, .invert].contains(self) }
}
