/// `run --junit FILE`: one test case per expectation, in the JUnit XML that
/// CI systems read (Jenkins, GitLab, GitHub's test reporters): a
/// `<testsuites>` with one `<testsuite>` named after the topology.
enum JUnitReport {
    /// `error`: why no expectation could be judged (a tile died, the
    /// topology did not start, a signal stopped it), if so; then each is an
    /// error of that type.
    static func xml(
        topology: String, seconds: Double, verdicts: [MetricExpectation.Verdict], error: (type: String, message: String)?
    ) -> String {
        let failures = error == nil ? verdicts.filter { !$0.holds }.count : 0
        let errors = error == nil ? 0 : verdicts.count
        let time = MetricExpectation.format((seconds * 1000).rounded() / 1000)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"tilectl\" tests=\"\(verdicts.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(time)\">\n"
        out +=
            "  <testsuite name=\"\(escape(topology))\" tests=\"\(verdicts.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\" time=\"\(time)\">\n"
        for v in verdicts {
            out += "    <testcase classname=\"tilectl.\(escape(topology))\" name=\"\(escape(v.expectation.text))\" time=\"\(time)\""
            if let error {
                out += ">\n      <error message=\"\(escape(error.message))\" type=\"\(escape(error.type))\"/>\n    </testcase>\n"
            } else if v.holds {
                out += ">\n      <system-out>\(escape(v.message))</system-out>\n    </testcase>\n"
            } else {
                out += ">\n      <failure message=\"\(escape(v.message))\" type=\"ExpectationFailed\"/>\n    </testcase>\n"
            }
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// XML text and attribute values: the five entities, and control
    /// characters (which XML 1.0 cannot carry) as `?`.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n": out += "&#\(c.value);"
            default: out.unicodeScalars.append(c.value < 0x20 || c.value == 0x7F ? "?" : c)
            }
        }
        return out
    }
}
