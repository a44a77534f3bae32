import Testing

@testable import Shared

struct SandboxCheckTests {
    let keep: [DescriptorRole: FileDescriptor] = [.stderr: FileDescriptor(rawValue: 2), .deathPipe: FileDescriptor(rawValue: 4)]

    @Test func exactlyTheDeclaredDescriptorsPass() throws {
        try Sandbox.checkDescriptors(keep, open: [2, 4])
    }

    @Test func aStrayDescriptorIsAnErrorNamingIt() throws {
        let error = try #require(throws: SandboxError.self) { try Sandbox.checkDescriptors(keep, open: [2, 4, 1]) }
        #expect(error.description.hasPrefix("sandbox step 2 descriptors: descriptor 1 ("))
        #expect(error.description.hasSuffix(") is open but not declared; declared: 2 stderr, 4 death pipe"))
    }

    @Test func aDeclaredDescriptorThatIsNotOpenIsAnError() throws {
        let error = try #require(throws: SandboxError.self) { try Sandbox.checkDescriptors(keep, open: [2]) }
        #expect(error.description == "sandbox step 2 descriptors: the death pipe (descriptor 4) is declared but not open")
    }
}
