#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shared

/// `tilectl`: runs a topology of sandboxed tiles over shared memory.
///
/// Exit status: 0 success; 1 a runtime failure (a tile died, a privilege
/// or resource is missing); 2 a usage or topology-file error.
public struct Tilectl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tilectl",
        abstract: "Run a topology of sandboxed worker processes (tiles) over hugepage-backed shared memory.",
        discussion: """
            A topology file (TOML) names the tiles; `run` boots them, each in its own process, and a \
            metric tile serves every tile's counters to Prometheus.

            Exit status: 0 success, 1 runtime failure, 2 usage or topology-file error.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, CheckCommand.self, MonitorCommand.self, ConfigureCommand.self, ReferenceCommand.self,
                      Run1Command.self])

    public init() {}

    /// The entry point of an executable that runs `kinds`.
    public static func main(kinds: TileKinds) -> Never {
        Registry.kinds = kinds
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as ConfigError {
            fail(e.description, status: 2)
        } catch let e as RuntimeFailure {
            fail(e.message, status: 1)
        } catch let e as ExitCode {
            Glibc.exit(e.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            if code == .validationFailure {
                let message = fullMessage(for: error)
                FileDescriptor.standardError.writeLine(message.hasPrefix("Error:") ? "tilectl: " + message.dropFirst(7) : "tilectl: \(message)")
                Glibc.exit(2)
            }
            fail("\(error)", status: 1)
        }
        Glibc.exit(0)
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileDescriptor.standardError.writeLine("tilectl: error: \(message)")
        Glibc.exit(status)
    }
}

/// A failure at run time, already phrased for the user (exit status 1).
struct RuntimeFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension FileDescriptor {
    func writeLine(_ s: String) {
        try? writeAll(s.hasSuffix("\n") ? s : s + "\n")
    }
}
