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

    /// What one place holds, kept so that every question about it costs what it asks about, not
    /// what the ledger holds: a cloud taking a few hundred launches a second asks on each.
    private struct Holdings: Sendable {
        /// Reserved, not yet handed on.
        var unbound: Set<InstanceID> = []
        /// Handed on, in the order they were bound; an entry whose reservation has gone or been
        /// bound again is skipped when it comes up.
        var bound: [InstanceID] = []
        var boundStart = 0
        /// How many of each type the place holds, bound or not.
        var types: [VMType: Int] = [:]

        var isEmpty: Bool { types.isEmpty }
    }

    private var reservations: [InstanceID: Reservation] = [:]
    private var places: [Place: Holdings] = [:]

    public init() {}

    /// Holds room for `type` on `place` for instance `id` (moving it if it was held elsewhere).
    public mutating func reserve(_ id: InstanceID, _ type: VMType, on place: Place) {
        release(id)
        reservations[id] = Reservation(place: place, vmType: type, boundAt: nil)
        places[place, default: Holdings()].unbound.insert(id)
        places[place]!.types[type, default: 0] += 1
    }

    /// Marks the launch of `id` as handed on at `instant`.
    public mutating func bind(_ id: InstanceID, at instant: Instant) {
        guard let place = reservations[id]?.place else { return }
        reservations[id]!.boundAt = instant
        places[place]!.unbound.remove(id)
        places[place]!.bound.append(id)
    }

    /// Gives up the room held for `id`: its launch failed or was never accepted.
    public mutating func release(_ id: InstanceID) {
        guard let reservation = reservations.removeValue(forKey: id) else { return }
        let place = reservation.place
        places[place]!.unbound.remove(id)
        let left = places[place]!.types[reservation.vmType, default: 1] - 1
        places[place]!.types[reservation.vmType] = left > 0 ? left : nil
        if places[place]!.isEmpty { places[place] = nil }
        // A dictionary keeps the capacity of its largest moment; a burst of 1,000 launches would
        // otherwise hold its table for good once every reservation in it is released.
        if reservations.isEmpty { reservations = [:] }
    }

    /// Figures for `place` fetched from `asOf` on have arrived: reservations bound before then
    /// are counted in them and are released. They are released in the order they were bound, up
    /// to the first bound after `asOf`; one bound earlier but behind it (its instant taken before
    /// another's, its binding recorded after) waits for the next figures, holding room a little
    /// longer rather than too little.
    public mutating func figuresArrived(for place: Place, fetchedFrom asOf: Instant) {
        guard var holdings = places[place] else { return }
        var released: [InstanceID] = []
        while holdings.boundStart < holdings.bound.count {
            let id = holdings.bound[holdings.boundStart]
            if let reservation = reservations[id], reservation.place == place, let bound = reservation.boundAt {
                guard bound <= asOf else { break }
                released.append(id)
            }
            holdings.boundStart += 1
        }
        if holdings.boundStart * 2 >= holdings.bound.count {
            holdings.bound.removeFirst(holdings.boundStart)
            holdings.boundStart = 0
        }
        places[place] = holdings
        for id in released { release(id) }
    }

    /// Releases every reservation on `place` not yet bound that `keep` refuses (launches given up
    /// before they were handed on).
    public mutating func releaseUnbound(on place: Place, unless keep: (InstanceID) -> Bool) {
        for id in places[place]?.unbound ?? [] where !keep(id) { release(id) }
    }

    /// The reservations on `place` not yet bound.
    public func unbound(on place: Place) -> [InstanceID] {
        Array(places[place]?.unbound ?? [])
    }

    /// Forgets everything held on `place` (a node removed).
    public mutating func forget(_ place: Place) {
        guard let holdings = places[place] else { return }
        for id in holdings.unbound.union(holdings.bound) where reservations[id]?.place == place { release(id) }
        places[place] = nil
    }

    /// The types held on `place`, one entry per reservation.
    public func held(on place: Place) -> [VMType] {
        (places[place]?.types ?? [:]).flatMap { type, count in repeatElement(type, count: count) }
    }

    /// How many of each type `place` holds.
    public func heldCounts(on place: Place) -> [VMType: Int] { places[place]?.types ?? [:] }

    /// Whether anything is held on `place`.
    public func holds(_ place: Place) -> Bool { places[place] != nil }

    /// Where `id`'s room is held, if anywhere.
    public func place(of id: InstanceID) -> Place? { reservations[id]?.place }

    public var count: Int { reservations.count }
}

extension ClusterSnapshot {
    /// Each node with what `ledger` holds on it taken off its free room.
    public func holding<Instant>(_ ledger: ReservationLedger<NodeID, Instant>) -> ClusterSnapshot {
        ClusterSnapshot(
            nodes: nodes.map { node in ledger.heldCounts(on: node.id).reduce(node) { $0.placing($1.key, count: $1.value) } },
            lastChosen: lastChosen)
    }
}
