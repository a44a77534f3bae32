/// A classic BPF interpreter for seccomp programs, as the kernel runs them
/// (`struct sock_filter` over `struct seccomp_data`): the tests run the
/// exact bytes libseccomp exported against chosen arguments, so what they
/// check is the filter a tile loads, not our idea of it.
struct ClassicBPF {
    struct Instruction {
        let code: UInt16
        let jt: UInt8
        let jf: UInt8
        let k: UInt32
    }

    /// What the kernel hands a seccomp filter.
    struct SeccompData {
        var nr: Int32
        var arch: UInt32
        var ip: UInt64 = 0
        var args: [UInt64] = Array(repeating: 0, count: 6)

        /// The 32-bit word at byte `offset`, little-endian, as BPF_ABS loads it.
        func word(at offset: UInt32) -> UInt32? {
            switch offset {
            case 0: return UInt32(bitPattern: nr)
            case 4: return arch
            case 8: return UInt32(truncatingIfNeeded: ip)
            case 12: return UInt32(truncatingIfNeeded: ip >> 32)
            case 16..<64 where offset % 4 == 0:
                let arg = args[Int(offset - 16) / 8]
                return offset % 8 == 0 ? UInt32(truncatingIfNeeded: arg) : UInt32(truncatingIfNeeded: arg >> 32)
            default: return nil
            }
        }
    }

    enum Failure: Error { case badInstruction(Int, UInt16), badLoad(UInt32), fellOff }

    let program: [Instruction]

    /// `bytes`: 8 bytes per instruction, as seccomp_export_bpf writes them.
    init(_ bytes: [UInt8]) {
        precondition(bytes.count % 8 == 0)
        program = stride(from: 0, to: bytes.count, by: 8).map { i in
            Instruction(
                code: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8, jt: bytes[i + 2], jf: bytes[i + 3],
                k: UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24)
        }
    }

    /// The filter's return value (SECCOMP_RET_*) for `data`.
    func run(_ data: SeccompData) throws -> UInt32 {
        var a: UInt32 = 0, x: UInt32 = 0
        var mem = [UInt32](repeating: 0, count: 16)
        var pc = 0
        while pc < program.count {
            let ins = program[pc]
            let cls = ins.code & 0x07
            switch cls {
            case 0x00, 0x01:  // LD, LDX
                let value: UInt32
                switch ins.code & 0xE0 {
                case 0x00: value = ins.k  // IMM
                case 0x20:  // ABS
                    guard ins.code & 0x18 == 0, let w = data.word(at: ins.k) else { throw Failure.badLoad(ins.k) }
                    value = w
                case 0x60: value = mem[Int(ins.k & 15)]  // MEM
                case 0x80: value = 64  // LEN
                default: throw Failure.badInstruction(pc, ins.code)
                }
                if cls == 0x00 { a = value } else { x = value }
            case 0x02: mem[Int(ins.k & 15)] = a  // ST
            case 0x03: mem[Int(ins.k & 15)] = x  // STX
            case 0x04:  // ALU
                let operand = ins.code & 0x08 != 0 ? x : ins.k
                switch ins.code & 0xF0 {
                case 0x00: a = a &+ operand
                case 0x10: a = a &- operand
                case 0x20: a = a &* operand
                case 0x30: a = operand == 0 ? 0 : a / operand
                case 0x40: a |= operand
                case 0x50: a &= operand
                case 0x60: a = operand >= 32 ? 0 : a << operand
                case 0x70: a = operand >= 32 ? 0 : a >> operand
                case 0x80: a = 0 &- a
                case 0x90: a = operand == 0 ? 0 : a % operand
                case 0xA0: a ^= operand
                default: throw Failure.badInstruction(pc, ins.code)
                }
            case 0x05:  // JMP
                let operand = ins.code & 0x08 != 0 ? x : ins.k
                let taken: Bool
                switch ins.code & 0xF0 {
                case 0x00: pc += 1 + Int(ins.k); continue  // JA
                case 0x10: taken = a == operand
                case 0x20: taken = a > operand
                case 0x30: taken = a >= operand
                case 0x40: taken = a & operand != 0
                default: throw Failure.badInstruction(pc, ins.code)
                }
                pc += 1 + Int(taken ? ins.jt : ins.jf)
                continue
            case 0x06:  // RET
                switch ins.code & 0x18 {
                case 0x00: return ins.k
                case 0x10: return a
                default: throw Failure.badInstruction(pc, ins.code)
                }
            case 0x07:  // MISC
                if ins.code & 0xF8 == 0x00 { x = a } else { a = x }
            default: throw Failure.badInstruction(pc, ins.code)
            }
            pc += 1
        }
        throw Failure.fellOff
    }

    static let allow: UInt32 = 0x7FFF_0000
    static let killProcess: UInt32 = 0x8000_0000
}
