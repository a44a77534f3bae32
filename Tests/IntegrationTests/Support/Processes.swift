#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `tilectl` binary `swift test` built next to the test bundle.
enum Binary {
    static var tilectl: String { built("tilectl") }
    /// tilectl plus the test-only `escape` tile kinds.
    static var testbed: String { built("tilectl-testbed") }

    static func built(_ name: String) -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot + "/.build/debug/" + name
    }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }
}

/// A finished command: its exit status and what it printed.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

/// Runs `tilectl` with `arguments` to completion (at most `timeout` seconds).
func tilectl(
    _ arguments: [String], timeout: Double = 60, environment: [String: String]? = nil, binary: String = Binary.tilectl
) throws -> CommandResult {
    let p = try LiveProcess(binary, arguments, environment: environment)
    guard p.waitForExit(timeout: timeout) else {
        p.kill(SIGKILL)
        _ = p.waitForExit(timeout: 5)
        throw TestFailure("tilectl \(arguments.joined(separator: " ")) did not finish in \(timeout) s:\n\(p.stderr)")
    }
    return CommandResult(status: p.exitStatus!, stdout: p.stdout, stderr: p.stderr)
}

/// A child process whose output goes to files (no pipe to fill up).
final class LiveProcess {
    let process = Process()
    let outPath: String
    let errPath: String

    /// `environment`: the child's whole environment (nil: this process's).
    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let base = NSTemporaryDirectory() + "tilectl-test-\(UUID().uuidString)"
        outPath = base + ".out"
        errPath = base + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(SIGKILL)
            process.waitUntilExit()
        }
        unlink(outPath)
        unlink(errPath)
    }

    var pid: pid_t { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    func kill(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    /// Waits up to `timeout` seconds; true when it exited.
    func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// The exit status, or 128 + signal for a process killed by a signal.
    var exitStatus: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Waits until stderr contains `text`; false on timeout or exit.
    func waitForOutput(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) }
            usleep(10_000)
        }
        return false
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Whether `pid` is still a tile process (a reused pid is not).
func isTileAlive(_ pid: Int32) -> Bool {
    guard let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
    guard cmdline.contains("run1") else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // A zombie has exited; it only waits to be reaped.
    if let close = stat.lastIndex(of: ")") { return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z") }
    return true
}

/// Polls `condition` every 10 ms for up to `timeout` seconds.
func eventually(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
