import Foundation

/// How many parts a convolution's batch is split into, one per thread of the rank
/// (`OneDNNSplitConvolution`): a part per thread when every part gets at least
/// `minimumPerPart` samples, else one set of primitives on all the threads.
/// `DDP_TRAIN_CONV_SPLIT=0` keeps one set always (to compare).
public enum ConvolutionSplit {
    /// Fewer samples per thread than this run as one (explanations' single images, small batches).
    public static let minimumPerPart = 8

    static let disabled = ProcessInfo.processInfo.environment["DDP_TRAIN_CONV_SPLIT"] == "0"

    /// Parts for a batch of `batch` samples on `threads` threads.
    public static func parts(batch: Int, threads: Int) -> Int {
        guard !disabled, threads > 1, batch >= threads * minimumPerPart else { return 1 }
        return threads
    }
}
