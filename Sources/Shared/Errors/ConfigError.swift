import TOML

/// A topology file the loader rejects: where, what, and the fix, in one line.
/// Exit status 2.
package struct ConfigError: TilectlFailure, Equatable {
    package let file: String
    /// 1-based; 0 when the problem has no position (an unreadable file).
    package let line: Int
    package let column: Int
    package let message: String

    package init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    package var exitStatus: Int32 { 2 }

    package var description: String {
        // A path is shown as given unless it would break the line.
        let f = file.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } ? quoted(file) : file
        return line > 0 ? "\(f):\(line):\(column): \(message)" : "\(f): \(message)"
    }
}

/// A value from the topology file as an error message shows it: quoted,
/// control characters escaped (so the message stays one line), and cut
/// when long (the position already says where the whole of it is).
package func shown(_ s: String) -> String {
    let scalars = s.unicodeScalars
    guard scalars.count > 64 else { return quoted(s) }
    var head = String.UnicodeScalarView()
    head.append(contentsOf: scalars.prefix(48))
    return quoted(String(head)) + "… (\(scalars.count) characters)"
}
