import Testing
import Tensor
@testable import NN

/// Random values in [-1, 1) from a seed.
func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in (rng.nextUniform() * 2 - 1) * scale }
}

/// Largest |p - q| over the largest |q|: the error of a bfloat16 result against float32's. Not
/// each value's own size: a weight gradient sums hundreds of products, and where they cancel its
/// size says nothing of the rounding.
func errorOfLargest(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int) -> Float {
    var d: Float = 0, m: Float = 0
    for i in 0..<n { d = max(d, abs(p[i] - q[i])); m = max(m, abs(q[i])) }
    return d / max(m, 1e-30)
}

/// `sum_i a[i] * b[i]` in double precision.
func dotDouble(_ a: UnsafePointer<Float>, _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<b.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// The central difference `(loss(x + h e_i) - loss(x - h e_i)) / 2h`, leaving the point as it was.
func centralDifference(_ point: UnsafeMutablePointer<Float>, _ i: Int, step: Float, loss: () -> Double) -> Double {
    let saved = point[i]
    point[i] = saved + step
    let plus = loss()
    point[i] = saved - step
    let minus = loss()
    point[i] = saved
    return (plus - minus) / (2 * Double(step))
}

/// Relative error of a numeric derivative against the analytic one, floored at 5% of the gradient's scale.
func relativeError(_ numeric: Double, _ analytic: Float, scale: Double) -> Double {
    abs(numeric - Double(analytic)) / max(abs(numeric), abs(Double(analytic)), 0.05 * scale)
}

/// Compares an analytic gradient with central differences of a scalar function at chosen coordinates.
///
/// - point: the floats being perturbed
/// - analytic: the gradient backward gave for them
/// - loss: re-evaluates the scalar loss (double precision) at the current point
func expectGradientsMatch(_ label: String, point: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
                          coordinates: Int = 24, eps: Float = 1e-2, tolerance: Double = 2e-2,
                          sourceLocation: SourceLocation = #_sourceLocation, loss: () -> Double) {
    var rng = RandomSource(seed: UInt64(count) &* 31 &+ 7)
    let picks = count <= coordinates ? Array(0..<count) : (0..<coordinates).map { _ in rng.nextInt(below: count) }
    let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
    var worst = 0.0
    for i in picks {
        let numeric = centralDifference(point, i, step: eps, loss: loss)
        let error = relativeError(numeric, analytic[i], scale: scale)
        worst = max(worst, error)
        #expect(error <= tolerance, "\(label)[\(i)]: analytic \(analytic[i]), numeric \(numeric)",
                sourceLocation: sourceLocation)
    }
    #expect(worst <= tolerance, "\(label): worst relative error \(worst)", sourceLocation: sourceLocation)
}

/// Gradient check of one layer: the loss is `sum(forward(x) * r)` for a fixed random `r`.
func checkLayer(_ label: String, _ layer: Layer, store: ParameterStore?, input: Tensor, training: Bool = true,
                eps: Float = 1e-2,
                checkInput: Bool = true, tolerance: Double = 2e-2, sourceLocation: SourceLocation = #_sourceLocation) {
    let out = layer.forward(input, training: training)
    let r = randomValues(out.count, seed: 99)
    let dy = Tensor(shape: out.shape, values: r)
    store?.zeroGradients()
    let dx = layer.backward(dy)
    let inputGradient = dx.array
    let parameterGradient = store.map { $0.gradientArray } ?? []
    let loss = { dotDouble(layer.forward(input, training: training).data, r) }
    if checkInput {
        expectGradientsMatch("\(label) input", point: input.data, count: input.count, analytic: inputGradient,
                             eps: eps, tolerance: tolerance, sourceLocation: sourceLocation, loss: loss)
    }
    if let store, store.count > 0 {
        expectGradientsMatch("\(label) parameters", point: store.values, count: store.count,
                             analytic: parameterGradient,
                             eps: eps, tolerance: tolerance, sourceLocation: sourceLocation, loss: loss)
    }
}

/// Per-coordinate check for networks with ReLUs behind batch norm, where a
/// finite step sometimes crosses a kink and that coordinate's difference is
/// meaningless. A coordinate that disagrees at `eps` is tried again with
/// steps 3x and 10x smaller (a kink falls out of a smaller step; a wrong
/// gradient does not). At least `quorum` of the sampled coordinates must then
/// agree within `tolerance`, and the median error must be a third of it.
func expectMostGradientsMatch(_ label: String, point: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
                              coordinates: Int = 48, eps: Float = 1e-3, tolerance: Double = 3e-2, quorum: Double = 0.95,
                              sourceLocation: SourceLocation = #_sourceLocation, loss: () -> Double) {
    var rng = RandomSource(seed: UInt64(count) &* 17 &+ 3)
    let picks = (0..<coordinates).map { _ in rng.nextInt(below: count) }
    let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
    var errors: [Double] = []
    for i in picks {
        var best = Double.infinity
        for step in [eps, eps / 3, eps / 10] where best > tolerance {
            best = min(best,
                       relativeError(centralDifference(point, i, step: step, loss: loss), analytic[i], scale: scale))
        }
        errors.append(best)
    }
    let agreeing = Double(errors.filter { $0 <= tolerance }.count) / Double(errors.count)
    let median = errors.sorted()[errors.count / 2]
    #expect(agreeing >= quorum,
            "\(label): only \(agreeing * 100)% of coordinates agree; errors \(errors.sorted().suffix(5))",
            sourceLocation: sourceLocation)
    #expect(median <= tolerance / 3, "\(label): median relative error \(median)", sourceLocation: sourceLocation)
}
