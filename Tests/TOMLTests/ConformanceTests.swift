import Foundation
import Testing
@testable import TOML

/// Runs toml-test, the language-independent TOML test suite, on the parser:
/// the TOML 1.0 files kept in Tests/TOMLTests/toml-test (see its README for
/// where they come from and how to refresh them). Every valid document must
/// read as its .json says, exactly; every invalid one must be rejected, with
/// a one-line error that points into the document.
@Suite struct ConformanceTests {
    /// `.toml` files the list names at the commit kept here: a list cut
    /// short must not pass for a suite passed.
    static let expectedAtLeast = 709

    @Test func passesTomlTest() {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("toml-test")
        func read(_ name: some StringProtocol) -> [UInt8]? {
            FileManager.default.contents(atPath: folder.appendingPathComponent(String(name)).path).map { [UInt8]($0) }
        }
        guard let list = read("files-toml-1.0.0") else {
            Issue.record("toml-test is not at \(folder.path): no files-toml-1.0.0 there (see its README.md)")
            return
        }
        let names = String(decoding: list, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let documents = names.filter { $0.hasSuffix(".toml") }

        var failures: [String] = []
        if documents.count < Self.expectedAtLeast {
            failures.append("files-toml-1.0.0 names \(documents.count) .toml files, fewer than \(Self.expectedAtLeast)")
        }
        for name in names {
            guard let bytes = read(name) else {
                failures.append("\(name): named by files-toml-1.0.0 but not in \(folder.path)")
                continue
            }
            let problem: String?
            if !name.hasSuffix(".toml") {
                problem = nil  // a .json expectation, read with its .toml
            } else if name.hasPrefix("valid/") {
                if let json = read(name.dropLast(".toml".count) + ".json") {
                    problem = checkValid(bytes, expectation: json)
                } else {
                    problem = "its .json expectation is missing"
                }
            } else if name.hasPrefix("invalid/") {
                problem = checkInvalid(bytes)
            } else {
                problem = "neither valid/ nor invalid/"
            }
            if let problem { failures.append("\(name): \(problem)") }
        }
        for f in failures { Issue.record(Comment(rawValue: f)) }
        print("toml-test 1.0: \(documents.count) files, \(failures.count) failures")
    }
}

// MARK: the checks

/// What is wrong with how we read a valid document, or nil.
private func checkValid(_ bytes: [UInt8], expectation: [UInt8]) -> String? {
    let theirs: JSON
    do {
        var reader = JSONReader(expectation)
        theirs = try canonicalExpectation(reader.document())
    } catch {
        return "its .json expectation is unreadable: \(error)"
    }
    let ours: JSON
    do throws(TOMLError) {
        ours = canonical(.table(try TOMLDocument(bytes: bytes).root), fractionDigits: 9)
    } catch {
        return "valid, but we reject it: \(error)"
    }
    return difference(theirs, ours, at: "")
}

/// What is wrong with how we reject an invalid document, or nil.
private func checkInvalid(_ bytes: [UInt8]) -> String? {
    do throws(TOMLError) {
        let root = try TOMLDocument(bytes: bytes).root
        return "invalid, but we read \(escaped(bytes)) as \(canonical(.table(root), fractionDigits: 9))"
    } catch {
        return checkError(error, bytes)
    }
}

/// Where toml-test's values and ours first differ, or nil when they are the same.
private func difference(_ theirs: JSON, _ ours: JSON, at path: String) -> String? {
    let here = path.isEmpty ? "the root" : path
    switch (theirs, ours) {
    case (.array(let a), .array(let b)):
        guard a.count == b.count else { return "\(here): toml-test has \(a.count) elements, we have \(b.count): \(ours)" }
        for (k, (x, y)) in zip(a, b).enumerated() {
            if let d = difference(x, y, at: "\(path)[\(k)]") { return d }
        }
        return nil
    case (.object(let a), .object(let b)) where !isScalar(theirs) && !isScalar(ours):
        for key in Set(a.keys).union(b.keys).sorted() {
            let sub = (path.isEmpty ? "" : path + ".") + quotedKey(key.string)
            switch (a[key], b[key]) {
            case (let x?, let y?): if let d = difference(x, y, at: sub) { return d }
            case (_?, nil): return "\(sub): toml-test has it, we do not"
            case (nil, _?): return "\(sub): we have it, toml-test does not"
            case (nil, nil): break
            }
        }
        return nil
    default:
        return theirs == ours ? nil : "\(here): toml-test has \(theirs), we have \(ours)"
    }
}

private func isScalar(_ v: JSON) -> Bool {
    if case .object(let o) = v, o.count == 2, case .string? = o[Text("t")], case .string? = o[Text("v")] { return true }
    return false
}

// MARK: toml-test's expectations

private struct Unexpected: Error, CustomStringConvertible {
    let description: String
}

/// toml-test's JSON for a document (tables as objects, arrays as lists,
/// other values as {"type", "value"}) in the form `canonical` gives ours.
/// Its text is read apart from the parser, exactly: integers to Int64,
/// floats to their bits, date-times to the nanosecond.
private func canonicalExpectation(_ json: JSON) throws(Unexpected) -> JSON {
    switch json {
    case .string(let s):
        throw Unexpected(description: "a bare string \(s) where a table, an array or {type, value} belongs")
    case .array(let a):
        var out: [JSON] = []
        for e in a { out.append(try canonicalExpectation(e)) }
        return .array(out)
    case .object(let o):
        if o.count == 2, case .string(let type)? = o[Text("type")], case .string(let value)? = o[Text("value")] {
            guard let v = scalar(type.string, value) else {
                throw Unexpected(description: "{type: \(type), value: \(value)} is not a value we know how to read")
            }
            return canonical(v, fractionDigits: 9)
        }
        var out: [Text: JSON] = [:]
        for (k, v) in o { out[k] = try canonicalExpectation(v) }
        return .object(out)
    }
}

/// One of toml-test's {"type", "value"} as a TOMLValue, or nil.
private func scalar(_ type: String, _ value: Text) -> TOMLValue? {
    switch type {
    case "string": .string(value.string)
    case "integer": Int64(value.string).map { .integer($0) }
    // "inf", "-inf", "nan", "+nan", "-0", "1e+06": Double reads them all.
    case "float": Double(value.string).map { .float($0) }
    case "bool": value.string == "true" ? .boolean(true) : value.string == "false" ? .boolean(false) : nil
    case "datetime", "datetime-local", "date-local", "time-local": dateTime(type, value.string).map { .dateTime($0) }
    default: nil
    }
}

/// toml-test's text for a date-time of the type given: T, t or a space
/// between date and time; an offset of Z, z or ±HH:MM; any number of digits
/// of fraction, of which the first nine are kept (as TOMLDateTime keeps them).
private func dateTime(_ type: String, _ text: String) -> TOMLDateTime? {
    var rest = Array(text.utf8)[...]
    func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    func number(_ width: Int) -> Int? {
        let digits = rest.prefix(width)
        guard digits.count == width, digits.allSatisfy(isDigit) else { return nil }
        rest.removeFirst(width)
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
    func take(_ any: String) -> UInt8? {
        guard let c = rest.first, any.utf8.contains(c) else { return nil }
        rest.removeFirst()
        return c
    }
    var date: TOMLDateTime.Date?
    if type != "time-local" {
        guard let y = number(4), take("-") != nil, let m = number(2), take("-") != nil, let d = number(2) else { return nil }
        date = TOMLDateTime.Date(year: y, month: m, day: d)
        if type != "date-local" && take("Tt ") == nil { return nil }
    }
    var time: TOMLDateTime.Time?
    if type != "date-local" {
        guard let h = number(2), take(":") != nil, let mi = number(2), take(":") != nil, let s = number(2) else { return nil }
        var nanos = 0, digits = 0
        if take(".") != nil {
            while let c = rest.first, isDigit(c) {
                if digits < 9 { nanos = nanos * 10 + Int(c - 0x30) }
                digits += 1
                rest.removeFirst()
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { nanos *= 10 }
        }
        time = TOMLDateTime.Time(hour: h, minute: mi, second: s, nanosecond: nanos)
    }
    var offset: Int?
    if type == "datetime" {
        if take("Zz") != nil {
            offset = 0
        } else {
            guard let sign = take("+-"), let h = number(2), take(":") != nil, let m = number(2) else { return nil }
            offset = (sign == UInt8(ascii: "-") ? -1 : 1) * (h * 60 + m)
        }
    }
    return rest.isEmpty ? TOMLDateTime(date: date, time: time, offsetMinutes: offset) : nil
}
