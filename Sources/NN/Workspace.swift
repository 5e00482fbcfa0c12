import Tensor

/// Scratch memory shared by the layers of one model: a chunk of convolution columns, and the
/// convolutions' input gradients.
public final class Workspace {
    /// Floats of columns per chunk: small enough to stay in cache between the unfolding and
    /// the product that reads it (bench: resnet32 and cnn steps about 20% faster than with
    /// whole-batch columns), 2 MB per thread: with several threads each product is split, and
    /// fewer, larger calls cost less synchronisation (resnet32 on two threads +5-10%).
    public var chunkFloats: Int { fixedChunkFloats ?? (1 << 19) * max(1, Parallel.threads) }
    private let fixedChunkFloats: Int?
    private let storage = Tensor(shape: [1])

    /// - chunkFloats: a fixed chunk size (tests), instead of one that follows the rank's threads.
    public init(chunkFloats: Int? = nil) {
        fixedChunkFloats = chunkFloats
    }

    /// At least `count` floats, valid until the next call by any layer.
    public func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        if storage.capacity < count { storage.reshape([count]) }
        return storage.data
    }

    /// Three buffers the convolutions' input gradients take in turn, instead of one per layer
    /// (resnet50 at 224 px: 43 MB a sample). A layer's input gradient is read by the layers
    /// before it before two more convolutions have run backward (a residual block holds its
    /// first convolution's while its shortcut's runs), so three never collide.
    private let gradients = [Tensor(shape: [1, 1, 1, 1]), Tensor(shape: [1, 1, 1, 1]), Tensor(shape: [1, 1, 1, 1])]
    /// The gradient of a residual block's sum, which the block reads from its start to its end of
    /// backward; one for all blocks: a block's backward ends before the one before it starts.
    let blockSumGradient = Tensor(shape: [1, 1, 1, 1])
    /// The input gradient of a residual block's last batch norm (which cannot overwrite the sum's
    /// gradient: the shortcut reads it too), read at once by the convolution before it; one for
    /// all blocks, as the sum's.
    let blockNormGradient = Tensor(shape: [1, 1, 1, 1])
    /// The sum's gradient in the block's inner layout (`BasicBlock.innerLayout`), where it is
    /// blocked; one for all blocks, as the sum's.
    let blockedSumGradient = Tensor(shape: [1, 1, 1, 1])
    private var nextGradient = 0

    /// The next input-gradient buffer in turn, shaped (c, b, h, w), never `avoiding` (the output
    /// gradient the convolution reads).
    func inputGradient(_ c: Int, _ b: Int, _ h: Int, _ w: Int, avoiding: Tensor) -> Tensor {
        var t = gradients[nextGradient]
        nextGradient = (nextGradient + 1) % gradients.count
        if t === avoiding {
            t = gradients[nextGradient]
            nextGradient = (nextGradient + 1) % gradients.count
        }
        t.ensureShape(c, b, h, w)
        return t
    }
}
