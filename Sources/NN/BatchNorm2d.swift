import Tensor

/// Sums per-channel statistics over all ranks (synchronised batch norm).
/// The closure reduces the buffer in place; nil means local statistics.
public typealias StatisticsReducer = (UnsafeMutableBufferPointer<Double>) -> Void

/// Batch normalisation over channel-major activations, PyTorch's semantics, in either
/// activation layout (`BatchNorm2d+Blocked.swift`: its output and input gradient take the input's).
///
/// Training normalises with the batch's biased variance and updates running
/// statistics with momentum 0.1 and the unbiased variance; evaluation uses the
/// running statistics. eps = 1e-5.
///
/// - weight, bias: (C) trained; running_mean, running_var, num_batches_tracked: buffers
public final class BatchNorm2d: Layer {
    /// The name of its parameters' prefix, e.g. `conv3`, `layer2.0`.
    public let name: String
    public let channels: Int
    public let momentum: Double = 0.1
    public let eps: Double = 1e-5
    public var needsInputGradient = true
    /// Whether backward writes the input gradient over the output gradient it is given (saves
    /// an activation-sized buffer per layer: resnet32 about 60 MB at batch 128). Off where the
    /// caller still needs that gradient afterwards (BasicBlock's second norm, whose output
    /// gradient also flows into the shortcut).
    public var overwritesOutputGradient = true
    /// Set to sum statistics over ranks (`--sync-batchnorm`).
    public var reducer: StatisticsReducer?
    let store: ParameterStore
    private let buffers: ParameterStore
    let weightOffset: Int, biasOffset: Int
    private let meanOffset: Int, varOffset: Int, trackedOffset: Int
    var input: Tensor?
    var trainingForward = true
    /// (C, B, H, W)
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// Its own, or a residual block's last norm's: the workspace's (`Workspace.blockNormGradient`).
    var inputGradient = Tensor(shape: [1, 1, 1, 1])
    /// Per channel: mean, 1/std of the last forward; and reduction scratch (2C + 1).
    var mean: [Double]
    var invStd: [Double]
    var scratch: [Double]
    /// The blocked layout's per-sample sums (2C per sample) and per-channel factors (5C).
    var blockedPartials: [Double] = []
    var blockedFactors: [Float] = []

    public init(_ name: String, channels: Int, store: ParameterStore, buffers: ParameterStore) {
        self.name = name
        self.channels = channels
        self.store = store
        self.buffers = buffers
        weightOffset = store.register("\(name).weight", shape: [channels], initializer: .ones)
        biasOffset = store.register("\(name).bias", shape: [channels], initializer: .zeros)
        meanOffset = buffers.register("\(name).running_mean", shape: [channels], initializer: .zeros)
        varOffset = buffers.register("\(name).running_var", shape: [channels], initializer: .ones)
        trackedOffset = buffers.register("\(name).num_batches_tracked", shape: [], initializer: .zeros)
        mean = Array(repeating: 0, count: channels)
        invStd = Array(repeating: 1, count: channels)
        scratch = Array(repeating: 0, count: 2 * channels + 1)
    }

    public var parameterOffset: Int? { weightOffset }

    /// - input: (C, B, H, W) -> (C, B, H, W)
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[0] == channels,
                     "BatchNorm2d(\(channels)) given input \(input.shape)")
        self.input = input
        trainingForward = training
        output.ensureShape(input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let n = input.count / channels
        let gamma = store.values + weightOffset, beta = store.values + biasOffset
        let runMean = buffers.values + meanOffset, runVar = buffers.values + varOffset

        output.layout = input.layout
        if training, input.layout != .plain {
            blockedMoments(input, shift: runMean)
        } else if training {
            // Per-channel sum and sum of squares (shifted by the running mean for accuracy).
            scratch.withUnsafeMutableBufferPointer { sums in
                let k = channels
                Parallel.forEach(k) { range in
                    for c in range {
                        let shift = runMean[c]
                        let (s, s2) = Kernels.shiftedMoments(input.data + c * n, count: n, shift: shift)
                        sums[c] = Double(s) + Double(shift) * Double(n)
                        sums[k + c] = Double(s2) + 2 * Double(shift) * Double(s) + Double(shift) * Double(shift)
                            * Double(n)
                    }
                }
            }
        }
        if training {
            scratch[2 * channels] = Double(n)
            if let reducer { scratch.withUnsafeMutableBufferPointer { reducer($0) } }
            let total = scratch[2 * channels]
            for c in 0..<channels {
                let m = scratch[c] / total
                let v = max(scratch[channels + c] / total - m * m, 0)
                mean[c] = m
                invStd[c] = 1 / (v + eps).squareRoot()
                runMean[c] = Float((1 - momentum) * Double(runMean[c]) + momentum * m)
                runVar[c] = Float((1 - momentum) * Double(runVar[c]) + momentum * v * total / max(total - 1, 1))
            }
            buffers.values[trackedOffset] += 1
        } else {
            for c in 0..<channels {
                mean[c] = Double(runMean[c])
                invStd[c] = 1 / (Double(runVar[c]) + eps).squareRoot()
            }
        }
        if input.layout != .plain {
            blockedNormalize(input, gamma: gamma, beta: beta)
            return output
        }
        let out = output.data
        mean.withUnsafeBufferPointer { mean in
            invStd.withUnsafeBufferPointer { invStd in
                Parallel.forEach(channels) { range in
                    for c in range {
                        let x = input.data + c * n, y = out + c * n
                        let scale = Float(Double(gamma[c]) * invStd[c])
                        let shift = beta[c] - Float(mean[c]) * scale
                        for i in 0..<n { y[i] = x[i] * scale + shift }
                    }
                }
            }
        }
        return output
    }

    /// - outputGradient: (C, B, H, W) -> (C, B, H, W)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("BatchNorm2d.backward before forward") }
        let n = input.count / channels
        precondition(outputGradient.layout == input.layout,
                     "BatchNorm2d \(name): output gradient in \(outputGradient.layout), input in \(input.layout)")
        let gamma = store.values + weightOffset
        let dGamma = store.gradients + weightOffset, dBeta = store.gradients + biasOffset
        // Per channel: sum(dy), sum(dy * xhat).
        let k = channels
        if input.layout != .plain { blockedGradientSums(outputGradient) } else { plainGradientSums(outputGradient) }
        // Parameter gradients are this rank's share; the gradient all-reduce sums them.
        let accumulate = store.accumulatesGradients
        for c in 0..<channels {
            dBeta[c] = Float(scratch[c]) + (accumulate ? dBeta[c] : 0)
            dGamma[c] = Float(scratch[channels + c]) + (accumulate ? dGamma[c] : 0)
        }
        var total = Double(n)
        if trainingForward, let reducer {
            scratch[2 * channels] = total
            scratch.withUnsafeMutableBufferPointer { reducer($0) }
            total = scratch[2 * channels]
        }
        guard needsInputGradient else { return outputGradient }
        // In place is safe: each element of dx depends on dy's element and the sums taken above.
        let result = overwritesOutputGradient ? outputGradient : inputGradient
        result.ensureShape(input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        result.layout = input.layout
        if input.layout != .plain {
            blockedInputGradient(outputGradient, total: total, into: result)
            return result
        }
        let training = trainingForward, dxAll = result.data
        mean.withUnsafeBufferPointer { mean in
            invStd.withUnsafeBufferPointer { invStd in
                scratch.withUnsafeBufferPointer { sums in
                    Parallel.forEach(k) { range in
                        for c in range {
                            let x = input.data + c * n, dy = outputGradient.data + c * n, dx = dxAll + c * n
                            let m = Float(mean[c]), inv = Float(invStd[c])
                            let g = gamma[c] * inv
                            if training {
                                let meanDy = Float(sums[c] / total), meanDyx = Float(sums[k + c] / total)
                                for i in 0..<n {
                                    let xhat = (x[i] - m) * inv
                                    dx[i] = g * (dy[i] - meanDy - xhat * meanDyx)
                                }
                            } else {
                                for i in 0..<n { dx[i] = g * dy[i] }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Per channel c, into `scratch`: sum(dy) at c, sum(dy * xhat) at C + c (plain layout).
    private func plainGradientSums(_ outputGradient: Tensor) {
        guard let input else { return }
        let n = input.count / channels, k = channels
        mean.withUnsafeBufferPointer { mean in
            invStd.withUnsafeBufferPointer { invStd in
                scratch.withUnsafeMutableBufferPointer { sums in
                    Parallel.forEach(k) { range in
                        for c in range {
                            let (sdy, sdyx) = Kernels.normalizedDot(outputGradient.data + c * n, input.data + c * n,
                                                                    count: n,
                                                                    mean: Float(mean[c]), invStd: Float(invStd[c]))
                            sums[c] = Double(sdy)
                            sums[k + c] = Double(sdyx)
                        }
                    }
                }
            }
        }
    }
}

extension BatchNorm2d {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
