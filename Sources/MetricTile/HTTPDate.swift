import Shared

/// The `Date` header's value (RFC 9110 §5.6.7 IMF-fixdate, always 29 bytes:
/// "Sun, 06 Nov 1994 08:49:37 GMT"), formatted into bytes the caller owns,
/// again only when the second changes. No allocation; the clock read is the
/// vDSO's (or clock_gettime, which the runtime policy already allows).
package struct HTTPDate {
    package static let length = 29
    private var second = Int64.min

    package init() {}

    /// Writes the date of `wallclockNanos` at `a` and `b` if its second is
    /// not the one written last; returns whether it wrote.
    @discardableResult
    package mutating func update(_ wallclockNanos: Int64, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer) -> Bool {
        let s = wallclockNanos / 1_000_000_000
        guard s != second else { return false }
        second = s
        Self.format(s, a)
        Self.format(s, b)
        return true
    }

    private static let days: StaticString = "SunMonTueWedThuFriSat"
    private static let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// IMF-fixdate of a UNIX time in seconds, at `out` (29 bytes).
    package static func format(_ seconds: Int64, _ out: UnsafeMutableRawPointer) {
        let dayCount = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let secondOfDay = Int(seconds - Int64(dayCount) * 86400)
        let (year, month, day) = Log.civilFromDays(dayCount)
        // 1970-01-01 was a Thursday (index 4 from Sunday).
        let weekday = ((dayCount % 7) + 11) % 7
        // Fixed positions: "Sun, 06 Nov 1994 08:49:37 GMT".
        let o = out.assumingMemoryBound(to: UInt8.self)
        let dayNames = days.utf8Start, monthNames = months.utf8Start
        for k in 0..<3 {
            o[k] = dayNames[weekday * 3 + k]
            o[8 + k] = monthNames[(month - 1) * 3 + k]
        }
        o[3] = UInt8(ascii: ",")
        o[4] = 0x20
        o[7] = 0x20
        o[11] = 0x20
        o[16] = 0x20
        o[19] = UInt8(ascii: ":")
        o[22] = UInt8(ascii: ":")
        o[25] = 0x20
        o[26] = UInt8(ascii: "G")
        o[27] = UInt8(ascii: "M")
        o[28] = UInt8(ascii: "T")
        two(o + 5, day)
        two(o + 12, year / 100)
        two(o + 14, year % 100)
        two(o + 17, secondOfDay / 3600)
        two(o + 20, secondOfDay / 60 % 60)
        two(o + 23, secondOfDay % 60)
    }

    private static func two(_ o: UnsafeMutablePointer<UInt8>, _ v: Int) {
        o[0] = UInt8(48 + v / 10 % 10)
        o[1] = UInt8(48 + v % 10)
    }
}
