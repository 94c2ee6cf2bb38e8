import EucaCore
import EucaScheduler
import EucaSim
import Foundation
import Testing

/// Traces read line by line. The fixtures are written here, by hand: a few lines in each format.
@Suite struct TraceTests {
    func file(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID())")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func arrivals(_ workload: TraceWorkload) -> [VMArrival] {
        var workload = workload
        var found: [VMArrival] = []
        while let arrival = workload.next() { found.append(arrival) }
        return found
    }

    @Test func jsonLinesGiveTypedAndSizedArrivals() throws {
        let trace = try TraceWorkload(path: file("""
            {"time": 0, "lifetime": 100, "type": "m1.small"}

            {"time": 5.5, "lifetime": 10, "cores": 2, "memoryMiB": 1024}
            {"time": 7, "lifetime": 0, "cores": 2, "memoryMiB": 1024, "diskGiB": 0}
            """), format: .jsonLines)
        let found = arrivals(trace)
        #expect(found.map(\.time) == [0, 5.5, 7] && found.map(\.lifetime) == [100, 10, 0])
        #expect(found[0].vmType.name == "m1.small" && found[1].vmType == VMType(name: "2c-1024m-0g", cores: 2, memoryMiB: 1024, diskGiB: 0))
        #expect(trace.failure == nil)
        // Replayed: every arrival placed on two small hosts, and gone by the end.
        let outcome = Simulator(hosts: SimHosts(count: 2, cores: 4, memoryMiB: 4096, diskGiB: 50), policy: .greedy)
            .run(try TraceWorkload(path: file("{\"time\": 0, \"lifetime\": 100, \"type\": \"m1.small\"}\n"), format: .jsonLines), timings: false).outcome
        #expect(outcome.arrivals == 1 && outcome.accepted == 1 && outcome.departures == 1 && outcome.simulatedSeconds == 100)
    }

    @Test func swfJobsAreVMsOfTheirProcessorsAndMemoryForTheirRunTime() throws {
        // Job, submit, wait, run time, processors, CPU time, memory (KB/processor), then 11 more fields.
        let trace = try TraceWorkload(path: file("""
            ; Version: 2.2
            ; Computer: a hand-written sample
            1 0 5 3600 4 -1 524288 4 3600 -1 1 1 1 -1 1 -1 -1 -1
            2 60 0 -1 2 -1 -1 2 600 -1 0 1 1 -1 1 -1 -1 -1
            3 120 0 60 1 -1 -1 1 60 -1 1 1 1 -1 1 -1 -1 -1
            """), format: .swf)
        let found = arrivals(trace)
        // The second job never ran (run time -1): skipped. Memory unknown (-1): 1 MiB.
        #expect(found.map(\.time) == [0, 120] && found.map(\.lifetime) == [3600, 60])
        #expect(found[0].vmType.cores == 4 && found[0].vmType.memoryMiB == 2048 && found[1].vmType.memoryMiB == 1)
        #expect(trace.failure == nil)
    }

    @Test func azureVMTableRowsAreVMsOfTheirBucketsFromCreationToDeletion() throws {
        // vmid, subscriptionid, deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu, p95maxcpu,
        // vmcategory, vmcorecountbucket, vmmemorybucket: three VMs as the 2019 table writes them.
        let trace = try TraceWorkload(path: file("""
            x+Ed3,Mf9k,aQ2,0,2592000,99.4,12.1,80.2,Delay-insensitive,2,4
            Pq7=z,Mf9k,aQ2,300,3900,100,40.5,97,Interactive,8,32
            9yTt/,Zz01,bR7,300,600,15,2,9,Unknown,>24,>64
            """), format: .azure)
        let found = arrivals(trace)
        #expect(trace.failure == nil)
        #expect(found.map(\.time) == [0, 300, 300] && found.map(\.lifetime) == [2_592_000, 3600, 300])
        #expect(found.map(\.vmType.cores) == [2, 8, 24] && found.map(\.vmType.memoryMiB) == [4096, 32_768, 65_536])

        for (bad, reason) in [
            ("a,b,c,0,10,1,1,1,Unknown,2", "11 fields"), ("a,b,c,zero,10,1,1,1,Unknown,2,4", "numbers of seconds"),
            ("a,b,c,20,10,1,1,1,Unknown,2,4", "deleted not before created"), ("a,b,c,0,10,1,1,1,Unknown,huge,4", "sizes"),
            ("a,b,c,0,10,1,1,1,Unknown,>0,4", "sizes"),
        ] {
            let broken = try TraceWorkload(path: file("x,y,z,0,5,1,1,1,Unknown,2,4\n" + bad + "\n"), format: .azure)
            #expect(arrivals(broken).count == 1)
            #expect(broken.failure?.hasPrefix("line 2:") == true && broken.failure?.contains(reason) == true, "\(bad): \(broken.failure ?? "none")")
        }
    }

    @Test func bitbrainsFilesAreVMsFromTheirFirstSampleToTheirLast() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bitbrains-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let header = "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n"
        func sample(_ time: Int, cores: Int, memoryKB: Int) -> String {
            "\(time);\t\(cores);\t\(cores * 2600);\t100.5;\t3.8;\t\(memoryKB);\t\(memoryKB / 3);\t0;\t1.5;\t0.2;\t0.1\n"
        }
        // VM 2 starts first; VM 1 600 s later and lasts 900 s (four samples).
        try Data((header + (0...3).map { sample(1_376_315_146 + 300 * $0, cores: 4, memoryKB: 8_388_608) }.joined()).utf8)
            .write(to: URL(fileURLWithPath: directory + "/1.csv"))
        try Data((header + sample(1_376_314_546, cores: 1, memoryKB: 1_048_576) + sample(1_376_318_146, cores: 1, memoryKB: 1_048_576)).utf8)
            .write(to: URL(fileURLWithPath: directory + "/2.csv"))
        var trace = try BitbrainsWorkload(directory: directory)
        #expect(trace.failure == nil)
        var found: [VMArrival] = []
        while let arrival = trace.next() { found.append(arrival) }
        #expect(found.map(\.time) == [0, 600] && found.map(\.lifetime) == [3600, 900])
        #expect(found.map(\.vmType.cores) == [1, 4] && found.map(\.vmType.memoryMiB) == [1024, 8192])

        try Data("not,a,bitbrains,file\n".utf8).write(to: URL(fileURLWithPath: directory + "/3.csv"))
        #expect(try BitbrainsWorkload(directory: directory).failure?.hasPrefix("3.csv: line 1") == true)
        try Data((header + "1;2;3\n").utf8).write(to: URL(fileURLWithPath: directory + "/3.csv"))
        #expect(try BitbrainsWorkload(directory: directory).failure?.hasPrefix("3.csv: line 2") == true)
        #expect(throws: EucaError.self) { _ = try BitbrainsWorkload(directory: directory + "/missing") }
    }

    @Test func googleTasksAreVMsFromEachScheduleToTheirNextEnd() throws {
        // time µs, missing, job, task, machine, event, user, class, priority, CPU, memory, disk, constraint.
        // Task 7/0 runs from 600 s, is evicted at 700 s, runs again from 710 s and finishes at
        // 1000 s; task 7/1 is scheduled at 650 s and never ends; 8/0 is submitted but never runs.
        let trace = try GoogleTaskEvents(path: file("""
            600000000,,7,0,,0,u,0,9,0.25,0.5,0,0
            600000000,,7,0,m1,1,u,0,9,0.25,0.5,0,0
            650000000,,7,1,m2,1,u,0,9,0.0625,,0,0
            660000000,,8,0,,0,u,0,9,0.5,0.5,0,0
            700000000,,7,0,m1,2,u,0,9,0.25,0.5,0,0
            710000000,,7,0,m3,1,u,0,9,0.25,0.5,0,0
            1000000000,,7,0,m3,4,u,0,9,0.25,0.5,0,0
            1200000000,,9,0,,0,u,0,9,0.1,0.1,0,0
            """), machineCores: 16, machineMemoryMiB: 65_536)
        #expect(trace.failure == nil)
        var workload = trace
        var found: [VMArrival] = []
        while let arrival = workload.next() { found.append(arrival) }
        #expect(trace.failure == nil)
        #expect(found.map(\.time) == [600, 650, 710] && found.map(\.lifetime) == [100, 550, 290])
        #expect(found.map(\.vmType.cores) == [4, 1, 4] && found.map(\.vmType.memoryMiB) == [32_768, 1, 32_768])

        let broken = try GoogleTaskEvents(path: file("1,,7,0,,1,u,0,9,0.1,0.1,0,0\n2,,7,0,,1,u,0,9,2.5,0.1,0,0\n"), machineCores: 16, machineMemoryMiB: 1024)
        #expect(broken.failure?.hasPrefix("line 2:") == true)
        let unordered = try GoogleTaskEvents(path: file("5000000,,7,0,,1,u,0,9,0.1,0.1,0,0\n1000000,,7,1,,1,u,0,9,0.1,0.1,0,0\n"), machineCores: 16, machineMemoryMiB: 1024)
        var replay = unordered
        while replay.next() != nil {}
        #expect(unordered.failure?.hasPrefix("line 2:") == true)
    }

    @Test func theCloudsEventLogIsReplayedSortedFromItsFirstArrival() throws {
        // As EVENT_LOG writes them: as instances end, so not in launch order, in Unix seconds,
        // with keys the reader does not need.
        let log = try file("""
            {"time":1765000600.5,"lifetime":30,"cores":2,"memoryMiB":512,"diskGiB":10,"name":"m1.large","instance":"i-2","zone":"a","account":"111111111111"}
            {"time":1765000000.25,"lifetime":900,"cores":1,"memoryMiB":128,"diskGiB":5,"name":"m1.small","instance":"i-1","zone":"a","account":"222222222222"}
            {"time":1765000600.5,"lifetime":60,"cores":1,"memoryMiB":128,"diskGiB":5,"name":"m1.small","instance":"i-3","zone":"a","account":"111111111111","cpu":0.5}
            """)
        let ordered = try TraceWorkload(path: log, format: .jsonLines)
        #expect(arrivals(ordered).count == 1 && ordered.failure?.hasPrefix("line 2:") == true)
        var sorted = SortedWorkload(try TraceWorkload(path: log, format: .jsonLines, ordered: false))
        var found: [VMArrival] = []
        while let arrival = sorted.next() { found.append(arrival) }
        #expect(found.map(\.time) == [0, 600.25, 600.25] && found.map(\.lifetime) == [900, 30, 60])
        #expect(found.map(\.vmType.cores) == [1, 2, 1] && found.map(\.vmType.diskGiB) == [5, 10, 5])
        // Sorting keeps each launch's account and CPU use.
        #expect(found.map(\.account?.rawValue) == ["222222222222", "111111111111", "111111111111"])
        #expect(found.map(\.cpuUtilization) == [nil, nil, 0.5])
    }

    @Test func aBadLineOrOneOutOfOrderEndsTheTraceNamingTheLine() throws {
        let unordered = try TraceWorkload(path: file("""
            {"time": 10, "lifetime": 1, "type": "m1.small"}
            {"time": 5, "lifetime": 1, "type": "m1.small"}
            """), format: .jsonLines)
        #expect(arrivals(unordered).count == 1 && unordered.failure?.hasPrefix("line 2: arrives at 5.0, before") == true)
        let malformed = try TraceWorkload(path: file("{\"time\": 1, \"lifetime\": 1, \"type\": \"m1.small\"}\n{\"time\": \"soon\"}\n"), format: .jsonLines)
        #expect(arrivals(malformed).count == 1 && malformed.failure?.hasPrefix("line 2: not a JSON object") == true)
        let unknown = try TraceWorkload(path: file("{\"time\": 1, \"lifetime\": 1, \"type\": \"m9.huge\"}\n"), format: .jsonLines)
        #expect(arrivals(unknown).isEmpty && unknown.failure?.contains("m9.huge") == true)
        let short = try TraceWorkload(path: file("1 0 5 3600 4\n"), format: .swf)
        #expect(arrivals(short).isEmpty && short.failure?.contains("18 numeric fields") == true)
        let forever = try TraceWorkload(path: file("{\"time\": 1, \"lifetime\": 1e308, \"type\": \"m1.small\"}\n"), format: .jsonLines)
        #expect(arrivals(forever).isEmpty && forever.failure?.contains("10^12") == true)
        let huge = try TraceWorkload(path: file("1 0 0 10 1e30 -1 1e40 1 10 -1 1 1 1 -1 1 -1 -1 -1\n"), format: .swf)
        #expect(arrivals(huge).isEmpty && huge.failure?.contains("beyond what a job can have") == true)
        let endless = try TraceWorkload(path: file(String(repeating: "x", count: 2 << 20)), format: .jsonLines)
        #expect(arrivals(endless).isEmpty && endless.failure?.contains("longer than 1 MiB") == true)
        #expect(throws: EucaError.self) { try TraceWorkload(path: "/nonexistent/trace", format: .swf) }
    }
}
