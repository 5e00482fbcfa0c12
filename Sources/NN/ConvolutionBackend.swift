import Settings
import Tensor

/// What runs the convolutions of `Conv2d`.
public enum ConvolutionBackend: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// oneDNN when it is there (`OneDNN.isAvailable`), otherwise im2col.
    case auto
    /// oneDNN's convolutions in blocked formats (forward, backward data, backward weights): direct,
    /// or Winograd where `OneDNNConvolution.prefersWinograd`.
    case onednn
    /// Unfolding (im2col) and OpenBLAS sgemm: the reference, and the fallback without oneDNN.
    case im2col

    /// `auto` resolved on this machine: `.onednn` or `.im2col`.
    public var resolved: ConvolutionBackend {
        switch self {
        case .auto: return OneDNN.isAvailable ? .onednn : .im2col
        case .onednn, .im2col: return self
        }
    }
}
