#if canImport(Glibc)
import Glibc
#endif

/// The terminal while `monitor` runs: keys arrive one at a time without
/// echo, the screen is the alternate one, and both are put back on exit.
final class Terminal {
    private var saved = termios()
    private var raw = false
    private var active = false

    /// Whether stdout is a terminal: colour and live refresh only then.
    static var isInteractive: Bool { isatty(1) == 1 }

    func enter() {
        if isatty(0) == 1 && tcgetattr(0, &saved) == 0 {
            var t = saved
            t.c_lflag &= ~tcflag_t(ICANON | ECHO)
            tcsetattr(0, TCSANOW, &t)
            raw = true
        }
        write("\u{1B}[?1049h\u{1B}[?25l")  // alternate screen, hide cursor
        active = true
    }

    /// Idempotent: an error is printed after leaving, and leaving again on
    /// the way out must not touch the screen the error is on.
    func leave() {
        guard active else { return }
        active = false
        write("\u{1B}[?25h\u{1B}[?1049l")
        if raw { tcsetattr(0, TCSANOW, &saved); raw = false }
    }

    /// Replaces the screen's content.
    func show(_ text: String) {
        write("\u{1B}[H\u{1B}[2J" + text)
    }

    func write(_ s: String) {
        var s = s
        s.withUTF8 { _ = Glibc.write(1, $0.baseAddress, $0.count) }
    }
}
