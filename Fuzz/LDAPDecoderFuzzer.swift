// libFuzzer entry point for the LDAP decoder: the frame splitter over a byte stream cut in several ways, then
// LDAPMessage BER decoding of every frame, its re-encoding, and the search-result helpers.
// Built and run by Scripts/fuzz; a crash, a failed check below or a hang is a finding.
//
// Input: one control octet, then the TCP byte stream. The control octet picks the chunk sizes and a small
// message-size cap, so the fuzzer explores how the stream arrives as well as what it holds.
import LDAPCodec

/// A broken invariant: abort so libFuzzer records the input (a Swift trap, not an assert compiled out).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fatalError("LDAPDecoderFuzzer: \(message())")
    }
}

/// What a splitter made of a stream: the frames, then either the octets still held or the error.
private struct SplitOutcome: Equatable {
    var frames: [[UInt8]]
    var buffered: Int
    var error: LDAPDecodingError?
}

/// Feeds `stream` in chunks of `chunkSize` octets (0: all at once).
private func split(_ stream: UnsafeBufferPointer<UInt8>, chunkSize: Int, maximumMessageSize: Int = 1 << 20) -> SplitOutcome {
    var splitter = LDAPFrameSplitter(maximumMessageSize: maximumMessageSize)
    var frames: [[UInt8]] = []
    var start = 0
    repeat {
        let end = chunkSize == 0 ? stream.count : min(stream.count, start + chunkSize)
        do {
            frames += try splitter.append(UnsafeBufferPointer(rebasing: stream[start..<end]))
        } catch {
            // The splitter stays failed: a later append rethrows the same error.
            do {
                _ = try splitter.append([0x30, 0x00])
                check(false, "a failed splitter accepted more bytes")
            } catch let again {
                check(again == error, "a failed splitter threw \(again) after \(error)")
            }
            return SplitOutcome(frames: frames, buffered: 0, error: error)
        }
        start = end
    } while start < stream.count
    return SplitOutcome(frames: frames, buffered: splitter.bufferedByteCount, error: nil)
}

private func decodeAndRoundTrip(_ frame: [UInt8]) {
    let message: LDAPMessage
    do {
        message = try LDAPMessage(decoding: frame)
    } catch {
        check(!error.message.isEmpty, "decoding error without a message")
        if error.code == .unsupportedAuthentication {
            check(error.messageID != nil, "unsupportedAuthentication without the messageID to answer")
        }
        return
    }
    check(message.messageID >= 0, "negative messageID decoded")
    let encoded = message.encoded()
    do {
        let again = try LDAPMessage(decoding: encoded)
        check(again == message, "re-encoded message decodes to another value")
        check(again.encoded() == encoded, "re-encoding is not stable")
    } catch {
        check(false, "re-encoded message does not decode: \(error)")
    }
    if LDAPMessage.searchResultEntryDN(message.protocolOp) != nil {
        guard case .other(tag: 4, _) = message.protocolOp else { return check(false, "an entry DN from another op") }
    }
    if let result = LDAPMessage.searchResultDone(message.protocolOp) {
        // A SearchResultDone's LDAPResult re-encodes as an ExtendedResponse carrying it.
        let wrapped = LDAPMessage(messageID: message.messageID, protocolOp: .extendedResponse(result, name: nil, value: nil))
        let back = try? LDAPMessage(decoding: wrapped.encoded())
        check(back == wrapped, "SearchResultDone's LDAPResult does not round-trip")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = Int(data[0])
    // The fuzzer's own buffer, exactly as long as the input: AddressSanitizer sees any read past it.
    let stream = UnsafeBufferPointer(start: data + 1, count: size - 1)

    // However the stream is cut, the splitter finds the same frames, or the same error. (Frames completed in the
    // call that fails are dropped with the error, so after an error only the error is compared.)
    let whole = split(stream, chunkSize: 0)
    for chunkSize in [1, control % 7 + 2, control / 7 + 1] {
        let outcome = split(stream, chunkSize: chunkSize)
        if let error = whole.error {
            check(outcome.error == error, "chunks of \(chunkSize) fail with \(String(describing: outcome.error)), not \(error)")
            check(outcome.frames.allSatisfy { $0.first == 0x30 }, "a frame not starting with SEQUENCE")
        } else {
            check(outcome == whole, "chunks of \(chunkSize) split differently: \(outcome) vs \(whole)")
        }
    }
    // Without an error, the frames and the held octets are the stream, in order.
    if whole.error == nil {
        check(whole.frames.reduce(0) { $0 + $1.count } + whole.buffered == stream.count, "octets lost or invented")
        check(Array(whole.frames.joined()) == Array(stream.prefix(stream.count - whole.buffered)), "frames are not the stream")
    }
    // A small cap refuses what is above it and nothing else.
    let cap = control + 2
    let capped = split(stream, chunkSize: 0, maximumMessageSize: cap)
    check(capped.frames.allSatisfy { $0.count <= cap }, "a frame above the \(cap)-octet cap")
    if capped.error?.code != .messageTooLarge {
        check(capped == whole, "the cap changed more than oversized frames")
    }

    for frame in whole.frames {
        decodeAndRoundTrip(frame)
    }
    // The decoder also gets the raw stream, as if it were one frame.
    decodeAndRoundTrip(Array(stream))
    return 0
}
