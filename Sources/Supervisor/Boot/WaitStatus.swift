#if canImport(Glibc)
import Glibc
#endif

/// How a process ended, as a user reads it.
struct WaitStatus: CustomStringConvertible {
    let raw: Int32

    var exited: Bool { raw & 0x7F == 0 }
    var exitCode: Int32 { (raw >> 8) & 0xFF }
    var signal: Int32 { raw & 0x7F }

    /// `exited with code 1`, `killed by SIGKILL`, `killed by SIGSYS (seccomp violation)`.
    var description: String {
        if exited { return "exited with code \(exitCode)" }
        let name = Self.signalName(signal)
        return signal == SIGSYS ? "killed by \(name) (seccomp violation)" : "killed by \(name)"
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        case SIGCONT: "SIGCONT"
        case SIGSTOP: "SIGSTOP"
        case SIGTSTP: "SIGTSTP"
        case SIGXCPU: "SIGXCPU"
        case SIGXFSZ: "SIGXFSZ"
        case SIGSYS: "SIGSYS"
        default: "signal \(s)"
        }
    }
}
