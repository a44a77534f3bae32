#if canImport(Glibc)
import Glibc
#endif
import MetricTile
import Shared

/// `run --for`: judging the expectations when the run is over, and the
/// exit status and report when it ends otherwise.
extension Supervisor {

    /// When the run is over (or, with `--until`, every expectation holds):
    /// every expectation judged, printed and reported; nil until then.
    func judgeIfDue() -> [MetricExpectation.Verdict]? {
        guard let ci, let renderer, let start = ciStart, let due = nextCICheck, Clock.monotonicNanos() >= due else { return nil }
        let now = renderer.snapshot()
        let verdicts = ci.expectations.map { $0.judge(initial: start, final: now) }
        let over = now.monotonicNanos - start.monotonicNanos >= ci.durationNanos
        guard over || verdicts.allSatisfy(\.holds) else {
            nextCICheck = min(now.monotonicNanos + Self.untilInterval, start.monotonicNanos + ci.durationNanos)
            return nil
        }
        nextCICheck = nil
        var text = CIRun.lines(verdicts)
        _ = text.withUTF8 { Glibc.write(1, $0.baseAddress, $0.count) }
        ci.writeJUnit(
            topology: topology.name, seconds: Double(now.monotonicNanos - start.monotonicNanos) / 1e9, verdicts: verdicts)
        return verdicts
    }

    /// A run that ended before its expectations were judged: each is an
    /// error in the report.
    func reportCIStopped(because why: String, type: String) {
        guard let ci, ciVerdicts == nil else { return }
        let none = ci.expectations.map {
            MetricExpectation.Verdict(expectation: $0, holds: false, left: nil, right: nil, message: "\($0.text): \(why)")
        }
        ci.writeJUnit(topology: topology.name, seconds: 0, verdicts: none, error: (type, why))
        ciVerdicts = none
    }

    /// 0 after an orderly stop, unless it was a CI run whose expectations
    /// did not all hold, or that a signal ended before they were judged.
    func ciExitStatus() -> Int32 {
        guard ci != nil else { return 0 }
        if ciVerdicts == nil {
            Log.error("run --for: stopped before the expectations were judged")
            reportCIStopped(because: "stopped before the expectations were judged", type: "Interrupted")
            return 1
        }
        return ciVerdicts!.allSatisfy(\.holds) ? 0 : 1
    }
}
