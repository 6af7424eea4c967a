/// How a filter or sampler reads outside an axis of length `n`.
enum Boundary {
    /// Repeat the edge value (scipy `nearest`, ImageMagick's edge clamp): `a a | a b c d | d d`.
    case nearest
    /// Half-sample symmetric (scipy `reflect`): `b a | a b c d | d c`.
    case reflect
    /// Whole-sample symmetric (OpenCV's default `BORDER_REFLECT_101`, scipy `mirror`):
    /// `c b | a b c d | c b`.
    case reflect101
    /// Periodic: `c d | a b c d | a b`.
    case wrap

    /// The in-range index that index `i` reads, for any integer `i`.
    @inline(__always) func index(_ i: Int, _ n: Int) -> Int {
        if i >= 0 && i < n { return i }
        if n == 1 { return 0 }
        switch self {
        case .nearest:
            return i < 0 ? 0 : n - 1
        case .reflect:
            let period = 2 * n
            var m = i % period
            if m < 0 { m += period }
            return m < n ? m : period - 1 - m
        case .reflect101:
            let period = 2 * n - 2
            var m = i % period
            if m < 0 { m += period }
            return m < n ? m : period - m
        case .wrap:
            var m = i % n
            if m < 0 { m += n }
            return m
        }
    }
}
