import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses SVG text with Foundation's XMLParser and collects what the tests look at.
public final class XMLCheck: NSObject, XMLParserDelegate {
    /// Element names in document order.
    public private(set) var elements: [String] = []
    /// Attributes per element, in document order.
    public private(set) var attributes: [[String: String]] = []
    /// Character data of each `<text>` and `<title>` element, unescaped.
    public private(set) var texts: [String] = []
    /// The parser's error, if the document is not well-formed.
    public private(set) var error: Error?
    private var currentText: String?

    /// Parses `svg`; returns the collector (check ``error``).
    public static func parse(_ svg: String) -> XMLCheck {
        let check = XMLCheck()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = check
        if !parser.parse() { check.error = check.error ?? parser.parserError ?? NSError(domain: "XMLCheck", code: 1) }
        return check
    }

    public func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        self.attributes.append(attributes)
        if name == "text" || name == "title" { currentText = "" }
    }

    public func parser(_ parser: XMLParser, foundCharacters string: String) { currentText? += string }

    public func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" || name == "title", let t = currentText { texts.append(t); currentText = nil }
    }

    public func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    /// The `d` attributes of all `<path>` elements.
    public var pathData: [String] { zip(elements, attributes).filter { $0.0 == "path" }.compactMap { $0.1["d"] } }
}
