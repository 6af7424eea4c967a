/// scikit-image's `rgb2hsv` / `hsv2rgb` (the hexcone model) on values in [0, 1].
///
/// - V = max(r, g, b); S = (max − min)/max, or 0 when max = min; H in [0, 1): from the channel
///   holding the maximum, ties resolved as scikit-image's successive assignments do (blue over
///   green over red), and 0 when max = min.
/// - Back: i = floor(6H) mod 6, f = 6H − floor(6H), p = V(1 − S), q = V(1 − fS), t = V(1 − (1 − f)S),
///   (r, g, b) = (V,t,p), (q,V,p), (p,V,t), (p,q,V), (t,p,V), (V,p,q) for i = 0...5.
enum HSV {
    static func fromRGB(_ r: Double, _ g: Double, _ b: Double) -> (h: Double, s: Double, v: Double) {
        let v = max(r, g, b)
        let delta = v - min(r, g, b)
        let s = delta == 0 ? 0 : delta / v
        guard delta != 0 else { return (0, s, v) }
        var h = 0.0
        if r == v { h = (g - b) / delta }
        if g == v { h = 2 + (b - r) / delta }
        if b == v { h = 4 + (r - g) / delta }
        h /= 6
        h = h - (h / 1).rounded(.down)   // Python's % 1 (result in [0, 1))
        if h >= 1 { h = 0 }
        return (h, s, v)
    }

    static func toRGB(_ h: Double, _ s: Double, _ v: Double) -> (r: Double, g: Double, b: Double) {
        let scaled = h * 6
        let hi = scaled.rounded(.down)
        let f = scaled - hi
        let p = v * (1 - s)
        let q = v * (1 - f * s)
        let t = v * (1 - (1 - f) * s)
        var i = Int(hi) % 6
        if i < 0 { i += 6 }
        switch i {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}
