import Tensor

/// A fully connected layer: `y = x W^T + b`, with PyTorch's weight layout; with class scales
/// (learnable weight scaling, Kang et al. 2020) `y = s * (x W^T + b)`, one scale per output.
///
/// - weight: (out, in); bias: (out); scales: (out)
public final class Linear: Layer {
    /// The name of its parameters' prefix, e.g. `conv3`, `layer2.0`.
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public let hasBias: Bool
    public var needsInputGradient = true
    private let store: ParameterStore
    private let weightOffset: Int
    private let biasOffset: Int
    /// Offset of the scales (`<name>.scales`, ones at first), nil without them.
    public let scalesOffset: Int?
    private var input: Tensor?
    /// With scales: the unscaled output (B, out) and the gradient that reaches it.
    private let unscaled = Tensor(shape: [1, 1]), unscaledGradient = Tensor(shape: [1, 1])
    /// (B, out)
    public let output = Tensor(shape: [1, 1])
    /// (B, in)
    private let inputGradient = Tensor(shape: [1, 1])

    public init(_ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, scales: Bool = false,
                store: ParameterStore) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
        self.store = store
        weightOffset = store.register("\(name).weight", shape: [outFeatures, inFeatures], initializer: .kaimingNormal)
        biasOffset = bias ? store.register("\(name).bias", shape: [outFeatures], initializer: .zeros) : -1
        scalesOffset = scales ? store.register("\(name).scales", shape: [outFeatures], initializer: .ones) : nil
    }

    public var parameterOffset: Int? { weightOffset }
    public var forwardFLOPs: Int { 2 * (input?.shape[0] ?? 0) * inFeatures * outFeatures }

    /// - input: (B, in) -> (B, out)
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let b = input.shape[0]
        precondition(input.count == b * inFeatures,
                     "Linear(\(inFeatures) -> \(outFeatures)) given input \(input.shape)")
        self.input = input
        output.ensureShape(b, outFeatures)
        let w = store.values + weightOffset
        if hasBias {
            let bias = store.values + biasOffset
            for i in 0..<b { (output.data + i * outFeatures).update(from: bias, count: outFeatures) }
        }
        BLAS.gemm(transB: true, m: b, n: outFeatures, k: inFeatures,
                  a: input.data, lda: inFeatures, b: w, ldb: inFeatures,
                  beta: hasBias ? 1 : 0, c: output.data, ldc: outFeatures)
        if let scalesOffset {
            let s = store.values + scalesOffset
            unscaled.ensureShape(b, outFeatures)
            unscaled.data.update(from: output.data, count: b * outFeatures)
            for i in 0..<b { for j in 0..<outFeatures { output.data[i * outFeatures + j] *= s[j] } }
        }
        return output
    }

    /// - outputGradient: (B, out) -> (B, in)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        let b = input.shape[0]
        var outputGradient = outputGradient
        if let scalesOffset {
            // ds_j = sum_i dy_ij (x W^T + b)_ij; the rest sees dy * s.
            let s = store.values + scalesOffset, ds = store.gradients + scalesOffset
            if !store.accumulatesGradients { ds.update(repeating: 0, count: outFeatures) }
            unscaledGradient.ensureShape(b, outFeatures)
            for i in 0..<b {
                for j in 0..<outFeatures {
                    let g = outputGradient.data[i * outFeatures + j]
                    ds[j] += g * unscaled.data[i * outFeatures + j]
                    unscaledGradient.data[i * outFeatures + j] = g * s[j]
                }
            }
            outputGradient = unscaledGradient
        }
        let dw = store.gradients + weightOffset
        // dW (out, in) += dY^T (out, B) x X (B, in)
        BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: b,
                  a: outputGradient.data, lda: outFeatures, b: input.data, ldb: inFeatures,
                  beta: store.accumulatesGradients ? 1 : 0, c: dw, ldc: inFeatures)
        if hasBias {
            let db = store.gradients + biasOffset
            if !store.accumulatesGradients { db.update(repeating: 0, count: outFeatures) }
            Kernels.accumulateColumnSums(outputGradient.data, rows: b, columns: outFeatures, into: db)
        }
        guard needsInputGradient else { return outputGradient }
        inputGradient.ensureShape(b, inFeatures)
        // dX (B, in) = dY (B, out) x W (out, in)
        BLAS.gemm(m: b, n: inFeatures, k: outFeatures,
                  a: outputGradient.data, lda: outFeatures, b: store.values + weightOffset, ldb: inFeatures,
                  c: inputGradient.data, ldc: inFeatures)
        return inputGradient
    }
}

extension Linear {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { false }
}
