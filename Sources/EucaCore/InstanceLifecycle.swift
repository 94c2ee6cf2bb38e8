/// The state of an instance as EC2 reports it, with EC2's numeric codes.
public enum InstanceState: String, Sendable, Codable, Hashable, CaseIterable {
    case pending
    case running
    case shuttingDown = "shutting-down"
    case terminated
    case stopping
    case stopped

    /// EC2's code for the state (the low byte of `instanceState.code`).
    public var code: Int {
        switch self {
        case .pending: 0
        case .running: 16
        case .shuttingDown: 32
        case .terminated: 48
        case .stopping: 64
        case .stopped: 80
        }
    }

    /// EC2's name for the state, as in `instance-state-name`.
    public var name: String { rawValue }

    /// Whether the instance holds resources on a node in this state.
    public var occupiesNode: Bool {
        switch self {
        case .pending, .running, .stopping, .shuttingDown: true
        case .terminated, .stopped: false
        }
    }
}

/// A request a user makes of an instance.
public enum InstanceRequest: String, Sendable, Hashable, CaseIterable {
    case start, stop, reboot, terminate

    var verb: String {
        switch self {
        case .start: "started"
        case .stop: "stopped"
        case .reboot: "rebooted"
        case .terminate: "terminated"
        }
    }
}

/// What a node reports of an instance's domain.
public enum ObservedState: String, Sendable, Codable, Hashable {
    /// The node is creating the domain.
    case launching
    /// The domain runs (or is paused or blocked, which EC2 still calls running).
    case running
    /// The domain is defined but not running: shut off by its guest or by a stop.
    case shutoff
    /// The domain crashed.
    case crashed
    /// The node does not know the instance.
    case absent
}

/// How an instance responds when its guest powers itself off (`InstanceInitiatedShutdownBehavior`).
public enum ShutdownBehavior: String, Sendable, Codable, Hashable {
    case stop, terminate
}

/// The instance lifecycle as a state machine.
///
/// User requests (`apply(_:to:)`) are checked against EC2's rules and rejected with an
/// `incorrectState` error; node observations (`reconcile(_:with:)`) move the desired state toward
/// what the node reports.
public enum InstanceLifecycle {
    /// The state an instance enters when a user request is accepted.
    ///
    /// Repeating a request whose effect is already under way or done is not an error, as in EC2:
    /// terminating a terminated instance, stopping a stopped one, starting a running one.
    public static func apply(
        _ request: InstanceRequest, to state: InstanceState, id: InstanceID
    ) throws(EucaError) -> InstanceState {
        switch (request, state) {
        case (.terminate, .terminated): return .terminated
        case (.terminate, _): return .shuttingDown
        case (.stop, .running), (.stop, .stopping): return .stopping
        case (.stop, .stopped): return .stopped
        case (.start, .stopped): return .pending
        case (.start, .pending), (.start, .running): return state
        case (.reboot, .running): return .running
        default:
            throw EucaError(
                .incorrectState, .instance,
                "The instance '\(id)' is not in a state from which it can be \(request.verb)."
            )
        }
    }

    /// The state that follows from what the instance's node reports.
    ///
    /// Returns nil when the state should not change. `behavior` decides what a guest-initiated
    /// power-off means for a running instance.
    public static func reconcile(
        _ state: InstanceState, with observed: ObservedState, behavior: ShutdownBehavior = .stop
    ) -> InstanceState? {
        switch (state, observed) {
        case (.pending, .running): return .running
        case (.running, .shutoff): return behavior == .stop ? .stopped : .shuttingDown
        case (.running, .crashed): return .shuttingDown
        case (.running, .absent): return .terminated
        case (.stopping, .shutoff), (.stopping, .absent), (.stopping, .crashed): return .stopped
        case (.shuttingDown, .absent): return .terminated
        case (.stopped, .running): return .running
        default: return nil
        }
    }
}
