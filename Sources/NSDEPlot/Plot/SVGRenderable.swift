import Foundation

/// A chart that renders itself as a standalone SVG 1.1 document and can write it to a file.
public protocol SVGRenderable {
    /// The complete SVG document: an XML declaration and one `<svg>` root element, UTF-8 text.
    func svgString() -> String
}

extension SVGRenderable {
    /// Writes ``svgString()`` to `url` atomically (see ``AtomicFile``): a temporary file in the
    /// same directory, renamed over `url` once complete, so no partial file is ever left at `url`.
    ///
    /// - Parameter url: the destination file, e.g. `fig1.svg`; its directory must exist.
    /// - Throws: ``OutputError`` naming the path when the directory is missing or not
    ///   writable, when `url` is a directory, or when the write fails.
    public func write(to url: URL) throws(OutputError) {
        try AtomicFile.write(svgString(), to: url)
    }
}
