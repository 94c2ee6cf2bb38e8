public import HummingbirdCore
import HTTPTypes
import NIOCore

/// A request body read whole, up to a limit.
public enum RequestBodyRead: Sendable {
    case complete([UInt8])
    /// Longer than the limit (by its `Content-Length` or by what arrived): answer 413 and close.
    case tooLarge
    /// Ended before its `Content-Length`, or the connection failed while it was read: answer 400.
    case incomplete

    /// Reads `request`'s body; a `Content-Length` over `limit` is refused before a byte is read.
    public static func read(_ request: Request, limit: Int) async -> RequestBodyRead {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { return .tooLarge }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return .complete(Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            return .tooLarge
        } catch {
            return .incomplete
        }
    }
}
