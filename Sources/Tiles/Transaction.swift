/// The transaction-like payload the validator topology moves:
///
///     [0, 64)    Ed25519 signature of bytes [64, size)
///     [64, 96)   the signer's public key
///     [96, size) the message: an 8-byte serial number, then filler
///
/// The fragment's `sig` is the first 8 bytes of the signature: dedup looks
/// at it without reading the payload.
public enum Transaction {
    public static let signatureBytes = 64
    public static let publicKeyBytes = 32
    public static let messageOffset = 96
    /// Header plus the serial number: the smallest well-formed transaction.
    public static let minimumBytes = messageOffset + 8

    /// The tag of a signature: its first 8 bytes.
    @inline(__always)
    public static func tag(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(as: UInt64.self) }
}
