import Tensor
import Testing
@testable import NN

/// Max pooling in evaluation mode sends the gradient to the first element within rounding of
/// the maximum (ties in exact arithmetic), in training mode to the exact maximum.
@Suite struct MaxPoolTieTests {
    func gradient(_ values: [Float], training: Bool) -> (output: Float, gradient: [Float]) {
        let pool = MaxPool2d(kernel: 2)
        let input = Tensor(shape: [1, 1, 2, 2], values: values)
        let output = pool.forward(input, training: training)
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 1], values: [1]))
        return (output.data[0], Array(dx.buffer))
    }

    @Test func nearTiesGoToTheFirstInEvaluation() {
        let top = Float(1).nextUp
        let values: [Float] = [0.5, 1.0, 0.2, top]  // 1.0 and the next float: one ulp apart
        let eval = gradient(values, training: false)
        #expect(eval.output == top)  // the output stays the exact maximum
        #expect(eval.gradient == [0, 1, 0, 0])
        let train = gradient(values, training: true)
        #expect(train.output == top)
        #expect(train.gradient == [0, 0, 0, 1])
        // Values apart by more than rounding keep the true maximum in both modes.
        #expect(gradient([0.5, 1.0, 0.2, 1.01], training: false).gradient == [0, 0, 0, 1])
    }
}
