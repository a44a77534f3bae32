import Testing

@testable import Shared

/// `[layout] affinity`: CPU lists as Firedancer's operators write them, one
/// CPU per pinned tile in topology order, floating tiles on what is left.
struct AffinityTests {
    @Test func parsesCPUListsAndRanges() throws {
        #expect(try Affinity.parse("0-7").get() == Array(0...7))
        #expect(try Affinity.parse("1,3,5-9").get() == [1, 3, 5, 6, 7, 8, 9])
        #expect(try Affinity.parse("3,1,1-2").get() == [1, 2, 3])
        for bad in ["", "a", "1-", "-1", "3-1", "1,,2", "1-2-3", "0x1", "1024", " 1"] {
            #expect(throws: Affinity.ListError.self, "\(bad)") { try Affinity.parse(bad).get() }
        }
        #expect(Affinity.format([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
    }

    let kinds = ["source", "verify", "verify", "sink", "metric"]

    @Test func pinsInTopologyOrderAndFloatsTheRest() throws {
        let cpus = try Affinity.assign(
            kinds: kinds, placement: ["metric": .floating], layout: [2, 3, 4, 5, 6, 7], auto: false,
            allowed: Array(0...7)
        ).get()
        #expect(cpus == [[2], [3], [4], [5], [6, 7]])
    }

    @Test func aFloatingTileGetsEveryListedCPUWhenPinnedTilesTookThemAll() throws {
        let cpus = try Affinity.assign(
            kinds: ["synth", "synth", "metric"], placement: ["metric": .floating], layout: [0, 1], auto: false,
            allowed: [0, 1]
        ).get()
        #expect(cpus == [[0], [1], [0, 1]])
    }

    @Test func autoWrapsAroundWhereAListIsRefused() throws {
        let auto = try Affinity.assign(kinds: kinds, placement: [:], layout: [0, 1], auto: true, allowed: [0, 1]).get()
        #expect(auto == [[0], [1], [0], [1], [0]])
        #expect(
            Affinity.assign(kinds: kinds, placement: [:], layout: [0, 1], auto: false, allowed: [0, 1])
                == .failure(.tooFew(cpus: 2, tiles: 5, kind: nil)))
    }

    @Test func aKindsOwnListPinsItsTiles() throws {
        let cpus = try Affinity.assign(
            kinds: kinds, placement: ["verify": .cpus([6, 7]), "metric": .floating], layout: [2, 3], auto: false,
            allowed: Array(0...7)
        ).get()
        #expect(cpus == [[2], [6], [7], [3], [2, 3]])
        #expect(
            Affinity.assign(kinds: kinds, placement: ["verify": .cpus([6])], layout: nil, auto: false, allowed: Array(0...7))
                == .failure(.tooFew(cpus: 1, tiles: 2, kind: "verify")))
    }

    @Test func aCPUThisProcessMayNotUseIsRefused() {
        #expect(
            Affinity.assign(kinds: kinds, placement: [:], layout: [0, 9], auto: false, allowed: [0, 1])
                == .failure(.notAllowed(cpu: 9, kind: nil)))
        #expect(
            Affinity.assign(kinds: kinds, placement: ["sink": .cpus([4])], layout: nil, auto: false, allowed: [0, 1])
                == .failure(.notAllowed(cpu: 4, kind: "sink")))
    }

    @Test func withoutALayoutListNothingIsPinned() throws {
        let cpus = try Affinity.assign(kinds: kinds, placement: ["metric": .floating], layout: nil, auto: false, allowed: [0, 1])
            .get()
        #expect(cpus.allSatisfy { $0.isEmpty })
    }

    @Test func thisProcessMayUseSomeCPU() {
        #expect(!Affinity.allowedCPUs().isEmpty)
    }
}
