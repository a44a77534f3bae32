import Foundation

/// Runs a repository tool (swift-format, a script) to completion; its
/// stdout and stderr together, and its exit status.
func runTool(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (
    status: Int32, output: String
) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.currentDirectoryURL = directory
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}
