import Foundation
import Tensor

/// The last layer of a margin head (ArcFace, CosFace, SphereFace, sub-center ArcFace):
/// cosines between the normalised features and the normalised columns of `W`.
///
/// `W` is (D, K*S) in pytorch-metric-learning's layout (column `c*S + s` is sub-centre `s`
/// of class `c`), registered as `head.W`. The output is (B, K): each class's largest
/// cosine over its S columns (the prediction is its argmax); `backward` sends a class's
/// gradient to the column that won. The margin and the scale belong to the loss.
public final class CosineClassifier: Layer {
    /// The name of its parameters' prefix, e.g. `conv3`, `layer2.0`.
    public let name: String
    public let inFeatures: Int
    public let classes: Int
    public let subCenters: Int
    public var needsInputGradient = true
    private let store: ParameterStore
    private let weightOffset: Int
    /// (B, K)
    public let output = Tensor(shape: [1, 1])
    /// Unit-length input rows (B, D) and their norms (B).
    private let unitInput = Tensor(shape: [1, 1])
    private let inputNorms = Tensor(shape: [1, 1])
    /// Unit-length columns of W (D, K*S) and their norms (K*S).
    private let unitWeight: Tensor
    private let weightNorms: Tensor
    /// All cosines (B, K*S) and the winning column of each output (B, K).
    private let cosines = Tensor(shape: [1, 1])
    private var winners: [Int32] = []
    private let columnGradient = Tensor(shape: [1, 1])
    private let unitGradient = Tensor(shape: [1, 1])
    private let weightUnitGradient: Tensor
    private let inputGradient = Tensor(shape: [1, 1])

    /// Norms below this count as this (F.normalize's epsilon).
    static let epsilon: Float = 1e-12

    public init(_ name: String, inFeatures: Int, classes: Int, subCenters: Int, store: ParameterStore) {
        self.name = name
        self.inFeatures = inFeatures
        self.classes = classes
        self.subCenters = subCenters
        self.store = store
        let columns = classes * subCenters
        weightOffset = store.register("\(name).W", shape: [inFeatures, columns], initializer: .standardNormal)
        unitWeight = Tensor(shape: [inFeatures, columns])
        weightNorms = Tensor(shape: [columns])
        weightUnitGradient = Tensor(shape: [inFeatures, columns])
    }

    public var parameterOffset: Int? { weightOffset }
    public var forwardFLOPs: Int { 2 * cosines.count * inFeatures }
    private var columns: Int { classes * subCenters }

    /// - input: (B, D) -> cosines (B, K)
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let b = input.shape[0], d = inFeatures, n = columns, s = subCenters
        precondition(input.count == b * d, "CosineClassifier(\(d) -> \(classes)) given input \(input.shape)")
        unitInput.ensureShape(b, d)
        inputNorms.ensureShape(b, 1)
        Self.normalizeRows(input.data, rows: b, columns: d, into: unitInput.data, norms: inputNorms.data)
        // Columns of W to unit length.
        let w = store.values + weightOffset
        for c in 0..<n {
            var sum: Float = 0
            for j in 0..<d { sum += w[j * n + c] * w[j * n + c] }
            let norm = max(sum.squareRoot(), Self.epsilon)
            weightNorms.data[c] = norm
            for j in 0..<d { unitWeight.data[j * n + c] = w[j * n + c] / norm }
        }
        cosines.ensureShape(b, n)
        BLAS.gemm(m: b, n: n, k: d, a: unitInput.data, lda: d, b: unitWeight.data, ldb: n, c: cosines.data, ldc: n)
        output.ensureShape(b, classes)
        if winners.count < b * classes { winners = [Int32](repeating: 0, count: b * classes) }
        for i in 0..<b {
            for c in 0..<classes {
                var best = c * s
                for sub in 1..<max(s,
                                   1) where cosines.data[i * n + c * s + sub] > cosines.data[i * n + best] { best = c
                                   * s + sub }
                winners[i * classes + c] = Int32(best)
                output.data[i * classes + c] = cosines.data[i * n + best]
            }
        }
        return output
    }

    /// - outputGradient: dL/dcos (B, K) -> dL/dinput (B, D)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        let b = unitInput.shape[0], d = inFeatures, n = columns
        columnGradient.ensureShape(b, n)
        columnGradient.fill(0)
        for i in 0..<b {
            for c in 0..<classes { columnGradient.data[i * n + Int(winners[i * classes + c])] = outputGradient.data[i
                * classes + c] }
        }
        // Through the unit columns: dWn (D, K*S) = E^T (D, B) x dCos (B, K*S), then the normalisation.
        BLAS.gemm(transA: true, m: d, n: n, k: b, a: unitInput.data, lda: d, b: columnGradient.data, ldb: n,
                  c: weightUnitGradient.data, ldc: n)
        let dw = store.gradients + weightOffset
        let accumulate = store.accumulatesGradients
        for c in 0..<n {
            var dot: Float = 0
            for j in 0..<d { dot += unitWeight.data[j * n + c] * weightUnitGradient.data[j * n + c] }
            let inv = 1 / weightNorms.data[c]
            for j in 0..<d {
                let g = (weightUnitGradient.data[j * n + c] - unitWeight.data[j * n + c] * dot) * inv
                dw[j * n + c] = accumulate ? dw[j * n + c] + g : g
            }
        }
        guard needsInputGradient else { return outputGradient }
        // dE (B, D) = dCos (B, K*S) x Wn^T, then through the row normalisation.
        unitGradient.ensureShape(b, d)
        BLAS.gemm(transB: true, m: b, n: d, k: n, a: columnGradient.data, lda: n, b: unitWeight.data, ldb: n,
                  c: unitGradient.data, ldc: d)
        inputGradient.ensureShape(b, d)
        for i in 0..<b {
            let e = unitInput.data + i * d, g = unitGradient.data + i * d
            var dot: Float = 0
            for j in 0..<d { dot += e[j] * g[j] }
            let inv = 1 / inputNorms.data[i]
            for j in 0..<d { inputGradient.data[i * d + j] = (g[j] - e[j] * dot) * inv }
        }
        return inputGradient
    }

    /// Rows to unit length (divided by max(norm, epsilon)) and their norms.
    static func normalizeRows(_ x: UnsafePointer<Float>, rows: Int, columns d: Int,
                              into out: UnsafeMutablePointer<Float>,
                              norms: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            var sum: Float = 0
            for j in 0..<d { sum += x[i * d + j] * x[i * d + j] }
            let norm = max(sum.squareRoot(), epsilon)
            norms[i] = norm
            for j in 0..<d { out[i * d + j] = x[i * d + j] / norm }
        }
    }
}

extension CosineClassifier {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { false }
}
