import Foundation

/// Tick positions and labels for one plot axis, at "nice" values: multiples of 1, 2, 2.5 or 5 × 10ᵏ
/// on a linear axis, powers of ten (with 2 and 5 × 10ᵏ inside a single decade) on a log axis.
///
/// ``linear(covering:_:targetCount:)`` and ``log10(covering:_:targetCount:)`` widen the data
/// range outward to the nearest ticks, so the first tick is at or below the smallest value and the
/// last at or above the largest; ``linear(within:targetCount:)`` and ``log10(within:targetCount:)``
/// keep a fixed range and place the nice values inside it.
public struct AxisTicks: Equatable, Sendable {
    /// Tick positions in data units, increasing.
    public let values: [Double]
    /// One label per value, e.g. `"0.25"`, `"-10"`, `"1e-6"`.
    public let labels: [String]
    /// The axis range in data units: from the first to the last tick when widened, otherwise the
    /// fixed range given. Always contains the data range passed in, and `lowerBound < upperBound`.
    public let range: ClosedRange<Double>
    /// The spacing of consecutive linear ticks in data units (1, 2, 2.5 or 5 × 10ᵏ); for log ticks, the
    /// spacing in decades (a positive integer).
    public let step: Double

    /// Values larger than this in magnitude are clamped, so spans stay finite.
    static let limit = 1e300

    // MARK: - Linear

    /// Nice linear ticks covering `lo...hi`, widened outward to whole steps.
    ///
    /// The step is 1, 2, 2.5 or 5 × 10ᵏ, chosen among those giving 3 to `2·targetCount + 1`
    /// ticks, with the lowest score 4·(unused fraction of the axis) + |count − targetCount|/targetCount
    /// + (0, 0.05, 0.1, 0.25 for m = 1, 5, 2, 2.5): little axis beyond the data, a tick count
    /// near the target, simple values. A degenerate range (`lo == hi`) is
    /// widened by 10 % of `|lo|` each way (by 1 when `lo` is 0); non-finite bounds give the range
    /// 0...1; `lo > hi` are swapped.
    ///
    /// - Parameters:
    ///   - lo: the smallest data value.
    ///   - hi: the largest data value.
    ///   - targetCount: about how many ticks to make (at least 3 is used; default 6).
    public static func linear(covering lo: Double, _ hi: Double, targetCount: Int = 6) -> AxisTicks {
        var (lo, hi) = clampedBounds(lo, hi)
        if hi - lo <= max(Swift.abs(lo), Swift.abs(hi)) * 1e-12 {
            let pad = lo == 0 && hi == 0 ? 1 : max(Swift.abs(lo), Swift.abs(hi)) * 0.1
            lo -= pad
            hi += pad
        }
        let target = max(targetCount, 3)
        var best: (score: Double, step: NiceStep, first: Double, last: Double)?
        for step in NiceStep.candidates(around: (hi - lo) / Double(target - 1)) {
            let first = (lo / step.value + 1e-9).rounded(.down), last = (hi / step.value - 1e-9).rounded(.up)
            let count = last - first + 1
            guard count >= 3, count <= Double(2 * target + 1) else { continue }
            let covered = (last - first) * step.value
            let waste = (covered - (hi - lo)) / covered
            let score = 4 * waste + Swift.abs(count - Double(target)) / Double(target) + step.complexity
            if best == nil || score < best!.score { best = (score, step, first, last) }
        }
        let (step, first, last) = best.map { ($0.step, $0.first, $0.last) } ?? fallback(lo, hi)
        let values = stride(from: first, through: last, by: 1).map { step.snap($0 * step.value) }
        let range = min(values.first!, lo)...max(values.last!, hi)
        return AxisTicks(values: values, labels: linearLabels(values, step: step), range: range, step: step.value)
    }

    /// Nice linear ticks inside the fixed range `range` (which is kept as the axis range).
    ///
    /// The step is chosen as in ``linear(covering:_:targetCount:)`` among those putting at least
    /// two ticks inside the range.
    ///
    /// - Parameters:
    ///   - range: the axis range in data units; a degenerate or non-finite one is widened as in
    ///     ``linear(covering:_:targetCount:)``.
    ///   - targetCount: about how many ticks to make (default 6).
    public static func linear(within range: ClosedRange<Double>, targetCount: Int = 6) -> AxisTicks {
        let (lo, hi) = clampedBounds(range.lowerBound, range.upperBound)
        guard hi - lo > max(Swift.abs(lo), Swift.abs(hi)) * 1e-12 else { return linear(covering: lo, hi, targetCount: targetCount) }
        let target = max(targetCount, 3)
        var best: (score: Double, step: NiceStep, first: Double, last: Double)?
        for step in NiceStep.candidates(around: (hi - lo) / Double(target - 1)) {
            let first = (lo / step.value - 1e-9).rounded(.up), last = (hi / step.value + 1e-9).rounded(.down)
            let count = last - first + 1
            guard count >= 2, count <= Double(2 * target + 1) else { continue }
            let score = Swift.abs(count - Double(target)) / Double(target) + step.complexity
            if best == nil || score < best!.score { best = (score, step, first, last) }
        }
        guard let (_, step, first, last) = best else {
            return AxisTicks(values: [], labels: [], range: lo...hi, step: hi - lo)
        }
        let values = stride(from: first, through: last, by: 1).map { step.snap($0 * step.value) }
        return AxisTicks(values: values, labels: linearLabels(values, step: step), range: lo...hi, step: step.value)
    }

    /// The smallest candidate step giving at most about five intervals; used only if no candidate
    /// passes the count limits (not expected for finite, non-degenerate input).
    static func fallback(_ lo: Double, _ hi: Double) -> (NiceStep, Double, Double) {
        let step = NiceStep.candidates(around: (hi - lo) / 5).first { $0.value >= (hi - lo) / 5 } ?? NiceStep(mantissa: 1, exponent: 0)
        return (step, (lo / step.value).rounded(.down), (hi / step.value).rounded(.up))
    }

    // MARK: - Log

    /// Nice log-scale ticks covering the positive range `lo...hi`, widened outward to powers of ten.
    ///
    /// Ticks are 10ᵏ every `s` decades, `s` chosen so there are at most about `targetCount`; when
    /// the range spans one decade or less, 2 × 10ᵏ and 5 × 10ᵏ are added. Non-positive or
    /// non-finite bounds are replaced (a non-positive `lo` by `hi/1000`; no positive bound at all
    /// gives 1...10).
    ///
    /// - Parameters:
    ///   - lo: the smallest positive data value.
    ///   - hi: the largest data value.
    ///   - targetCount: about how many ticks to make (default 6).
    public static func log10(covering lo: Double, _ hi: Double, targetCount: Int = 6) -> AxisTicks {
        let (lo, hi) = positiveBounds(lo, hi)
        var a = (Foundation.log10(lo) + 1e-9).rounded(.down), b = (Foundation.log10(hi) - 1e-9).rounded(.up)
        if b <= a { b = a + 1 }
        let s = max(1, ((b - a) / Double(max(targetCount, 2) - 1)).rounded(.up))
        b = a + ((b - a) / s).rounded(.up) * s
        if lo < pow(10, a) { a -= s }   // rounding guard: the first tick must not exceed lo
        let values = logValues(from: a, to: b, decadeStep: s, lo: pow(10, a), hi: pow(10, b))
        let range = min(values.first!, lo)...max(values.last!, hi)
        return AxisTicks(values: values, labels: values.map(logLabel), range: range, step: s)
    }

    /// Nice log-scale ticks inside the fixed positive range `range` (kept as the axis range).
    ///
    /// - Parameters:
    ///   - range: the axis range in data units; a non-positive lower bound is replaced by
    ///     `upperBound/1000`, and a range without positive values by 1...10.
    ///   - targetCount: about how many ticks to make (default 6).
    public static func log10(within range: ClosedRange<Double>, targetCount: Int = 6) -> AxisTicks {
        let (lo, hi) = positiveBounds(range.lowerBound, range.upperBound)
        let la = Foundation.log10(lo), lb = Foundation.log10(hi)
        let s = max(1, ((lb - la) / Double(max(targetCount, 2) - 1)).rounded(.up))
        let a = (la / s - 1e-9).rounded(.down) * s, b = (lb / s + 1e-9).rounded(.up) * s
        let values = logValues(from: a, to: b, decadeStep: s, lo: lo * (1 - 1e-9), hi: hi * (1 + 1e-9))
        return AxisTicks(values: values, labels: values.map(logLabel), range: lo...hi, step: s)
    }

    // MARK: - Helpers

    /// Finite bounds in increasing order, clamped to ±``limit``.
    static func clampedBounds(_ a: Double, _ b: Double) -> (Double, Double) {
        guard a.isFinite && b.isFinite else { return (0, 1) }
        let lo = Swift.max(Swift.min(a, b), -limit), hi = Swift.min(Swift.max(a, b), limit)
        return (lo, hi)
    }

    /// Positive finite bounds in increasing order (see ``log10(covering:_:targetCount:)``).
    static func positiveBounds(_ a: Double, _ b: Double) -> (Double, Double) {
        var lo = Swift.min(a, b), hi = Swift.max(a, b)
        if !(hi > 0) || !hi.isFinite { hi = lo > 0 && lo.isFinite ? lo : 10 }
        hi = Swift.min(hi, limit)
        if !(lo > 0) || !lo.isFinite { lo = hi / 1000 }
        lo = Swift.max(lo, 1e-300)
        if lo >= hi { hi = lo * 10 }
        return (lo, hi)
    }

    /// Powers of ten from 10ᵃ to 10ᵇ every `s` decades, plus 2·10ᵏ and 5·10ᵏ when the range
    /// spans at most one decade; only values within `lo...hi`.
    static func logValues(from a: Double, to b: Double, decadeStep s: Double, lo: Double, hi: Double) -> [Double] {
        var values: [Double] = []
        var k = a
        while k <= b + 1e-9 {
            let d = pow(10, k)
            values.append(d)
            if s == 1 && b - a <= 1 + 1e-9 && k < b - 1e-9 { values += [2 * d, 5 * d] }
            k += s
        }
        // Inside one decade with no power of ten in range, the 2 and 5 multiples are all we have.
        if values.filter({ $0 >= lo && $0 <= hi }).count < 2 && s == 1 {
            values = []
            var k = a - 1
            while k <= b + 1e-9 {
                let d = pow(10, k)
                values += [d, 2 * d, 5 * d]
                k += 1
            }
        }
        return values.filter { $0 >= lo && $0 <= hi }.sorted()
    }

    /// Labels for linear ticks: fixed-point with the step's decimals, or `1.5e6` style when the
    /// values are huge (≥ 10⁶) or the step tiny (< 10⁻⁴).
    static func linearLabels(_ values: [Double], step: NiceStep) -> [String] {
        let maxAbs = values.map { Swift.abs($0) }.max() ?? 0
        if maxAbs >= 1e6 || step.value < 1e-4 {
            return values.map { v in
                if v == 0 { return "0" }
                let digits = max(0, Int((Foundation.log10(Swift.abs(v)) + 1e-9).rounded(.down)) - step.exponent) + step.extraDigit
                return scientific(v, digits: min(digits, 15))
            }
        }
        let decimals = step.decimals
        return values.map { v in
            let s = String(format: "%.\(decimals)f", v)
            return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
        }
    }

    /// `v` as `mantissa e exponent` with `digits` decimals, e.g. `"2.5e-7"`, `"1e6"`.
    static func scientific(_ v: Double, digits: Int) -> String {
        let s = String(format: "%.\(digits)e", v)            // "2.50e-07"
        guard let e = s.firstIndex(of: "e") else { return s }
        var mantissa = String(s[..<e])
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        let exponent = Int(s[s.index(after: e)...]) ?? 0
        return mantissa + "e" + String(exponent)
    }

    /// A log tick label: plain for 10⁻³ ≤ v < 10⁵, otherwise `1e-6` style.
    static func logLabel(_ v: Double) -> String {
        if v >= 1e-3 && v < 1e5 {
            let decimals = max(0, -Int((Foundation.log10(v) + 1e-9).rounded(.down)))
            var s = String(format: "%.\(decimals)f", v)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s
        }
        return scientific(v, digits: 0)
    }
}

/// A tick step m × 10ᵉ with m ∈ {1, 2, 2.5, 5}.
struct NiceStep: Equatable {
    /// The mantissa m.
    var mantissa: Double
    /// The decimal exponent e.
    var exponent: Int

    /// m × 10ᵉ.
    var value: Double { mantissa * pow(10, Double(exponent)) }
    /// A penalty for less simple steps: 1 and 5 read best, then 2, then 2.5.
    var complexity: Double { mantissa == 1 ? 0 : mantissa == 5 ? 0.05 : mantissa == 2 ? 0.1 : 0.25 }
    /// One more digit for 2.5 (0.25, 2.5, …).
    var extraDigit: Int { mantissa == 2.5 ? 1 : 0 }
    /// Decimals needed to print multiples of the step exactly.
    var decimals: Int { max(0, -exponent + extraDigit) }

    /// Steps from a decade below to a decade above `raw` > 0.
    static func candidates(around raw: Double) -> [NiceStep] {
        guard raw > 0, raw.isFinite else { return [NiceStep(mantissa: 1, exponent: 0)] }
        let e = Int(Foundation.log10(raw).rounded(.down))
        return (e - 1...e + 1).flatMap { k in [1, 2, 2.5, 5].map { NiceStep(mantissa: $0, exponent: k) } }
    }

    /// `v`, a multiple of the step, with floating-point noise removed (rounded to the step's
    /// decimals plus one); values within 10⁻⁶ steps of 0 become 0.
    func snap(_ v: Double) -> Double {
        if Swift.abs(v) < value * 1e-6 { return 0 }
        let digits = decimals + 1
        guard exponent < 0 || mantissa == 2.5, digits < 300 else { return v }
        let scale = pow(10, Double(min(digits, 22)))
        let r = (v * scale).rounded() / scale
        return r.isFinite ? r : v
    }
}
