import Testing

@testable import TOML

/// The parser on the cases a topology file meets, and on the inputs that
/// broke the C++ parser it replaced.
struct TOMLParserTests {
    func parse(_ text: String) throws -> TOMLDocument { try TOMLDocument(text: text) }

    /// The error a text gets, or nil when it parses.
    func error(_ text: String) -> TOMLError? {
        do {
            _ = try TOMLDocument(text: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsEveryKindOfValue() throws {
        let doc = try parse(
            """
            s = "tab\\there \\u00e9 \\U0001F600"
            lit = 'C:\\path'
            ml = \"\"\"
            one \\
              two\"\"\"
            mll = '''
            a 'quoted' ''word'''''
            i = -9_223_372_036_854_775_808
            hex = 0xDEAD_beef
            oct = 0o755
            bin = 0b1010
            f = 6.626e-34
            neg_inf = -inf
            t = true
            odt = 1979-05-27 07:32:00.999999-07:00
            ldt = 1979-05-27t07:32:00
            ld = 1979-05-27
            lt = 00:32:00.5
            arr = [ 1, "two", [3.0], { four = 4 }, ]   # mixed, trailing comma
            [tbl.sub]
            "quoted key" = 1
            a.b.c = 2
            """)
        let r = doc.root
        #expect(r["s"]?.string == "tab\there é 😀")
        #expect(r["lit"]?.string == "C:\\path")
        #expect(r["ml"]?.string == "one two")
        #expect(r["mll"]?.string == "a 'quoted' ''word''")
        #expect(r["i"]?.integer == Int64.min)
        #expect(r["hex"]?.integer == 0xDEAD_BEEF)
        #expect(r["oct"]?.integer == 0o755)
        #expect(r["bin"]?.integer == 10)
        #expect(r["f"]?.float == 6.626e-34)
        #expect(r["neg_inf"]?.float == -.infinity)
        #expect(r["t"]?.boolean == true)
        #expect(r["odt"]?.dateTime?.description == "1979-05-27T07:32:00.999999-07:00")
        #expect(r["ldt"]?.dateTime?.typeName == "a local date-time")
        #expect(r["ld"]?.dateTime?.description == "1979-05-27")
        #expect(r["lt"]?.dateTime?.time == TOMLDateTime.Time(hour: 0, minute: 32, second: 0, nanosecond: 500_000_000))
        let arr = try #require(r["arr"]?.array)
        #expect(arr.count == 4)
        #expect(arr[3].table?["four"]?.integer == 4)
        let sub = try #require(r["tbl"]?.table?["sub"]?.table)
        #expect(sub.keys == ["quoted key", "a"])
        #expect(sub["a"]?.table?["b"]?.table?["c"]?.integer == 2)
    }

    @Test func keepsKeysInTheOrderTheFileNamesThem() throws {
        let doc = try parse("[tiles.source]\n[tiles.verify]\n[tiles.metric]\n[links.b]\n[links.a]\n")
        #expect(doc.root.keys == ["tiles", "links"])
        #expect(doc.root["tiles"]?.table?.keys == ["source", "verify", "metric"])
        #expect(doc.root["links"]?.table?.keys == ["b", "a"])
    }

    @Test func knowsWhereEveryKeyAndValueIs() throws {
        let doc = try parse(
            """
            name = "é-ü"   # two-byte characters count once
            [tiles.verify]
              count =   4
            [[arr]]
            x.y = 1
            """)
        #expect(doc.keyPosition(["name"]) == TOMLPosition(line: 1, column: 1))
        #expect(doc.valuePosition(["name"]) == TOMLPosition(line: 1, column: 8))
        #expect(doc.keyPosition(["tiles", "verify"]) == TOMLPosition(line: 2, column: 8))
        #expect(doc.valuePosition(["tiles", "verify"]) == TOMLPosition(line: 2, column: 1))
        #expect(doc.keyPosition(["tiles", "verify", "count"]) == TOMLPosition(line: 3, column: 3))
        #expect(doc.valuePosition(["tiles", "verify", "count"]) == TOMLPosition(line: 3, column: 13))
        // A missing key falls back to its closest enclosing table.
        #expect(doc.valuePosition(["tiles", "verify", "nope"]) == TOMLPosition(line: 2, column: 8))
        #expect(doc.keyPosition(["nope"]) == TOMLPosition(line: 1, column: 1))
        #expect(doc.end == TOMLPosition(line: 6, column: 1))
        let element = try #require(doc.root["arr"]?.array?[0].table)
        #expect(doc.position(try #require(element.entry("x")).keyOffset) == TOMLPosition(line: 5, column: 1))
        // Columns count characters, not bytes: "é" and "ü" are two bytes each.
        #expect(error("k = \"é-ü\" x")?.position == TOMLPosition(line: 1, column: 11))
    }

    struct Bad: CustomTestStringConvertible, Sendable {
        let text: String
        let at: String
        let says: String
        var testDescription: String { String(reflecting: text) }
    }

    static let bad: [Bad] = [
        // Inputs that made toml++ abort (assertions in parse_key, parse_value) or
        // quote a newline into its message; found by fuzz/run.sh.
        Bad(text: "[&x]\n", at: "1:2", says: "expected a key, found \"&\""),
        Bad(text: "[[[a]]]\n", at: "1:3", says: "expected a key, found \"[\""),
        Bad(text: "a=[}", at: "1:4", says: "expected a value, found \"}\""),
        Bad(text: "a = t\n", at: "1:5", says: "\"t\" is not a value; strings are quoted: \"t\""),
        Bad(text: "\"a\\nb\" = 1\nx", at: "2:2", says: "expected \"=\" after the key x, found the end of the file"),
        // Syntax.
        Bad(text: "a = \"open\n", at: "1:5", says: "this string is not closed on its line"),
        Bad(text: "a = '''open", at: "1:5", says: "multi-line string is not closed; end it with '''"),
        Bad(text: "a = [1, 2\n", at: "1:5", says: "this array is not closed"),
        Bad(text: "a = {b = 1,}", at: "1:12", says: "a comma before } is not allowed"),
        Bad(text: "a = {b = 1\n}", at: "1:11", says: "an inline table is written on one line"),
        Bad(text: "a = 1 b = 2", at: "1:7", says: "expected the end of the line after the value, found \"b\""),
        Bad(text: "a = TRUE", at: "1:5", says: "booleans are lowercase: true"),
        Bad(text: "a = 07", at: "1:5", says: "leading zeros are not allowed"),
        Bad(text: "a = 1__0", at: "1:5", says: "an underscore must stand between two digits"),
        Bad(text: "a = 9223372036854775808", at: "1:5", says: "does not fit a 64-bit signed integer"),
        Bad(text: "a = 0x1_0000_0000_0000_0000", at: "1:5", says: "does not fit a 64-bit signed integer"),
        Bad(text: "a = +0x10", at: "1:5", says: "takes no sign"),
        Bad(text: "a = 0b102", at: "1:5", says: "\"2\" is not a base-2 digit"),
        Bad(text: "a = 1.", at: "1:5", says: "a decimal point needs digits on both sides"),
        Bad(text: "a = 1e", at: "1:5", says: "an exponent needs digits"),
        Bad(text: "a = 2023-02-29", at: "1:5", says: "day 29 is not in month 2 of 2023"),
        Bad(text: "a = 24:00:00", at: "1:5", says: "24:00:00 is not a time of day"),
        Bad(text: "a = 07:32:00Z", at: "1:5", says: "a time of day alone takes no offset"),
        Bad(text: "a = \"\\q\"", at: "1:6", says: "\"q\" after a backslash is not an escape"),
        Bad(text: "a = \"\\uD800\"", at: "1:6", says: "U+D800 is not a Unicode scalar value"),
        Bad(text: "a = \"bell\u{07}\"", at: "1:10", says: "control character U+0007 in a string"),
        Bad(text: "# bell \u{07}\n", at: "1:8", says: "control character U+0007 in a comment"),
        Bad(text: "a = 1\r", at: "1:6", says: "a carriage return (\\r) not followed by a line feed"),
        Bad(text: "a = \"\"\"x\"\"\"\"\"\"", at: "1:14", says: "too many quotes"),
        Bad(text: "\"\"\"k\"\"\" = 1", at: "1:1", says: "a key cannot be a multi-line string"),
        Bad(text: "[a]]", at: "1:4", says: "expected the end of the line after the table header, found \"]\""),
        Bad(text: "[[a] ]", at: "1:5", says: "expected \"]]\" to close the header, found \" \""),
        // Definitions (TOML 1.0, "Table" and "Array of Tables").
        Bad(text: "a = 1\na = 2", at: "2:1", says: "a is already defined at line 1"),
        Bad(text: "[a]\n[a]", at: "2:2", says: "[a]: table a is already defined at line 1; define each table once"),
        Bad(text: "a.b = 1\n[a]", at: "2:2", says: "table a is already defined at line 1"),
        Bad(text: "[a.b]\n[a]\nb.c = 1", at: "3:1", says: "table b is already defined at line 1; add its keys under its own [header]"),
        Bad(text: "[fruit]\napple.color = 1\n[fruit.apple]", at: "3:8", says: "table apple is already defined at line 2"),
        Bad(text: "a = {b = 1}\na.c = 2", at: "2:1", says: "a is an inline table (line 1), which is complete once written"),
        Bad(text: "a = {b = 1}\n[a.c]", at: "2:2", says: "[a.c] reaches into a, which is an inline table (line 1)"),
        Bad(text: "a = [1]\n[[a]]", at: "2:3", says: "[[a]] needs an array of tables, but a is an array value (line 1)"),
        Bad(text: "[[a]]\n[a]", at: "2:2", says: "a is an array of tables (write [[a]] to add one)"),
        Bad(text: "a = 1\na.b = 2", at: "2:1", says: "a is an integer (line 1), so a dotted key cannot add keys below it"),
        Bad(text: "a = {x = {y = 1}, x.z = 2}", at: "1:19", says: "x is an inline table"),
        // Text that is not TOML at all.
        Bad(text: "\u{7F}ELF", at: "1:1", says: "expected a key, found control character U+007F"),
    ]

    @Test(arguments: bad) func rejects(_ c: Bad) throws {
        let e = try #require(error(c.text), "parsed: \(String(reflecting: c.text))")
        #expect("\(e.position)" == c.at, "\(e)")
        #expect(e.message.contains(c.says), "\(e)")
        #expect(!e.message.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "one line: \(e)")
    }

    @Test func rejectsBytesThatAreNotUTF8WithTheirPosition() {
        do {
            _ = try TOMLDocument(bytes: Array("a = 1\nb = \"".utf8) + [0xC3, 0x28, 0x22])
            Issue.record("parsed")
        } catch {
            #expect("\(error.position)" == "2:6")
            #expect(error.message.hasPrefix("byte 0xC3 is not UTF-8 text"))
        }
    }

    @Test func acceptsWhatTheSpecAllows() throws {
        // Super-table after its sub-table; sub-tables of a dotted-key table;
        // sub-tables of the latest array-of-tables element; a BOM; CRLF.
        let doc = try TOMLDocument(
            bytes: [0xEF, 0xBB, 0xBF]
                + Array(
                    """
                    [x.y.z.w]\r
                    [x]\r
                    [fruit]
                    apple.color = "red"
                    [fruit.apple.texture]
                    smooth = true
                    [[fruits]]
                    name = "apple"
                    [fruits.physical]
                    color = "red"
                    [[fruits]]
                    name = "banana"
                    [fruits.physical]
                    color = "yellow"
                    """.utf8))
        #expect(doc.root.keys == ["x", "fruit", "fruits"])
        let fruits = try #require(doc.root["fruits"]?.array)
        #expect(fruits.count == 2)
        #expect(fruits[1].table?["physical"]?.table?["color"]?.string == "yellow")
        #expect(doc.root["fruit"]?.table?["apple"]?.table?["texture"]?.table?["smooth"]?.boolean == true)
    }

    @Test func refusesNestingDeeperThanTheLimit() {
        let deep = TOMLDocument.maxNesting + 10
        let cases = [
            "a = " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep),
            "a = " + String(repeating: "{b = ", count: deep) + "1" + String(repeating: "}", count: deep),
            Array(repeating: "k", count: deep).joined(separator: ".") + " = 1",
            "[" + Array(repeating: "k", count: deep).joined(separator: ".") + "]",
        ]
        for text in cases {
            let e = error(text)
            #expect(e?.message.hasPrefix("nesting deeper than \(TOMLDocument.maxNesting) levels") == true, "\(String(describing: e))")
        }
        // At the limit itself, fine.
        let ok = TOMLDocument.maxNesting - 2
        #expect(error("a = " + String(repeating: "[", count: ok) + String(repeating: "]", count: ok)) == nil)
    }

    @Test func parsesALargeDocumentInOnePass() throws {
        // 100,000 elements on one line: positions are computed when asked,
        // so this is linear, not quadratic, in the line's length.
        let text = "a = [" + Array(repeating: "123", count: 100_000).joined(separator: ",") + "]\n"
        let doc = try parse(text)
        #expect(doc.root["a"]?.array?.count == 100_000)
        #expect(doc.valuePosition(["a"]) == TOMLPosition(line: 1, column: 5))
    }

    @Test func quotesWhatItShowsOnOneLine() {
        #expect(quoted("a\nb\"c\\\u{7F}") == "\"a\\nb\\\"c\\\\\\u007F\"")
        #expect(quotedKey("plain-key_1") == "plain-key_1")
        #expect(quotedKey("has space") == "\"has space\"")
        #expect(quotedKey("") == "\"\"")
    }
}
