import Testing

@testable import Supervisor

/// `run --for`'s expressions: parsed with their columns, judged on
/// snapshots whose answers are known.
@Suite struct ExpectationTests {
    typealias S = MetricExpectation.Selector

    @Test func parsesSelectorsMatchersRatesAndAggregates() throws {
        let e = try MetricExpectation(parsing: #"sum(rate(link_frag_consumed_total{link_kind="dedup_sink", kind!="x",a=~"v.*"})) >= 1e3"#)
        #expect(
            e.left
                == .aggregate(
                    "sum",
                    .rate(
                        S(
                            name: "link_frag_consumed_total",
                            matchers: [
                                .init(label: "link_kind", op: .equal, value: "dedup_sink"), .init(label: "kind", op: .notEqual, value: "x"),
                                .init(label: "a", op: .matches, value: "v.*"),
                            ]))))
        #expect(e.comparison == .greaterOrEqual)
        #expect(e.right == .number(1000))
        let f = try MetricExpectation(parsing: "count(tile_status{kind=\"verify\"}) != min(tile_cpu)")
        #expect(f.right == .aggregate("min", .series(S(name: "tile_cpu", matchers: []))))
        #expect(try MetricExpectation(parsing: "x<-1.5").right == .number(-1.5))
        #expect(
            try MetricExpectation(parsing: #"x{a="q\"uote"} == 1"#).left
                == .series(S(name: "x", matchers: [.init(label: "a", op: .equal, value: "q\"uote")])))
    }

    @Test(arguments: [
        ("sum(foo > 1", 9, "expected ')' to close sum("),
        (#"foo{a="b" > 1"#, 11, "expected ',' between label matchers"),
        ("foo ~ 3", 5, "expected a comparison"),
        ("avg(foo) > 1", 1, "unknown function 'avg'"),
        (#"foo{a=~"("} > 1"#, 11, "does not compile"),
        ("foo > 1 2", 9, "unexpected text after the comparison"),
        ("", 1, "expected a number, a metric name"),
        (#"foo{a="b} > 1"#, 14, "unterminated label value"),
        ("sum(sum(x)) > 1", 11, "not another aggregate"),
    ])
    func aMistakeIsPointedAtItsColumn(text: String, column: Int, message: String) {
        do {
            _ = try MetricExpectation(parsing: text)
            Issue.record("\(text) parsed")
        } catch let e as ExpectationError {
            #expect(e.column == column, "\(e)")
            #expect(e.message.contains(message), "\(e)")
            #expect(e.exitStatus == 2)
            #expect(e.description.hasPrefix("--expect '\(text)', column \(column): "))
        } catch {
            Issue.record("\(error)")
        }
    }

    static let start = MetricSnapshot(
        exposition: """
            # HELP c a counter
            c_total{kind="a",kind_id="0"} 100
            c_total{kind="a",kind_id="1"} 0
            c_total{kind="b",kind_id="0",note="x\\"y"} 50
            g 7
            """, monotonicNanos: 1_000_000_000)
    static let end = MetricSnapshot(
        exposition: """
            c_total{kind="a",kind_id="0"} 300
            c_total{kind="a",kind_id="1"} 50
            c_total{kind="b",kind_id="0",note="x\\"y"} 50
            g 7
            """, monotonicNanos: 3_000_000_000)

    func judge(_ text: String) throws -> MetricExpectation.Verdict {
        try MetricExpectation(parsing: text).judge(initial: Self.start, final: Self.end)
    }

    @Test func judgesOnTheFinalSnapshotWithRatesOverTheRun() throws {
        #expect(Self.end.series.count == 4)
        #expect(Self.end.series[2].labels == ["kind": "b", "kind_id": "0", "note": "x\"y"])
        // Rates over 2 s: 100/s, 25/s, 0/s.
        #expect(try judge(#"sum(rate(c_total{kind="a"})) == 125"#).holds)
        #expect(try judge("max(rate(c_total)) == 100").holds)
        #expect(try judge("min(rate(c_total)) == 0").holds)
        #expect(try judge("count(c_total) == 3").holds)
        #expect(try judge(#"c_total{kind="b"} == 50"#).holds)
        #expect(try judge(#"count(c_total{kind=~"a|b", kind_id!="1"}) == 2"#).holds)
        #expect(try judge(#"count(c_total{note!~".+"}) == 2"#).holds, "a missing label is the empty string")
        #expect(try judge("g >= sum(rate(c_total{kind=\"b\"}))").holds)
        #expect(try judge("count(nothing) == 0").holds)
        #expect(try judge("sum(nothing) == 0").holds)

        let fails = try judge("sum(rate(c_total)) > 1000")
        #expect(!fails.holds)
        #expect(fails.left == 125)
        #expect(fails.message == "sum(rate(c_total)) > 1000: 125 is not > 1000")
        let many = try judge("c_total > 1")
        #expect(!many.holds && many.message.hasSuffix("c_total matches 3 series; wrap it in sum, min, max or count"))
        let none = try judge("max(nothing) > 1")
        #expect(!none.holds && none.message.hasSuffix("max(nothing) matches no series"))
    }

    @Test func theJUnitReportEscapesWhatItQuotes() throws {
        let holds = try judge("count(c_total) == 3")
        let fails = try judge(#"c_total{kind="b"} < 1"#)
        let xml = JUnitReport.xml(topology: "t<1>", seconds: 2, verdicts: [holds, fails], error: nil)
        #expect(xml.contains(#"<testsuite name="t&lt;1&gt;" tests="2" failures="1" errors="0" skipped="0" time="2">"#))
        #expect(xml.contains(#"name="c_total{kind=&quot;b&quot;} &lt; 1""#))
        #expect(xml.contains(#"<failure message="c_total{kind=&quot;b&quot;} &lt; 1: 50 is not &lt; 1" type="ExpectationFailed"/>"#))
        let died = JUnitReport.xml(topology: "t", seconds: 0, verdicts: [holds], error: ("TileDied", "tile synth:1 killed by SIGKILL"))
        #expect(died.contains(#"errors="1""#) && died.contains(#"<error message="tile synth:1 killed by SIGKILL" type="TileDied"/>"#))
        #expect(JUnitReport.escape("a\u{1}b&'") == "a?b&amp;&apos;")
    }

    @Test func durations() {
        #expect(CIRun.nanos("30s") == 30_000_000_000)
        #expect(CIRun.nanos("2m") == 120_000_000_000)
        #expect(CIRun.nanos("500ms") == 500_000_000)
        #expect(CIRun.nanos("1.5") == 1_500_000_000)
        #expect(CIRun.nanos("1h") == 3_600_000_000_000)
        #expect(CIRun.nanos("0s") == nil && CIRun.nanos("-1s") == nil && CIRun.nanos("1q") == nil && CIRun.nanos("") == nil)
    }
}
