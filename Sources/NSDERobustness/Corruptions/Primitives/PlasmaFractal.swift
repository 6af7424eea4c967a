import NSDETensor

/// The plasma fractal of `make_cifar_c.py` (fog): diamond-square on a wrap-around square map.
///
/// 1. Start with cell (0, 0) = 0, step = side, wibble = 100.
/// 2. While step ≥ 2:
///    - square step: each cell at a lattice corner + (step/2, step/2) gets the mean of its 4
///      corners (wrapping) plus wibble·U(−wibble, wibble);
///    - diamond step: the (corner row, mid column) cells, then the (mid row, corner column) cells,
///      get the mean of their 4 diamond neighbours (wrapping) plus the same kind of noise;
///    - halve step and divide wibble by `decay`.
/// 3. Normalise to [0, 1]: subtract the minimum, divide by the maximum.
///
/// Draws, in order: the square cells row-major, then the two diamond sets row-major, at each
/// step.
enum PlasmaFractal {
    /// The map, `[side, side]` row-major; `side` must be a power of two.
    static func generate(side: Int, decay: Double, rng: inout PhiloxGenerator) -> [Double] {
        precondition(side >= 1 && side & (side - 1) == 0, "PlasmaFractal: side must be a power of two, got \(side)")
        var map = [Double](repeating: 0, count: side * side)
        var step = side
        var wibble = 100.0
        @inline(__always) func at(_ y: Int, _ x: Int) -> Double { map[((y % side + side) % side) * side + (x % side + side) % side] }
        while step >= 2 {
            let half = step / 2
            let cells = side / step
            // Square step.
            for i in 0 ..< cells {
                for j in 0 ..< cells {
                    let y = i * step, x = j * step
                    let sum = at(y, x) + at(y + step, x) + at(y, x + step) + at(y + step, x + step)
                    map[(y + half) * side + x + half] = sum / 4 + wibble * rng.uniform(-wibble, wibble)
                }
            }
            // Diamond step: (corner row, mid column), then (mid row, corner column).
            var first = [Double](repeating: 0, count: cells * cells)
            for i in 0 ..< cells {
                for j in 0 ..< cells {
                    let y = i * step, x = j * step + half
                    let sum = at(y + half, x) + at(y - half, x) + at(y, x - half) + at(y, x + half)
                    first[i * cells + j] = sum / 4 + wibble * rng.uniform(-wibble, wibble)
                }
            }
            var second = [Double](repeating: 0, count: cells * cells)
            for i in 0 ..< cells {
                for j in 0 ..< cells {
                    let y = i * step + half, x = j * step
                    let sum = at(y, x + half) + at(y, x - half) + at(y - half, x) + at(y + half, x)
                    second[i * cells + j] = sum / 4 + wibble * rng.uniform(-wibble, wibble)
                }
            }
            for i in 0 ..< cells {
                for j in 0 ..< cells {
                    map[i * step * side + j * step + half] = first[i * cells + j]
                    map[(i * step + half) * side + j * step] = second[i * cells + j]
                }
            }
            step /= 2
            wibble /= decay
        }
        let low = map.min() ?? 0
        for i in map.indices { map[i] -= low }
        let high = map.max() ?? 0
        if high > 0 { for i in map.indices { map[i] /= high } }
        return map
    }
}
