/// A line and column in a TOML text, both from 1; the column counts
/// characters (Unicode scalars), not bytes.
package struct TOMLPosition: Equatable, Comparable, Sendable, CustomStringConvertible {
    package let line: Int
    package let column: Int

    package init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    package var description: String { "\(line):\(column)" }

    package static func < (a: TOMLPosition, b: TOMLPosition) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// Why a text is not TOML: where, and a one-line message that names what
/// was found and what to write instead. Characters from the input are
/// quoted with their control characters escaped, so the message stays one line.
package struct TOMLError: Error, Sendable, CustomStringConvertible {
    package let position: TOMLPosition
    package let message: String

    package var description: String { "\(position): \(message)" }
}

/// A parsed TOML 1.0 document and the text it came from, so that any key
/// or value can be reported by line and column.
///
/// tilectl parses TOML itself rather than through a C++ library: a
/// topology file is untrusted input to a root process, and this parser is
/// bounded (nesting, sizes), never aborts, and knows where every key and
/// value was written. It accepts TOML 1.0 exactly; `Tests/TOMLTests`
/// compares it with Python's `tomllib` on generated documents.
package struct TOMLDocument {
    package let root: TOMLTable
    private let bytes: [UInt8]
    /// Offset of the first byte of each line.
    private let lineStarts: [Int]

    /// Arrays, inline tables and tables nest at most this deep: the
    /// parser recurses on nesting, and so does freeing the tree.
    package static let maxNesting = 128

    package init(bytes: [UInt8]) throws(TOMLError) {
        self.bytes = bytes
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == 0x0A { starts.append(i + 1) }
        lineStarts = starts
        var parser = TOMLParser(bytes)
        do {
            root = try parser.document()
        } catch {
            throw TOMLError(position: Self.position(error.offset, bytes, starts), message: error.message)
        }
    }

    package init(text: String) throws(TOMLError) {
        try self.init(bytes: Array(text.utf8))
    }

    /// The line and column of a byte offset.
    package func position(_ offset: Int) -> TOMLPosition { Self.position(offset, bytes, lineStarts) }

    static func position(_ offset: Int, _ bytes: [UInt8], _ lineStarts: [Int]) -> TOMLPosition {
        let offset = min(max(offset, 0), bytes.count)
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        var column = 1
        for b in bytes[lineStarts[lo]..<offset] where b & 0xC0 != 0x80 { column += 1 }
        return TOMLPosition(line: lo + 1, column: column)
    }

    /// Just past the last line: where a missing table would be added.
    package var end: TOMLPosition {
        let last = lineStarts.count - 1
        return TOMLPosition(line: lineStarts[last] == bytes.count ? last + 1 : last + 2, column: 1)
    }

    /// The entry at a path of table keys, or nil.
    package func entry(_ path: [String]) -> TOMLTable.Entry? {
        guard let last = path.last else { return nil }
        var table = root
        for key in path.dropLast() {
            guard let t = table[key]?.table else { return nil }
            table = t
        }
        return table.entry(last)
    }

    /// Where the key at `path` is written; for a missing key, its closest
    /// enclosing table's; for the root, 1:1.
    package func keyPosition(_ path: [String]) -> TOMLPosition {
        var p = path
        while !p.isEmpty {
            if let e = entry(p) { return position(e.keyOffset) }
            p.removeLast()
        }
        return TOMLPosition(line: 1, column: 1)
    }

    /// Where the value at `path` is written (for type and range errors);
    /// for a missing key, as `keyPosition`.
    package func valuePosition(_ path: [String]) -> TOMLPosition {
        if let e = entry(path) { return position(e.valueOffset) }
        return keyPosition(path)
    }
}
