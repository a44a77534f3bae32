#if canImport(Glibc)
import Glibc
#endif
import MetricTile
import Shared

/// The topology's health as systemd hears it: the watchdog fed only while
/// every tile heartbeats, and STATUS= kept to the health line.
extension Supervisor {

    /// When the wait loop must wake next to feed systemd's watchdog or
    /// refresh its STATUS line (nil: no one listens).
    func nextHealthCheck(stopping: Bool) -> Int64? {
        guard notifier.notifiesSystemd, !stopping else { return nil }
        return notifier.watchdogInterval != nil ? min(notifier.nextWatchdog, nextStatusCheck) : nextStatusCheck
    }

    /// Feeds the watchdog only while every tile heartbeats (while booting,
    /// boot progress is systemd's start timeout's business), and keeps
    /// STATUS= to the health line: `8 tiles running` or what is stale.
    func checkHealth(booting: Bool) {
        guard notifier.notifiesSystemd else { return }
        let now = Clock.monotonicNanos()
        let watchdogDue = notifier.watchdogDue(now: now)
        guard watchdogDue || now >= nextStatusCheck else { return }
        nextStatusCheck = now + 1_000_000_000
        if booting {
            if watchdogDue { notifier.watchdog(now: now, healthy: true) }
            return
        }
        let (healthy, body) = health.check()
        let line = body.trimmingWhitespace
        if healthy != wasHealthy && notifier.watchdogInterval != nil {
            if healthy {
                Log.notice("every tile heartbeats again: feeding systemd's watchdog")
            } else {
                Log.warning("not feeding systemd's watchdog while \(line)")
            }
        }
        wasHealthy = healthy
        notifier.status(healthy ? upStatus : line)
        if watchdogDue { notifier.watchdog(now: now, healthy: healthy) }
    }
}
