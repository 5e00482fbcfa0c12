import Settings
import Tensor

/// The arithmetic of the convolutions (`--precision`).
public enum Precision: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// float32 throughout.
    case fp32
    /// oneDNN's bfloat16 convolutions: inputs, weights and incoming gradients rounded to
    /// bfloat16, products accumulated and written in float32; the weights themselves, the
    /// optimiser and every other layer stay float32 (mixed precision, as PyTorch's autocast).
    case bf16

    /// Why this machine cannot train in this precision (nil when it can): bfloat16 needs oneDNN
    /// dispatching to a CPU with AVX512_BF16 (or AMX); oneDNN would emulate it on other AVX-512
    /// CPUs, more slowly than float32.
    public var machineProblem: String? {
        guard self == .bf16 else { return nil }
        if !OneDNN.isAvailable { return "--precision bf16 runs on oneDNN's bfloat16 convolutions: \(OneDNN.status)" }
        if !OneDNN.hasNativeBF16 {
            return "--precision bf16 needs a CPU with AVX512_BF16 (oneDNN runs \(OneDNN.isa) here, without it: " +
                   "bfloat16 would be emulated, if at all, more slowly than float32); use --precision fp32"
        }
        return nil
    }
}
