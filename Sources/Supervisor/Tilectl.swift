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
        version: BuildInfo.description,
        subcommands: [
            RunCommand.self, ReadyCommand.self, CheckCommand.self, MonitorCommand.self, ConfigureCommand.self,
            ReopenLogsCommand.self, ReferenceCommand.self,
            Run1Command.self,
        ])

    public init() {}

    /// The entry point of an executable that runs `kinds`.
    public static func main(kinds: TileKinds) -> Never {
        do {
            var command = try parseAsRoot()
            if let command = command as? any KindsCommand {
                try command.run(kinds: kinds)
            } else {
                try command.run()
            }
        } catch let e as any TilectlFailure {
            fail(e)
        } catch let e as ExitCode {
            Glibc.exit(e.rawValue)
        } catch {
            // The argument parser's own errors: help, version, bad usage.
            switch exitCode(for: error) {
            case .success:
                print(fullMessage(for: error))
                Glibc.exit(0)
            case .validationFailure:
                let message = fullMessage(for: error)
                FileDescriptor.standardError.writeLine(
                    message.hasPrefix("Error:") ? "tilectl: " + message.dropFirst(7) : "tilectl: \(message)")
                Glibc.exit(2)
            default:
                fail(RuntimeError.from(error))
            }
        }
        Glibc.exit(0)
    }

    static func fail(_ failure: any TilectlFailure) -> Never {
        FileDescriptor.standardError.writeLine("tilectl: error: \(failure)")
        Glibc.exit(failure.exitStatus)
    }
}

/// A command that needs the tile kinds this executable runs. The entry
/// point hands them over: `Tilectl.main(kinds:)` is the one place the
/// registry is read, and everything below gets the kinds as an argument.
protocol KindsCommand: ParsableCommand {
    func run(kinds: TileKinds) throws
}

extension KindsCommand {
    func run() throws {
        preconditionFailure("\(Self.self) runs through Tilectl.main(kinds:), which gives it the tile kinds")
    }
}

extension FileDescriptor {
    func writeLine(_ s: String) {
        try? writeAll(s.hasSuffix("\n") ? s : s + "\n")
    }
}
