/// A topology file the loader rejects: where, what, and the fix, in one line.
/// Exit status 2.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    /// 1-based; 0 when the problem has no position (an unreadable file).
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
