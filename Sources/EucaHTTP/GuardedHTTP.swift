public import EucaCore
public import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import HTTPTypes
import Synchronization

/// HTTP/1.1 servers that hold no connection longer than ``HTTPLimits`` allow.
///
/// Use ``http1(_:name:)`` where Hummingbird takes a server (`Application(server:)`), alone or
/// inside `.tls(_:configuration:)`. Each connection is timed from its first byte: the headers of
/// a request must arrive within `headerTimeout`, its body within `bodyTimeout`, and a kept-alive
/// connection must start its next request within `idleTimeout`; a server holds at most
/// `maxConnections` at once, and `maxConnectionsPerClient` from one address, and closes the ones
/// over either as they arrive. A response that says
/// `Connection: close` closes the connection once it is written. The time a handler takes to
/// answer is not limited. Metrics, labelled with the server's `name`:
/// `euca_http_connections_open`, `euca_http_connections_shed_total` and
/// `euca_http_connections_timed_out_total` (by `phase`: header, body or idle).
public enum GuardedHTTP {
    public static func http1(_ limits: HTTPLimits, name: String) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                base: HTTP1Channel(responder: responder), limits: limits,
                gate: ConnectionGate(name: name, limit: limits.maxConnections, limitPerClient: limits.maxConnectionsPerClient))
        }
    }
}

/// Thrown from a connection's setup when the server already holds its limit; the connection is
/// closed without a byte read.
struct ConnectionLimitReached: Error {}

/// Counts one server's open connections against its limits (in all, and from one client
/// address), with their metrics.
final class ConnectionGate: Sendable {
    let limit: Int
    let limitPerClient: Int
    private let open = Mutex<(total: Int, byClient: [String: Int])>((0, [:]))
    private let openGauge: Gauge
    let shed: Counter
    let timedOut: [ConnectionTimer.Phase: Counter]

    init(name: String, limit: Int, limitPerClient: Int) {
        self.limit = limit
        self.limitPerClient = limitPerClient
        openGauge = Gauge(label: "euca_http_connections_open", dimensions: [("server", name)])
        shed = Counter(label: "euca_http_connections_shed_total", dimensions: [("server", name)])
        timedOut = Dictionary(uniqueKeysWithValues: ConnectionTimer.Phase.allCases.map { phase in
            (phase, Counter(label: "euca_http_connections_timed_out_total", dimensions: [("server", name), ("phase", phase.rawValue)]))
        })
    }

    /// Takes a place for a new connection from `client`, or says there is none.
    func admit(from client: String) -> Bool {
        let total = open.withLock { open -> Int? in
            guard open.total < limit, open.byClient[client, default: 0] < limitPerClient else { return nil }
            open.total += 1
            open.byClient[client, default: 0] += 1
            return open.total
        }
        guard let total else {
            shed.increment()
            return false
        }
        openGauge.record(total)
        return true
    }

    func release(from client: String) {
        let total = open.withLock { open -> Int in
            open.total -= 1
            let remaining = open.byClient[client, default: 1] - 1
            open.byClient[client] = remaining > 0 ? remaining : nil
            return open.total
        }
        openGauge.record(total)
    }
}

/// The HTTP/1 child channel with the gate and the per-connection timer in its pipeline.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let limits: HTTPLimits
    let gate: ConnectionGate

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let client = channel.remoteAddress?.ipAddress ?? "-"
        guard gate.admit(from: client) else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ConnectionLimitReached())
        }
        let gate = gate
        channel.closeFuture.whenComplete { _ in gate.release(from: client) }
        let timer = ConnectionTimer(channel: channel, limits: limits, gate: gate)
        do {
            try channel.pipeline.syncOperations.addHandler(ByteActivityHandler(timer: timer), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        var configuration = base.configuration
        let bound = NIOLoopBound(timer, eventLoop: channel.eventLoop)
        configuration.additionalChannelHandlers = { [MessageActivityHandler(timer: bound.value)] }
        return HTTP1Channel(responder: base.responder, configuration: configuration).setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// One connection's deadline, moved along as the exchange goes: bytes of a new request start
/// the header clock, a parsed head the body clock, a complete request stops the clock while the
/// handler answers, and a written response starts the idle clock. When a deadline passes, the
/// connection is closed. Lives on the connection's event loop only.
///
/// Moving the deadline costs an assignment: one task is scheduled at a time, and when it fires
/// early (the deadline moved later) it schedules itself again for what is left. Only a deadline
/// earlier than the task's time schedules anew.
final class ConnectionTimer {
    enum Phase: String, CaseIterable {
        case header, body, idle
    }

    private let channel: any Channel
    private let limits: HTTPLimits
    private let gate: ConnectionGate
    /// Requests whose head arrived and whose response is not written yet.
    private var inFlight = 0
    private var readingBody = false
    /// Bytes of a request not yet parsed into its head (or a new connection's first request).
    private var awaitingHead = true
    private var closeAfterResponse = false
    /// When the connection is closed unless the exchange moves on, and which phase that ends.
    private var deadline: (at: NIODeadline, phase: Phase)?
    /// The one scheduled check, and when it runs.
    private var check: (task: Scheduled<Void>, at: NIODeadline)?
    private var closed = false

    init(channel: any Channel, limits: HTTPLimits, gate: ConnectionGate) {
        self.channel = channel
        self.limits = limits
        self.gate = gate
        arm()
    }

    func bytesArrived() {
        guard !awaitingHead, !readingBody, inFlight == 0 else { return }
        awaitingHead = true
        arm()
    }

    func headArrived() {
        awaitingHead = false
        readingBody = true
        inFlight += 1
        arm()
    }

    func requestEnded() {
        readingBody = false
        arm()
    }

    func responseHead(_ response: HTTPResponse) {
        if response.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
    }

    /// Whether the connection closes once the response now being written is out.
    var closesAfterResponse: Bool { closeAfterResponse }

    /// Called as the response's end is written (once it is out, when the connection closes after it).
    func responseEnded() {
        inFlight = max(0, inFlight - 1)
        if closeAfterResponse {
            cancel()
            channel.close(promise: nil)
            return
        }
        arm()
    }

    private func arm() {
        let phase: Phase
        let limit: Duration
        if readingBody {
            (phase, limit) = (.body, limits.bodyTimeout)
        } else if inFlight > 0 {
            deadline = nil  // the handler is answering; its time is its own
            return
        } else if awaitingHead {
            (phase, limit) = (.header, limits.headerTimeout)
        } else {
            (phase, limit) = (.idle, limits.idleTimeout)
        }
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        let at = NIODeadline.now() + .nanoseconds(nanoseconds)
        deadline = (at, phase)
        if let check, check.at <= at { return }
        check?.task.cancel()
        schedule(at)
    }

    private func schedule(_ at: NIODeadline) {
        guard !closed else { return }
        let timer = NIOLoopBound(self, eventLoop: channel.eventLoop)
        check = (channel.eventLoop.scheduleTask(deadline: at) { timer.value.fired() }, at)
    }

    private func fired() {
        check = nil
        guard let deadline, !closed else { return }
        if deadline.at > .now() {
            schedule(deadline.at)
            return
        }
        gate.timedOut[deadline.phase]?.increment()
        cancel()
        channel.close(promise: nil)
    }

    func cancel() {
        closed = true
        deadline = nil
        check?.task.cancel()
        check = nil
    }
}

/// First in the pipeline: tells the timer when bytes arrive, before any decoding (or TLS).
final class ByteActivityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let timer: ConnectionTimer

    init(timer: ConnectionTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        context.fireChannelInactive()
    }
}

/// After HTTP decoding: tells the timer where each request and response begins and ends.
final class MessageActivityHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private let timer: ConnectionTimer

    init(timer: ConnectionTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: timer.headArrived()
        case .body: break
        case .end: timer.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.kind != .informational { timer.responseHead(head) }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard timer.closesAfterResponse else {
                timer.responseEnded()
                context.write(data, promise: promise)
                return
            }
            let written = promise ?? context.eventLoop.makePromise()
            let timer = NIOLoopBound(timer, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in timer.value.responseEnded() }
            context.write(data, promise: written)
        }
    }
}
