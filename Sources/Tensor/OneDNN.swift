import COneDNN

/// oneDNN (Intel's deep-learning kernel library, what PyTorch runs for CPU convolutions),
/// loaded at run time: present, it runs the convolutions; absent, the im2col + OpenBLAS path
/// does (`ConvolutionBackend`).
public enum OneDNN {
    /// The instruction set, read once (it cannot change while the process runs).
    static let dispatchedISA = String(cString: ddp_onednn_isa())

    /// Whether oneDNN 2.x was found and works on this machine.
    public static var isAvailable: Bool { ddp_onednn_load() != 0 }

    /// "oneDNN 2.6.3", or why it is not used.
    public static var status: String { String(cString: ddp_onednn_status()) }

    /// The instruction set its kernels dispatch to (`avx512_core`, `avx2`, ...; `none`).
    /// `ONEDNN_MAX_CPU_ISA` in the environment lowers it.
    public static var isa: String { dispatchedISA }

    /// Whether its kernels run bfloat16 natively (AVX512_BF16 or AMX), not emulated.
    public static var hasNativeBF16: Bool { isa == "avx512_core_bf16" || isa == "avx512_core_amx" }

    /// Off: oneDNN's reorders convert every bfloat16 input, not the program's conversion
    /// (`OneDNNConvolution.programConversions`; the same bits, slower). For tests.
    static func setProgramConversions(_ on: Bool) { ddp_conv_set_fast_conversions(on ? 1 : 0) }

    /// OpenMP threads of its primitives; `BLASRuntime.setThreads` sets them with BLAS's.
    static func setThreads(_ count: Int) {
        guard isAvailable else { return }
        ddp_onednn_set_threads(Int32(count))
    }
}

/// One convolution in oneDNN for one input shape: forward, and backward to the weights and input.
///
/// Activations are (C, B, H, W) and weights (O, I / groups, k, k), as in `Conv2d`; the primitives run in
/// the blocked formats oneDNN prefers, with reorders in and out, all inside the workspace the
/// caller passes (at least `workspaceFloats`): no allocation per call.
public final class OneDNNConvolution {
    private let handle: OpaquePointer
    /// Floats of workspace each call needs.
    public let workspaceFloats: Int

    /// Whether Winograd's F(4x4, 3x3) runs this convolution rather than the direct one: oneDNN
    /// has it for AVX-512 only, and it pays from 32 channels in and out (one core, forward +
    /// backward data + backward weights on blocked activations: batch 128 at 7 x 7, 64 -> 64
    /// 10.6 -> 6.7 ms, 64 -> 128 25.4 -> 15.4 ms; batch 64 at 14 x 14, 32 -> 32 7.7 -> 5.9 ms;
    /// 16 -> 16 at 28 x 28 slower, 8.0 -> 8.2-8.9 ms). It rounds differently from the direct
    /// convolution (relative differences about 1e-5).
    public static func prefersWinograd(inChannels: Int, outChannels: Int, kernel: Int, stride: Int) -> Bool {
        kernel == 3 && stride == 1 && inChannels >= 32 && outChannels >= 32 && OneDNN.isa.hasPrefix("avx512")
    }

    /// Whether a convolution runs Winograd's algorithm: where `prefersWinograd` says, ungrouped
    /// and float32 throughout (oneDNN has it in float32 only, for the three passes together).
    public static func runsWinograd(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, groups: Int,
                                    bfloat16: ConvolutionPasses) -> Bool {
        groups == 1 && bfloat16.isEmpty
            && prefersWinograd(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride)
    }

    /// nil, with the reason in `error`, when oneDNN is missing or cannot run this shape.
    /// - bfloat16: the passes that read x, the weights and dy as bfloat16 (float32 in and out;
    ///   direct, never Winograd, when there is one)
    /// - batchStride: the activations' batch (at least `batch`) when these `batch` samples are a run
    ///   of it; x, y, dy and dx then point at the run's first sample.
    /// - singleThreaded: planned for one thread (a part of a batch split over threads).
    /// - groups: input and output channels in that many groups (ResNeXt), never Winograd.
    /// - winograd: false keeps the direct convolution where `prefersWinograd` would take Winograd's.
    /// - inputLayout, outputLayout: of x and dx, and of y and dy (`plain` or oneDNN's `blocked`;
    ///   a blocked run of samples is contiguous, `batchStride` then plays no part).
    public init?(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int,
                 padding: Int, groups: Int = 1, bias: Bool, bfloat16: ConvolutionPasses = [], batchStride: Int? = nil,
                 singleThreaded: Bool = false, winograd allowed: Bool = true,
                 inputLayout: ActivationLayout = .plain, outputLayout: ActivationLayout = .plain,
                 error: inout String) {
        var message = [CChar](repeating: 0, count: 256)
        let winograd = allowed && Self.runsWinograd(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                                    stride: stride, groups: groups, bfloat16: bfloat16)
        guard let made = ddp_conv_create(Int32(batch), Int32(batchStride ?? batch), Int32(inChannels),
                                         Int32(outChannels),
                                         Int32(height), Int32(width), Int32(kernel), Int32(stride), Int32(padding),
                                         Int32(groups), bias ? 1 : 0,
                                         winograd ? 1 : 0, Int32(bfloat16.rawValue), singleThreaded ? 1 : 0,
                                         Int32(inputLayout.block), Int32(outputLayout.block), &message, message.count)
        else {
            error = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return nil
        }
        handle = made
        workspaceFloats = ddp_conv_workspace_floats(made)
    }

    deinit { ddp_conv_destroy(handle) }

    /// The implementations oneDNN chose: forward, backward data, backward weights
    /// (`jit:avx512_core`, `brgconv:avx512_core`, ...).
    public var implementations: [String] { (0..<3).map { String(cString: ddp_conv_implementation(handle, Int32($0))) } }

    /// How many of its bfloat16 inputs (x forward, x and dy backward) the program converts
    /// itself, faster than oneDNN 2.6's reorder (where the CPU has AVX512_BF16); 0 in float32.
    public var programConversions: Int { Int(ddp_conv_program_conversions(handle)) }

    /// Once it has run backward, a bfloat16 forward keeps its converted x for the next backward
    /// (which reads that copy, not x: one conversion fewer per step). A forward computed elsewhere must
    /// call this first.
    public func forgetInput() { ddp_conv_forget_input(handle) }

    /// - x: (inC, B, H, W), weights: (outC, inC / groups, k, k), bias: (outC) or nil -> y: (outC, B, OH, OW).
    /// Returns false when oneDNN failed (nothing is then promised about y).
    public func forward(x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) -> Bool {
        ddp_conv_forward(handle, x, weights, bias, y, workspace) == 0
    }

    /// dW (outC, inC / groups, k, k) = dL/dW (overwritten, or added to with `accumulate`), and dx (inC, B, H, W)
    /// = dL/dx (overwritten) unless it is nil. Returns false when oneDNN failed.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                         dw: UnsafeMutablePointer<Float>, accumulate: Bool, dx: UnsafeMutablePointer<Float>?,
                         workspace: UnsafeMutablePointer<Float>) -> Bool {
        ddp_conv_backward(handle, x, dy, weights, dw, accumulate ? 1 : 0, dx, workspace) == 0
    }
}
