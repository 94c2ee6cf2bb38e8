import EucaCore
import EucaScheduler
import Testing

@Suite struct ReservationLedgerTests {
    let small = VMTypeCatalog.eucalyptusDefaults["m1.small"]!
    let large = VMTypeCatalog.eucalyptusDefaults["m1.large"]!

    @Test func roomIsHeldUntilFiguresFetchedAfterTheBindingArrive() {
        var ledger = ReservationLedger<NodeID, Int>()
        let id = InstanceID.generate()
        ledger.reserve(id, small, on: "n1")
        #expect(ledger.held(on: "n1") == [small])
        // Figures fetched before the launch was handed on do not count it.
        ledger.figuresArrived(for: "n1", fetchedFrom: 5)
        #expect(ledger.held(on: "n1") == [small])
        ledger.bind(id, at: 10)
        ledger.figuresArrived(for: "n1", fetchedFrom: 9)
        #expect(ledger.held(on: "n1") == [small])
        // Another node's figures say nothing about this one.
        ledger.figuresArrived(for: "n2", fetchedFrom: 11)
        #expect(ledger.holds("n1"))
        ledger.figuresArrived(for: "n1", fetchedFrom: 10)
        #expect(!ledger.holds("n1"))
        #expect(ledger.count == 0)
    }

    @Test func aFailedLaunchReleasesAtOnceAndAMovedReservationLeavesItsOldPlace() {
        var ledger = ReservationLedger<NodeID, Int>()
        let (a, b) = (InstanceID.generate(), InstanceID.generate())
        ledger.reserve(a, small, on: "n1")
        ledger.reserve(b, large, on: "n1")
        ledger.release(a)
        #expect(ledger.held(on: "n1") == [large])
        ledger.reserve(b, large, on: "n2")
        #expect(!ledger.holds("n1"))
        #expect(ledger.place(of: b) == "n2")
    }

    @Test func unboundReservationsGoWhenTheirLaunchIsGivenUp() {
        var ledger = ReservationLedger<String, Int>()
        let (kept, dropped, bound) = (InstanceID.generate(), InstanceID.generate(), InstanceID.generate())
        for id in [kept, dropped, bound] { ledger.reserve(id, small, on: "zone-a") }
        ledger.bind(bound, at: 1)
        ledger.releaseUnbound(on: "zone-a") { $0 == kept }
        #expect(ledger.place(of: kept) == "zone-a")
        #expect(ledger.place(of: dropped) == nil)
        #expect(ledger.place(of: bound) == "zone-a")
    }

    @Test func figuresReleaseWhatWasBoundBeforeThemInBindingOrder() {
        var ledger = ReservationLedger<String, Int>()
        let ids = (0..<6).map { _ in InstanceID.generate() }
        for (index, id) in ids.enumerated() { ledger.reserve(id, index.isMultiple(of: 2) ? small : large, on: "zone-a") }
        #expect(ledger.heldCounts(on: "zone-a") == [small: 3, large: 3])
        for (index, id) in ids.prefix(4).enumerated() { ledger.bind(id, at: index + 1) }
        // A bound reservation released (its launch failed) leaves nothing behind in the order.
        ledger.release(ids[1])
        ledger.figuresArrived(for: "zone-a", fetchedFrom: 3)
        #expect(Set(ledger.unbound(on: "zone-a")) == Set(ids.suffix(2)))
        #expect(ledger.place(of: ids[0]) == nil && ledger.place(of: ids[2]) == nil)
        #expect(ledger.place(of: ids[3]) == "zone-a")
        #expect(ledger.heldCounts(on: "zone-a") == [small: 1, large: 2])
        #expect(ledger.held(on: "zone-a").sorted() == [small, large, large].sorted())
        // Moved elsewhere after its binding, a reservation is not released by its old place's figures.
        ledger.reserve(ids[3], large, on: "zone-b")
        ledger.figuresArrived(for: "zone-a", fetchedFrom: 100)
        #expect(ledger.place(of: ids[3]) == "zone-b")
        for id in ids.suffix(2) { ledger.bind(id, at: 200) }
        ledger.figuresArrived(for: "zone-a", fetchedFrom: 200)
        #expect(!ledger.holds("zone-a"))
        ledger.forget("zone-b")
        #expect(ledger.count == 0)
    }

    @Test func placementSeesTheFiguresMinusWhatIsHeld() {
        var ledger = ReservationLedger<NodeID, Int>()
        ledger.reserve(.generate(), small, on: "n1")
        let cluster = ClusterSnapshot(nodes: [
            NodeSnapshot(id: "n1", totalCores: 1, freeCores: 1, totalMemoryMiB: 1024, freeMemoryMiB: 1024, totalDiskGiB: 20, freeDiskGiB: 20),
            NodeSnapshot(id: "n2", totalCores: 1, freeCores: 1, totalMemoryMiB: 1024, freeMemoryMiB: 1024, totalDiskGiB: 20, freeDiskGiB: 20),
        ]).holding(ledger)
        #expect(cluster.nodes[0].freeCores == 0)
        #expect(PlacementPolicy.greedy.place(PlacementRequest(vmType: small), in: cluster) == .node("n2"))
    }
}

@Suite struct ZoneChoiceTests {
    let small = VMTypeCatalog.eucalyptusDefaults["m1.small"]!

    func node(_ id: NodeID, freeCores: Int, freeMemoryMiB: Int = 4096) -> NodeSnapshot {
        NodeSnapshot(id: id, totalCores: 4, freeCores: freeCores, totalMemoryMiB: 4096, freeMemoryMiB: freeMemoryMiB, totalDiskGiB: 100, freeDiskGiB: 100)
    }

    @Test func aZoneShowsTheRoomItsNodesHaveForTheTypeNotTheirFragments() {
        // Two nodes with half an m1.small's memory each: together enough, apart nothing.
        let half = small.memoryMiB / 2 + 1
        let view = ClusterSnapshot.zones([("a", [node("n1", freeCores: 4, freeMemoryMiB: half), node("n2", freeCores: 4, freeMemoryMiB: half)])], for: small)
        #expect(view.nodes[0].slots(for: small) == 0)
        #expect(PlacementPolicy.mostRoom.place(PlacementRequest(vmType: small), in: view).node == nil)
    }

    @Test func mostRoomTakesTheZoneWithRoomForMostAndGreedyTheFirstWithAny() {
        let view = ClusterSnapshot.zones([
            ("a", [node("n1", freeCores: 1)]),
            ("b", [node("n2", freeCores: 2), node("n3", freeCores: 2)]),
            ("c", []),
        ], for: small)
        #expect(PlacementPolicy.mostRoom.place(PlacementRequest(vmType: small), in: view) == .node("b"))
        #expect(PlacementPolicy.greedy.place(PlacementRequest(vmType: small), in: view) == .node("a"))
        guard case .unplaceable(let reasons) = PlacementPolicy.mostRoom.place(PlacementRequest(vmType: small), in: .zones([("c", [])], for: small)) else {
            Issue.record("a zone without nodes took a launch")
            return
        }
        #expect(reasons["c"] != nil)
    }

    @Test func mostRoomIsRegisteredByName() {
        #expect(PlacementRegistry.builtIn.policy(named: "mostroom")?.name == "MOSTROOM")
    }
}
