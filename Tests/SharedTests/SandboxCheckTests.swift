import Testing

@testable import Shared

struct SandboxCheckTests {
    let keep: [DescriptorRole: FileDescriptor] = [.stderr: FileDescriptor(rawValue: 2), .deathPipe: FileDescriptor(rawValue: 3)]

    @Test func exactlyTheDeclaredDescriptorsPass() throws {
        try Sandbox.checkDescriptors(keep, open: [2, 3])
    }

    @Test func aStrayDescriptorIsAnErrorNamingIt() throws {
        let error = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(keep, open: [2, 3, 1]) }
        #expect(error.description.hasPrefix("sandbox step 2 descriptors: descriptor 1 ("))
        #expect(error.description.hasSuffix(") is open but not declared; declared: 2 stderr, 3 death pipe"))
    }

    @Test func aDeclaredDescriptorThatIsNotOpenIsAnError() throws {
        let error = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(keep, open: [2]) }
        #expect(error.description == "sandbox step 2 descriptors: the death pipe (descriptor 3) is declared but not open")
    }

    @Test func aDescriptorDeclaredTwiceIsAnError() throws {
        var twice = keep
        twice[.logFile] = FileDescriptor(rawValue: 3)
        let error = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(twice, open: [2, 3]) }
        #expect(error.description == "sandbox step 2 descriptors: descriptor 3 is declared twice, as the death pipe and the log file")
    }

    @Test func aNegativeDescriptorIsAnError() throws {
        var negative = keep
        negative[.logFile] = FileDescriptor(rawValue: -1)
        let error = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(negative, open: [2, 3]) }
        #expect(error.description == "sandbox step 2 descriptors: the log file is declared as descriptor -1, which is negative")
    }

    @Test func aDescriptorAwayFromItsCompiledNumberIsAnError() throws {
        let expected: [DescriptorRole: FileDescriptor] = [.stderr: FileDescriptor(rawValue: 2), .deathPipe: FileDescriptor(rawValue: 4)]
        let error = try #require(throws: RuntimeError.self) { try Sandbox.checkDescriptors(keep, expected: expected, open: [2, 3]) }
        #expect(
            error.description == "sandbox step 2 descriptors: the death pipe is descriptor 3, but its filter is compiled for descriptor 4")
    }

    @Test func theFileLimitLeavesRoomForExactlyTheDescriptorsOpened() {
        #expect(SandboxProfile.fileLimit(keeping: [2, 3, 4], opening: 0) == 0)
        #expect(SandboxProfile.fileLimit(keeping: [2, 3, 4], opening: 2) == 2)
        #expect(SandboxProfile.fileLimit(keeping: [2, 3, 4], opening: 3) == 6)
        #expect(SandboxProfile.fileLimit(keeping: [2, 3, 4, 5], opening: 129) == 133)
    }
}
