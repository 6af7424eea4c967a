import Foundation

/// A one-line progress bar with rate and ETA on a terminal (stderr), or plain periodic lines
/// when stderr is not a terminal (logs, CI).
struct ProgressBar {
    let title: String
    /// Items in all (≥ 1); may be set once known, keeping the start time.
    var total: Int { didSet { total = max(total, 1) } }
    let unit: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(title: String, total: Int, unit: String = "it") {
        self.title = title
        self.total = max(total, 1)
        self.unit = unit
    }

    /// Reports that `done` of `total` items are finished; `detail` is appended (loss, accuracy…).
    mutating func update(_ done: Int, itemsPerStep: Int = 1, detail: String = "") {
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.2 : 10) else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done * itemsPerStep) / elapsed : 0
        let eta = done > 0 ? elapsed / Double(done) * Double(max(total - done, 0)) : 0
        let fraction = total > 0 ? min(max(Double(done) / Double(total), 0), 1) : 1
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "%@ [%@] %d/%d %.1f %@/s ETA %@ %@", title, bar, done, total, rate, unit,
                          Self.format(seconds: eta), detail)
        if isTerminal {
            FileHandle.standardError.write(("\r\u{1B}[K" + line + (finished ? "\n" : "")).data(using: .utf8)!)
        } else {
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
    }

    static func format(seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
