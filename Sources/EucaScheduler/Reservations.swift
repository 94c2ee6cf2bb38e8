public import EucaCore

/// Room held for launches that the figures a tier decides on do not yet count.
///
/// The cloud holds room in a zone for a launch it accepted, until its cluster's figures count it;
/// the cluster holds room on a node for a launch it placed, until the node's figures count it. One
/// rule serves both: a reservation is made when the launch is decided, bound when it is handed on,
/// and released when figures fetched after the binding arrive (they include it) or when the
/// launch fails. Figures minus what the ledger holds is the room a decision may use, so
/// concurrent launches never count the same room twice.
public struct ReservationLedger<Place: Hashable & Sendable, Instant: Comparable & Sendable>: Sendable {
    public struct Reservation: Sendable {
        public var place: Place
        public var vmType: VMType
        /// When the launch was handed on; figures fetched from then on include it.
        public var boundAt: Instant?
    }

    private var reservations: [InstanceID: Reservation] = [:]
    private var byPlace: [Place: Set<InstanceID>] = [:]

    public init() {}

    /// Holds room for `type` on `place` for instance `id` (moving it if it was held elsewhere).
    public mutating func reserve(_ id: InstanceID, _ type: VMType, on place: Place) {
        release(id)
        reservations[id] = Reservation(place: place, vmType: type, boundAt: nil)
        byPlace[place, default: []].insert(id)
    }

    /// Marks the launch of `id` as handed on at `instant`.
    public mutating func bind(_ id: InstanceID, at instant: Instant) {
        reservations[id]?.boundAt = instant
    }

    /// Gives up the room held for `id`: its launch failed or was never accepted.
    public mutating func release(_ id: InstanceID) {
        guard let reservation = reservations.removeValue(forKey: id) else { return }
        byPlace[reservation.place]?.remove(id)
        if byPlace[reservation.place]?.isEmpty == true { byPlace[reservation.place] = nil }
        // A dictionary keeps the capacity of its largest moment; a burst of 1,000 launches would
        // otherwise hold its table for good once every reservation in it is released.
        if reservations.isEmpty { reservations = [:] }
    }

    /// Figures for `place` fetched from `asOf` on have arrived: reservations bound before then
    /// are counted in them and are released.
    public mutating func figuresArrived(for place: Place, fetchedFrom asOf: Instant) {
        for id in byPlace[place] ?? [] {
            if let bound = reservations[id]?.boundAt, bound <= asOf { release(id) }
        }
    }

    /// Releases every reservation on `place` not yet bound that `keep` refuses (launches given up
    /// before they were handed on).
    public mutating func releaseUnbound(on place: Place, unless keep: (InstanceID) -> Bool) {
        for id in byPlace[place] ?? [] where reservations[id]?.boundAt == nil && !keep(id) { release(id) }
    }

    /// The reservations on `place` not yet bound.
    public func unbound(on place: Place) -> [InstanceID] {
        (byPlace[place] ?? []).filter { reservations[$0]?.boundAt == nil }
    }

    /// Forgets everything held on `place` (a node removed).
    public mutating func forget(_ place: Place) {
        for id in byPlace[place] ?? [] { release(id) }
    }

    /// The types held on `place`.
    public func held(on place: Place) -> [VMType] {
        (byPlace[place] ?? []).compactMap { reservations[$0]?.vmType }
    }

    /// Whether anything is held on `place`.
    public func holds(_ place: Place) -> Bool { byPlace[place] != nil }

    /// Where `id`'s room is held, if anywhere.
    public func place(of id: InstanceID) -> Place? { reservations[id]?.place }

    public var count: Int { reservations.count }
}

extension ClusterSnapshot {
    /// Each node with what `ledger` holds on it taken off its free room.
    public func holding<Instant>(_ ledger: ReservationLedger<NodeID, Instant>) -> ClusterSnapshot {
        ClusterSnapshot(
            nodes: nodes.map { node in ledger.held(on: node.id).reduce(node) { $0.placing($1) } },
            lastChosen: lastChosen)
    }
}
