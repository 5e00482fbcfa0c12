import Foundation

/// How many parts a convolution's batch is split into, one per thread of the rank
/// (`OneDNNSplitConvolution`): a part per thread when every part gets at least
/// `minimumPerPart` samples, else one set of primitives on all the threads. Winograd's
/// convolutions stay whole: oneDNN's threads share their transforms better than parts do
/// (bench --profile, Zen 4, cnn's 64 -> 128 layer on 2 threads: 4.0-4.5 + 8.2-8.5 ms forward
/// and backward whole, 5.5-6.1 + 9.4-9.6 split; its 32 -> 64 direct layer 6.3-7.1 + 11.4-12.8
/// whole, 5.8 + 10.2-10.7 split). `DDP_TRAIN_CONV_SPLIT=0` keeps one set always (to compare).
public enum ConvolutionSplit {
    /// Fewer samples per thread than this run as one (explanations' single images, small batches).
    public static let minimumPerPart = 8

    static let disabled = ProcessInfo.processInfo.environment["DDP_TRAIN_CONV_SPLIT"] == "0"

    /// Parts for a batch of `batch` samples on `threads` threads.
    public static func parts(batch: Int, threads: Int, winograd: Bool) -> Int {
        guard !disabled, !winograd, threads > 1, batch >= threads * minimumPerPart else { return 1 }
        return threads
    }
}
