#if canImport(Glibc)
import Glibc
#endif

/// A failure while running (exit status 1): a system call that returned an
/// errno, a sandbox step, a path root will not use, or a condition only a
/// sentence names (a tile died, too few pages). It carries what failed and
/// the errno as values, for the code that recovers and for tests; its
/// description is the one line the user reads, for example
/// `bind(127.0.0.1:7999) failed: EADDRINUSE (Address already in use)`.
package struct RuntimeError: TilectlFailure, Equatable {
    /// What failed, as the user would name it.
    package enum Subject: Equatable, Sendable {
        /// A system call with its arguments: `open(/dev/shm/x, O_RDWR)`.
        case call(String)
        /// A sandbox step, numbered as in DESIGN.md: `7 landlock`.
        case sandboxStep(String)
        /// A path root refused to use.
        case path(String)
        /// Nothing a name says better than the message.
        case condition
    }

    package let subject: Subject
    /// The errno behind the failure; 0 when no call returned one.
    package let errno: Int32
    /// Why, in words: `EACCES (Permission denied)`, `is a symbolic link`.
    package let problem: String
    /// What the user can do about it, when we know.
    package let fix: String?
    /// Where it happened, outermost first: `tile synth:0`, `workspace w3`.
    package let context: [String]

    package var exitStatus: Int32 { 1 }

    /// The path, when this is a path root refused.
    package var path: String? { if case .path(let p) = subject { p } else { nil } }

    /// The line without its fix.
    package var message: String {
        let core =
            switch subject {
            case .call(let call): "\(call) failed: \(problem)"
            case .sandboxStep(let step): "sandbox step \(step): \(problem)"
            case .path(let path): "\(path) \(problem)"
            case .condition: problem
            }
        return (context + [core]).joined(separator: ": ")
    }

    package var description: String { message + (fix.map { "; \($0)" } ?? "") }

    private init(_ subject: Subject, errno: Int32, problem: String, fix: String?, context: [String] = []) {
        self.subject = subject
        self.errno = errno
        self.problem = problem
        self.fix = fix
        self.context = context
    }

    /// A failure only a sentence names.
    package init(_ message: String, errno: Int32 = 0, fix: String? = nil) {
        self.init(.condition, errno: errno, problem: message, fix: fix)
    }

    /// `call` failed with `errno`: `bind(127.0.0.1:7999) failed: EADDRINUSE (…)`.
    package init(call: String, errno: Int32, fix: String? = nil) {
        self.init(.call(call), errno: errno, problem: Errno.describe(errno), fix: fix)
    }

    /// A sandbox step failed; the tile never runs half-sandboxed, so this is
    /// fatal to it.
    package init(sandboxStep step: String, _ problem: String, errno: Int32 = 0) {
        self.init(.sandboxStep(step), errno: errno, problem: problem, fix: nil)
    }

    /// A sandbox step's call returned `errno`.
    package init(sandboxStep step: String, errno: Int32) {
        self.init(sandboxStep: step, Errno.describe(errno), errno: errno)
    }

    /// A sandbox step failed because `cause` did; its errno is kept.
    package init(sandboxStep step: String, _ cause: any Error) {
        self.init(sandboxStep: step, "\(cause)", errno: (cause as? RuntimeError)?.errno ?? 0)
    }

    /// A path root will not use: `/run/x is owned by uid 1000, not by root; …`.
    package init(path: String, _ problem: String, errno: Int32 = 0) {
        self.init(
            .path(path), errno: errno, problem: problem,
            fix: "tilectl only uses paths that no other user can change (every directory owned by root or by you, "
                + "no symbolic links)")
    }

    /// The same failure with the fix a user should try.
    package func with(fix: String) -> RuntimeError { RuntimeError(subject, errno: errno, problem: problem, fix: fix, context: context) }

    /// The same failure, its line led by where it happened:
    /// `tile synth:0: open(…) failed: …`.
    package func within(_ context: String) -> RuntimeError {
        RuntimeError(subject, errno: errno, problem: problem, fix: fix, context: [context] + self.context)
    }

    /// Runs `body`; whatever it throws comes out as a `RuntimeError` led by
    /// `context`, except a `ConfigError`, which keeps its own position and
    /// status.
    package static func within<T>(_ context: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ConfigError {
            throw e
        } catch {
            throw RuntimeError.from(error).within(context())
        }
    }

    /// `error` as a `RuntimeError`: itself when it is one, else its
    /// description (an error from a library, such as an argument parser's).
    package static func from(_ error: any Error) -> RuntimeError {
        error as? RuntimeError ?? RuntimeError("\(error)")
    }
}
