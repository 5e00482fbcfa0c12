import Settings
import Foundation

/// Which optimiser, with PyTorch's semantics.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    case sgd, adamw
}

/// Optimiser settings.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public var kind: OptimizerKind = .sgd
    public var momentum: Float = 0.9
    public var nesterov = false
    public var weightDecay: Float = 2e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8

    public init(kind: OptimizerKind = .sgd, momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 2e-4) {
        self.kind = kind
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }
}

/// Updates a flat parameter buffer from its flat gradient buffer; the state
/// (momentum, or AdamW's two moments) is a parallel flat buffer.
public final class Optimizer {
    public let config: OptimizerConfig
    public let count: Int
    /// SGD: momentum buffer; AdamW: first moment then second moment (2 x count).
    public private(set) var state: UnsafeMutableBufferPointer<Float>
    private var ownsState = true
    /// Steps taken (AdamW's bias correction).
    public var stepCount: Int = 0

    public init(_ config: OptimizerConfig, parameterCount: Int) {
        self.config = config
        count = parameterCount
        let n = config.kind == .adamw ? 2 * parameterCount : parameterCount
        state = .allocate(capacity: max(n, 1))
        state.initialize(repeating: 0)
    }

    deinit { if ownsState { state.deallocate() } }

    /// From now on the state is `newState` (`state.count` floats that outlive the optimiser, such
    /// as a window shared by the ranks of a host); its own buffer is freed. The caller has put
    /// the state there.
    public func adopt(state newState: UnsafeMutablePointer<Float>) {
        if ownsState { state.deallocate() }
        ownsState = false
        state = UnsafeMutableBufferPointer(start: newState, count: state.count)
    }

    /// A fresh start (a second training stage): the state of the elements `within` zeroed (a rank's
    /// slice where the ranks of a host share it) and the step count back to 0.
    public func restart(within range: Range<Int>) {
        stepCount = 0
        guard let base = state.baseAddress, count > 0, !range.isEmpty else { return }
        for row in 0..<(state.count / count) {
            (base + row * count + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    /// Names of the state buffers, for checkpoints and inspection.
    public var stateNames: [String] {
        config.kind == .adamw ? ["exp_avg", "exp_avg_sq"] : ["momentum_buffer"]
    }

    /// One update with learning rate `lr`.
    ///
    /// SGD (dampening 0): `d = g + wd p; buf = m buf + d; d = nesterov ? d + m buf : buf; p -= lr d`.
    /// AdamW: `p *= 1 - lr wd; m1 = b1 m1 + (1-b1) g; m2 = b2 m2 + (1-b2) g^2; p -= lr m1^ / (sqrt(m2^) + eps)`.
    /// With `zeroingGradients`, the gradients are set to zero in the same pass (what the next
    /// step's `zeroGradients()` would do, without another sweep over memory). With `range`, only
    /// those elements are updated (a rank's slice of parameters shared by the ranks of a host).
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, lr: Float,
                     zeroingGradients: Bool = false, range: Range<Int>? = nil) {
        stepCount += 1
        guard let state = state.baseAddress else { return }
        let lower = range?.lowerBound ?? 0
        let p = parameters + lower, g = gradients + lower, s = state + lower
        let wd = config.weightDecay, n = range?.count ?? count
        switch config.kind {
        case .sgd:
            let m = config.momentum, nesterov = config.nesterov
            // One thread: splitting this memory-bound pass costs more (waking threads while
            // OpenBLAS's own spin) than it saves (bench: mlp 46k -> 49k samples/s on 2 cores).
            if m == 0 {
                for i in 0..<n { p[i] -= lr * (g[i] + wd * p[i]) }
            } else if nesterov {
                for i in 0..<n {
                    let d = g[i] + wd * p[i]
                    let buf = m * s[i] + d
                    s[i] = buf
                    p[i] -= lr * (d + m * buf)
                }
            } else {
                // Two calls with a constant flag: the loop is specialised for each.
                if zeroingGradients {
                    Self.momentumStep(p, g, s, count: n, lr: lr, m: m, wd: wd, zeroing: true)
                } else {
                    Self.momentumStep(p, g, s, count: n, lr: lr, m: m, wd: wd, zeroing: false)
                }
            }
            // momentumStep clears as it goes; the other two loops leave it to one more pass.
            if zeroingGradients, m == 0 || nesterov { g.update(repeating: 0, count: n) }
        case .adamw:
            let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
            let t = Float(stepCount)
            let c1 = 1 - Foundation.pow(b1, t), c2 = 1 - Foundation.pow(b2, t)
            let stepSize = lr / c1
            let c2root = c2.squareRoot()
            let m1 = s, m2 = s + count
            let decay = 1 - lr * wd
            for i in 0..<n {
                p[i] *= decay
                m1[i] = b1 * m1[i] + (1 - b1) * g[i]
                m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i]
                p[i] -= stepSize * m1[i] / (m2[i].squareRoot() / c2root + eps)
            }
            if zeroingGradients { g.update(repeating: 0, count: n) }
        }
    }

    /// The common SGD case, eight floats at a time: `buf = m buf + g + wd p; p -= lr buf`.
    @inline(__always)
    static func momentumStep(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                             _ s: UnsafeMutablePointer<Float>,
                             count n: Int, lr: Float, m: Float, wd: Float, zeroing: Bool) {
        typealias V = SIMD8<Float>
        let vm = V(repeating: m), vwd = V(repeating: wd), vlr = V(repeating: lr)
        var i = 0
        while i + 8 <= n {
            let pv = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            let sv = UnsafeRawPointer(s + i).loadUnaligned(as: V.self)
            let buf = vm * sv + (gv + vwd * pv)
            UnsafeMutableRawPointer(s + i).storeBytes(of: buf, as: V.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: pv - vlr * buf, as: V.self)
            if zeroing { UnsafeMutableRawPointer(g + i).storeBytes(of: V(), as: V.self) }
            i += 8
        }
        while i < n {
            let buf = m * s[i] + (g[i] + wd * p[i])
            s[i] = buf
            p[i] -= lr * buf
            if zeroing { g[i] = 0 }
            i += 1
        }
    }
}
