import Settings
import Tensor

/// The arithmetic of the convolutions (`--precision`).
public enum Precision: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// float32 throughout.
    case fp32
    /// oneDNN's bfloat16 convolutions where they are faster than its float32 ones on this CPU,
    /// per convolution and pass (`ConvolutionPrecisionPlan`, measured before training): inputs,
    /// weights and incoming gradients rounded to bfloat16, products accumulated and written in
    /// float32; the weights themselves, the optimiser and every other layer stay float32 (mixed
    /// precision, as PyTorch's autocast).
    case bf16
    /// bf16's choice where oneDNN runs bfloat16 natively (AVX512_BF16, AMX), float32 elsewhere
    /// without measuring (emulated bfloat16 does not beat float32).
    case auto

    /// Whether a run in this precision measures which passes run bfloat16 (`auto` only where
    /// the CPU has native bfloat16).
    public var measures: Bool {
        switch self {
        case .fp32: false
        case .bf16: true
        case .auto: OneDNN.isAvailable && OneDNN.hasNativeBF16
        }
    }

    /// Why this machine cannot train in this precision (nil when it can): bf16 needs oneDNN with
    /// bfloat16 kernels (native on AVX512_BF16 or AMX, emulated on other AVX-512 CPUs; none on
    /// AVX2). `auto` always can.
    public var machineProblem: String? {
        guard self == .bf16 else { return nil }
        if !OneDNN.isAvailable { return "--precision bf16 runs on oneDNN's bfloat16 convolutions: \(OneDNN.status)" }
        if !OneDNN.isa.hasPrefix("avx512") {
            return "--precision bf16 needs oneDNN's bfloat16 convolutions, which run on AVX-512 CPUs (oneDNN runs " +
                   "\(OneDNN.isa) here); use --precision fp32, or auto"
        }
        return nil
    }
}
