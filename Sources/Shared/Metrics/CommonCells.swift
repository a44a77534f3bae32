#if canImport(Glibc)
import Glibc
#endif
import CShim

/// The common `tile_*` metrics, bound once.
@usableFromInline
struct CommonCells {
    @usableFromInline let pid: GaugeCell
    @usableFromInline let status: GaugeCell
    @usableFromInline let heartbeat: GaugeCell
    @usableFromInline let voluntary: CounterCell
    @usableFromInline let involuntary: CounterCell
    @usableFromInline let majorFaults: CounterCell
    @usableFromInline let minorFaults: CounterCell
    @usableFromInline let cpu: GaugeCell
    @usableFromInline let inBackpressure: GaugeCell
    @usableFromInline let backpressure: CounterCell
    @usableFromInline let regimes: LabelledCounterCell<Regime>
    @usableFromInline let loop: HistogramCell

    @usableFromInline init(_ w: MetricsWriter) {
        pid = w.gauge(CommonMetrics.pid)
        status = w.gauge(CommonMetrics.status)
        heartbeat = w.gauge(CommonMetrics.heartbeat)
        voluntary = w.counter(CommonMetrics.contextSwitchVoluntary)
        involuntary = w.counter(CommonMetrics.contextSwitchInvoluntary)
        majorFaults = w.counter(CommonMetrics.pageFaultMajor)
        minorFaults = w.counter(CommonMetrics.pageFaultMinor)
        cpu = w.gauge(CommonMetrics.cpu)
        inBackpressure = w.gauge(CommonMetrics.inBackpressure)
        backpressure = w.counter(CommonMetrics.backpressure)
        regimes = w.enumCounter(CommonMetrics.regimeDuration, Regime.self)
        loop = w.histogram(CommonMetrics.loopDuration)
    }

    /// Heartbeat, CPU and resource usage; one getrusage(2) per call.
    @usableFromInline func refresh() {
        heartbeat.set(UInt64(Clock.wallclockNanos()))
        let here = cshim_current_cpu()  // RDTSCP: no system call
        if here >= 0 { cpu.set(UInt64(here)) }
        var ru = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &ru) == 0 {
            voluntary.set(UInt64(ru.ru_nvcsw))
            involuntary.set(UInt64(ru.ru_nivcsw))
            majorFaults.set(UInt64(ru.ru_majflt))
            minorFaults.set(UInt64(ru.ru_minflt))
        }
    }
}
