import Testing

@testable import Shared

struct TOMLLocatorTests {
    @Test func findsKeysValuesAndTables() {
        let text = """
            # a comment with key = "value" in it
            name = "x"   # trailing
            [log]
              path = '''
            multi = line
            '''
            level_stderr = "info"
            [tiles.metric]
            prometheus_listen_port = 7999
            "quoted key" = [1,
              2, { a = 1 }]
            after = true
            [tiles.synth]
            a.b.c = 1
            inline = { x = { y = 2 } }
            """
        let loc = TOMLLocator(text: text)
        #expect(loc.key(["name"]).description == "2:1")
        #expect(loc.value(["name"]).description == "2:8")
        #expect(loc.key(["log"]).description == "3:1")
        #expect(loc.value(["log", "path"]).description == "4:10")
        #expect(loc.key(["log", "level_stderr"]).description == "7:1")
        #expect(loc.key(["tiles", "metric"]).description == "8:1")
        #expect(loc.key(["tiles"]).description == "8:1")
        #expect(loc.value(["tiles", "metric", "prometheus_listen_port"]).description == "9:26")
        #expect(loc.key(["tiles", "metric", "quoted key"]).description == "10:1")
        #expect(loc.key(["tiles", "metric", "after"]).description == "12:1")
        #expect(loc.key(["tiles", "synth", "a", "b", "c"]).description == "14:1")
        #expect(loc.key(["tiles", "synth", "a"]).description == "14:1")
        #expect(loc.value(["tiles", "synth", "inline", "x", "y"]).description == "15:22")
        // An unknown path falls back to its closest known table.
        #expect(loc.key(["tiles", "synth", "nope"]).description == "13:1")
        #expect(loc.key(["nothing"]).description == "1:1")
    }

    @Test func countsColumnsInCharactersNotBytes() {
        let loc = TOMLLocator(text: "a = \"\u{E9}\u{E9}\" ; b = 1\nc = \"\u{2615}\"\nd = 1")
        #expect(loc.key(["d"]).description == "3:1")
        #expect(loc.value(["c"]).description == "2:5")
    }

    @Test func survivesUnterminatedInput() {
        // The locator only runs on valid documents, but must never crash.
        for text in ["a = \"unterminated", "[unclosed", "a = [1, 2", "a = {", "'''", "\"\"\"x", "a.b. = "] {
            _ = TOMLLocator(text: text)
        }
    }
}
