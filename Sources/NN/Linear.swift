import Tensor

/// A fully connected layer: `y = x W^T + b`, with PyTorch's weight layout.
///
/// - weight: (out, in); bias: (out)
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
    private var input: Tensor?
    /// (B, out)
    public let output = Tensor(shape: [1, 1])
    /// (B, in)
    private let inputGradient = Tensor(shape: [1, 1])

    public init(_ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, store: ParameterStore) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
        self.store = store
        weightOffset = store.register("\(name).weight", shape: [outFeatures, inFeatures], initializer: .kaimingNormal)
        biasOffset = bias ? store.register("\(name).bias", shape: [outFeatures], initializer: .zeros) : -1
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
        return output
    }

    /// - outputGradient: (B, out) -> (B, in)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        let b = input.shape[0]
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
