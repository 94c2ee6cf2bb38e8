import EucaCore
import Foundation
import Synchronization

/// A trace read from a file in time order, one line at a time: the file is never held whole.
/// A line that cannot be read, or an arrival earlier than the one before it, ends the trace;
/// ``failure`` then says which line and why.
public struct TraceWorkload: Workload {
    public enum Format: String, Sendable, CaseIterable {
        /// Euca's own: one JSON object per line, `{"time": s, "lifetime": s, "type": "m1.small"}`
        /// or with `"cores"`, `"memoryMiB"` and `"diskGiB"` in place of a type name.
        case jsonLines = "jsonl"
        /// The Parallel Workloads Archive's Standard Workload Format: `;` comments, then 18
        /// whitespace-separated fields per job. A job is a VM of its allocated processors
        /// (field 5) and memory (field 7, KB per processor), arriving at its submit time (field 2)
        /// and living its run time (field 4). Jobs with no run time or no processors are skipped.
        case swf
        /// Azure's public VM traces (2017 `AzurePublicDatasetV1` and 2019 `V2`), their
        /// `vmtable.csv`: no header, 11 comma-separated fields per VM (vmid, subscriptionid,
        /// deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu, p95maxcpu, vmcategory,
        /// vmcorecountbucket, vmmemorybucket). A VM arrives when created (seconds from the
        /// trace's start), lives until deleted, with its bucket's cores and memory (GB), and uses
        /// its `avgcpu` (a percentage) of its cores. An open
        /// bucket (`>24`, `>64`) is read as its bound, the least it could be. The published file
        /// is not in creation order: sort it first (`sort -t, -k4,4n`).
        case azure
    }

    private let reader: Reader

    /// `ordered: false` takes arrivals in any order (for ``SortedWorkload``, which orders them).
    public init(path: String, format: Format, ordered: Bool = true) throws {
        reader = Reader(source: try LineSource(path: path), format: format, ordered: ordered)
    }

    /// Why the trace ended early (its line number and the reason); nil if it was read to its end.
    public var failure: String? { reader.failure }

    public mutating func next() -> VMArrival? { reader.next() }

    /// A file's lines, one at a time with their numbers, read 64 KiB at a time: the file is never
    /// held whole, and a line longer than 1 MiB ends it with a failure naming the line.
    final class LineSource: Sendable {
        private struct State {
            var handle: FileHandle
            var buffer = Data()
            var atEnd = false
            var line = 0
            var failure: String?
        }

        private let state: Mutex<State>

        init(path: String) throws {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw EucaError(.invalidParameter, nil, "cannot open the trace \(path)")
            }
            state = Mutex(State(handle: handle))
        }

        var failure: String? { state.withLock { $0.failure } }

        /// The next line's number and text, without its end; nil at the end or after a failure.
        func next() -> (Int, String)? {
            state.withLock { state in
                guard state.failure == nil, let text = Self.line(&state) else { return nil }
                state.line += 1
                return (state.line, text)
            }
        }

        private static func line(_ state: inout State) -> String? {
            while true {
                if let end = state.buffer.firstIndex(of: 0x0A) {
                    let line = state.buffer[state.buffer.startIndex..<end]
                    state.buffer.removeSubrange(state.buffer.startIndex...end)
                    return String(decoding: line, as: UTF8.self)
                }
                if state.atEnd {
                    guard !state.buffer.isEmpty else { return nil }
                    defer { state.buffer = Data() }
                    return String(decoding: state.buffer, as: UTF8.self)
                }
                guard state.buffer.count <= 1 << 20 else {
                    state.failure = "line \(state.line + 1): longer than 1 MiB"
                    return nil
                }
                let chunk = (try? state.handle.read(upToCount: 1 << 16)) ?? nil
                if let chunk, !chunk.isEmpty { state.buffer.append(chunk) } else { state.atEnd = true }
            }
        }
    }

    /// The parsing of the lines, shared by the copies a run makes of the workload.
    final class Reader: Sendable {
        private struct State {
            var last = -Double.infinity
            var failure: String?
            var types: [String: VMType] = [:]
        }

        private let source: LineSource
        private let state = Mutex(State())
        let format: Format
        let ordered: Bool

        init(source: LineSource, format: Format, ordered: Bool) {
            self.source = source
            self.format = format
            self.ordered = ordered
        }

        var failure: String? { state.withLock { $0.failure } ?? source.failure }

        func next() -> VMArrival? {
            state.withLock { state in
                while state.failure == nil, let (number, text) = source.next() {
                    let parsed: Result<VMArrival?, TraceError>
                    switch format {
                    case .jsonLines: parsed = Self.jsonLine(text, types: &state.types)
                    case .swf: parsed = Self.swfLine(text, types: &state.types)
                    case .azure: parsed = Self.azureLine(text, types: &state.types)
                    }
                    switch parsed {
                    case .failure(let error):
                        state.failure = "line \(number): \(error.reason)"
                    case .success(nil):
                        continue
                    case .success(let arrival?):
                        guard !ordered || arrival.time >= state.last else {
                            state.failure = "line \(number): arrives at \(arrival.time), before the line before it (\(state.last)); a trace is read in time order"
                            return nil
                        }
                        state.last = arrival.time
                        return arrival
                    }
                }
                return nil
            }
        }

        struct TraceError: Error {
            var reason: String
        }

        private struct JSONArrival: Decodable {
            var time: Double
            var lifetime: Double
            var type: String?
            var cores: Int?
            var memoryMiB: Int?
            var diskGiB: Int?
            var account: String?
            var cpu: Double?
        }

        static func jsonLine(_ text: String, types: inout [String: VMType]) -> Result<VMArrival?, TraceError> {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return .success(nil) }
            guard let entry = try? JSONDecoder().decode(JSONArrival.self, from: Data(trimmed.utf8)) else {
                return .failure(TraceError(reason: "not a JSON object with a time and a lifetime"))
            }
            guard (0...1e12).contains(entry.time), (0...1e12).contains(entry.lifetime) else {
                return .failure(TraceError(reason: "time and lifetime must be from 0 to 10^12 seconds"))
            }
            if let account = entry.account, account.isEmpty || account.utf8.count > 64 {
                return .failure(TraceError(reason: "an account is 1 to 64 characters"))
            }
            let account = entry.account.map { AccountID(rawValue: $0) }
            guard (entry.cpu ?? 0) >= 0 && (entry.cpu ?? 0) <= 1 else { return .failure(TraceError(reason: "cpu is a share of the VM's cores, 0 to 1")) }
            if let name = entry.type {
                guard let type = VMTypeCatalog.eucalyptusDefaults[name] else {
                    return .failure(TraceError(reason: "\"\(TextEscaping.quoted(name))\" is not one of Eucalyptus' VM types"))
                }
                return .success(VMArrival(time: entry.time, vmType: type, lifetime: entry.lifetime, account: account, cpuUtilization: entry.cpu))
            }
            guard let cores = entry.cores, let memory = entry.memoryMiB, cores > 0, memory > 0, (entry.diskGiB ?? 0) >= 0 else {
                return .failure(TraceError(reason: "neither a type nor positive cores and memoryMiB"))
            }
            guard cores <= SimLimits.cores, memory <= SimLimits.memoryMiB, (entry.diskGiB ?? 0) <= SimLimits.diskGiB else {
                return .failure(TraceError(reason: "at most 100,000 cores, 2^36 MiB and 2^36 GiB"))
            }
            return .success(VMArrival(
                time: entry.time, vmType: sized(cores, memory, entry.diskGiB ?? 0, &types), lifetime: entry.lifetime, account: account,
                cpuUtilization: entry.cpu))
        }

        static func swfLine(_ text: String, types: inout [String: VMType]) -> Result<VMArrival?, TraceError> {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix(";") else { return .success(nil) }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Double($0) }
            guard fields.count >= 18, fields.allSatisfy({ $0 != nil }) else {
                return .failure(TraceError(reason: "not 18 numeric fields of the Standard Workload Format"))
            }
            let submit = fields[1]!, runTime = fields[3]!, processors = fields[4]!, memoryKB = fields[6]!
            // -1 is the format's "unknown": such a job did not run, or cannot be sized.
            guard submit >= 0, runTime > 0, processors >= 1 else { return .success(nil) }
            guard submit <= 1e12, runTime <= 1e12, processors <= 1_000_000, memoryKB <= 1e12 else {
                return .failure(TraceError(reason: "a size or time beyond what a job can have (at most 1,000,000 processors and 1 PB of memory per processor)"))
            }
            let memoryMiB = memoryKB > 0 ? max(1, Int((memoryKB * processors / 1024).rounded(.up))) : 1
            return .success(VMArrival(time: submit, vmType: sized(Int(processors), memoryMiB, 0, &types), lifetime: runTime))
        }

        static func azureLine(_ text: String, types: inout [String: VMType]) -> Result<VMArrival?, TraceError> {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { return .success(nil) }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 11 else { return .failure(TraceError(reason: "not the 11 fields of Azure's vmtable.csv (got \(fields.count))")) }
            guard let created = Double(fields[3]), let deleted = Double(fields[4]) else {
                return .failure(TraceError(reason: "vmcreated and vmdeleted must be numbers of seconds"))
            }
            guard (0...1e12).contains(created), (0...1e12).contains(deleted), deleted >= created else {
                return .failure(TraceError(reason: "vmcreated and vmdeleted must be from 0 to 10^12 seconds, deleted not before created"))
            }
            func bucket(_ text: String) -> Int? {
                let bound = text.hasPrefix(">") ? String(text.dropFirst()) : text
                guard let value = Int(bound), (1...100_000).contains(value) else { return nil }
                return value
            }
            guard let cores = bucket(fields[9]), let memoryGB = bucket(fields[10]) else {
                return .failure(TraceError(reason: "vmcorecountbucket and vmmemorybucket must be sizes such as 2, 8 or >24"))
            }
            guard let average = Double(fields[6]), (0...100).contains(average) else {
                return .failure(TraceError(reason: "avgcpu must be a percentage, 0 to 100"))
            }
            return .success(VMArrival(
                time: created, vmType: sized(cores, memoryGB * 1024, 0, &types), lifetime: deleted - created, cpuUtilization: average / 100))
        }

        /// One VM type per size, named by it (`3c-4096m-0g`), shared by every arrival of that size.
        static func sized(_ cores: Int, _ memoryMiB: Int, _ diskGiB: Int, _ types: inout [String: VMType]) -> VMType {
            let name = "\(cores)c-\(memoryMiB)m-\(diskGiB)g"
            if let known = types[name] { return known }
            let type = VMType(name: name, cores: cores, memoryMiB: memoryMiB, diskGiB: diskGiB)
            types[name] = type
            return type
        }
    }
}

/// The Bitbrains traces (GWA-T-12, `fastStorage` and `rnd`): a directory of one `;`-separated
/// CSV file per VM, a header line, then a sample every few minutes (`Timestamp [ms]` — Unix
/// seconds, whatever the header says — CPU cores, CPU capacity, CPU usage, memory capacity in
/// KB, …). A VM arrives at its first sample, lives to its last, and is sized by its cores and
/// memory capacity in the first sample. Times are counted from the earliest first sample.
///
/// Only each file's first and last samples are read (the end of a file is read from its last
/// 64 KiB), so a directory of thousands of VMs opens in a moment; the VMs are then given in
/// order of arrival. A file that is not of this form fails the trace, naming the file.
public struct BitbrainsWorkload: Workload {
    /// The VMs in order of arrival, from the earliest first sample (``SortedWorkload``).
    private var sorted: SortedWorkload
    /// Why the directory could not be read (its file and the reason); nil if every file was.
    public private(set) var failure: String?

    public init(directory: String) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw EucaError(.invalidParameter, nil, "cannot read the directory \(directory)")
        }
        var arrivals: [VMArrival] = []
        var types: [String: VMType] = [:]
        for name in names.sorted() where name.hasSuffix(".csv") {
            switch Self.vm(at: directory + "/" + name) {
            case .success(let vm):
                let type = TraceWorkload.Reader.sized(vm.cores, vm.memoryMiB, 0, &types)
                arrivals.append(VMArrival(time: vm.start, vmType: type, lifetime: vm.end - vm.start))
            case .failure(let error):
                failure = "\(name): \(error.reason)"
            }
            if failure != nil { break }
        }
        sorted = SortedWorkload(arrivals: failure == nil ? arrivals : [])
    }

    public mutating func next() -> VMArrival? { sorted.next() }

    struct FileError: Error {
        var reason: String
    }

    /// One VM's first and last sample times and its size.
    static func vm(at path: String) -> Result<(start: Double, end: Double, cores: Int, memoryMiB: Int), FileError> {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .failure(FileError(reason: "cannot be opened")) }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 1 << 16), let size = try? handle.seekToEnd() else {
            return .failure(FileError(reason: "cannot be read"))
        }
        try? handle.seek(toOffset: size > 1 << 16 ? size - (1 << 16) : 0)
        let tail = (try? handle.readToEnd()) ?? Data()
        let headLines = String(decoding: head, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard headLines.count >= 2, headLines[0].hasPrefix("Timestamp") else {
            return .failure(FileError(reason: "line 1 is not Bitbrains' header (Timestamp [ms];\tCPU cores;…)"))
        }
        guard let first = sample(headLines[1]) else {
            return .failure(FileError(reason: "line 2 is not a sample: 11 ;-separated numbers, time first"))
        }
        let tailLines = String(decoding: tail, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard let lastLine = tailLines.last, let last = sample(lastLine) else {
            return .failure(FileError(reason: "the last line is not a sample: 11 ;-separated numbers, time first"))
        }
        guard last.time >= first.time else { return .failure(FileError(reason: "the last sample is earlier than the first")) }
        return .success((first.time, last.time, first.cores, first.memoryMiB))
    }

    private static func sample(_ line: Substring) -> (time: Double, cores: Int, memoryMiB: Int)? {
        let fields = line.split(separator: ";").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard fields.count == 11, fields.allSatisfy({ $0 != nil }), let time = fields[0], let cores = fields[1], let memoryKB = fields[5],
            (0...1e12).contains(time), (1...100_000).contains(cores), (1...1e12).contains(memoryKB)
        else { return nil }
        return (time, Int(cores), max(1, Int((memoryKB / 1024).rounded(.up))))
    }
}

/// Google's 2011 cluster trace (`clusterdata-2011-2`), its `task_events` table, decompressed:
/// no header, 13 comma-separated fields per event (time in µs, missing info, job id, task
/// index, machine id, event type, user, scheduling class, priority, CPU request, memory
/// request, disk request, different-machine restriction). A task is a VM each time it is
/// scheduled (event 1), until its next EVICT, FAIL, FINISH, KILL or LOST (2–6), or the end of
/// the trace. Requests are fractions of the largest machine, so a VM takes that fraction of
/// `machineCores` and `machineMemoryMiB` (rounded up, at least one core and one MiB).
///
/// The file is read twice, a line at a time: once for each task's ends, then for its starts,
/// which must come in time order, as the trace gives them. Memory grows with the tasks whose end
/// is still to come, not with the file.
public struct GoogleTaskEvents: Workload {
    /// The second pass, shared by the copies a run makes of the workload.
    private final class Pass: Sendable {
        struct State {
            var ends: [String: [Double]]
            var types: [String: VMType] = [:]
            var last = -Double.infinity
            var failure: String?
        }

        let lines: TraceWorkload.LineSource
        let state: Mutex<State>

        init(lines: TraceWorkload.LineSource, state: State) {
            self.lines = lines
            self.state = Mutex(state)
        }
    }

    private let pass: Pass
    private let traceEnd: Double
    private let machineCores: Int
    private let machineMemoryMiB: Int

    /// Why the trace ended early (its line and the reason); nil if it was read to its end.
    public var failure: String? { pass.state.withLock { $0.failure } ?? pass.lines.failure }

    public init(path: String, machineCores: Int, machineMemoryMiB: Int) throws {
        self.machineCores = machineCores
        self.machineMemoryMiB = machineMemoryMiB
        // First pass: when each task's runs end.
        let first = try TraceWorkload.LineSource(path: path)
        var ends: [String: [Double]] = [:]
        var traceEnd = 0.0
        var failure: String?
        while let (number, line) = first.next() {
            guard !line.isEmpty else { continue }
            switch Self.event(line) {
            case .failure(let error):
                failure = "line \(number): \(error.reason)"
            case .success(let event):
                if event.time < Self.afterEnd { traceEnd = max(traceEnd, event.time) }
                if (2...6).contains(event.type) { ends[event.task, default: []].append(event.time) }
            }
            if failure != nil { break }
        }
        self.traceEnd = traceEnd
        pass = Pass(lines: try TraceWorkload.LineSource(path: path), state: .init(ends: ends, failure: failure ?? first.failure))
    }

    /// Times at or past this mean "after the trace's end" (the trace writes 2^63 - 1 µs).
    static let afterEnd = 9e12

    public mutating func next() -> VMArrival? {
        let (traceEnd, machineCores, machineMemoryMiB) = (traceEnd, machineCores, machineMemoryMiB)
        return pass.state.withLock { state in
            guard state.failure == nil else { return nil }
            while let (number, line) = pass.lines.next() {
                guard !line.isEmpty, case .success(let event) = Self.event(line), event.type == 1 else { continue }
                guard event.time >= state.last else {
                    state.failure = "line \(number): scheduled at \(event.time) s, before the line before it (\(state.last) s); a trace is read in time order"
                    return nil
                }
                state.last = event.time
                // The run ends at the task's first end after it was scheduled.
                var end = traceEnd
                if var times = state.ends[event.task], let index = times.firstIndex(where: { $0 >= event.time }) {
                    end = min(times[index], traceEnd)
                    times.removeSubrange(...index)
                    state.ends[event.task] = times.isEmpty ? nil : times
                }
                let cores = max(1, Int((event.cpu * Double(machineCores)).rounded(.up)))
                let memory = max(1, Int((event.memory * Double(machineMemoryMiB)).rounded(.up)))
                let type = TraceWorkload.Reader.sized(cores, memory, 0, &state.types)
                return VMArrival(time: event.time, vmType: type, lifetime: max(0, end - event.time))
            }
            return nil
        }
    }

    struct Event {
        var time: Double
        var task: String
        var type: Int
        var cpu: Double
        var memory: Double
    }

    static func event(_ line: String) -> Result<Event, TraceWorkload.Reader.TraceError> {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 13 else {
            return .failure(.init(reason: "not the 13 fields of Google's task_events (got \(fields.count))"))
        }
        guard let micros = Double(fields[0]), micros >= 0, let type = Int(fields[5]), (0...8).contains(type) else {
            return .failure(.init(reason: "the time must be microseconds and the event type 0 to 8"))
        }
        // Missing requests (empty fields) are read as none; such a task takes the least room.
        let cpu = fields[9].isEmpty ? 0 : Double(fields[9]), memory = fields[10].isEmpty ? 0 : Double(fields[10])
        guard let cpu, let memory, (0...1).contains(cpu), (0...1).contains(memory) else {
            return .failure(.init(reason: "CPU and memory requests must be fractions from 0 to 1"))
        }
        return .success(Event(time: min(micros / 1e6, afterEnd), task: "\(fields[2])/\(fields[3])", type: type, cpu: cpu, memory: memory))
    }
}

/// Another workload's arrivals read whole, put in time order (arrivals at the same time keep
/// their order) and counted from the first: for traces written in another order, such as the
/// cloud's own event log (`EVENT_LOG`), which writes each instance when it ends. It holds every
/// arrival in memory.
public struct SortedWorkload: Workload {
    private var arrivals: [VMArrival]
    private var position = 0

    public init(_ workload: some Workload) {
        var workload = workload
        var all: [VMArrival] = []
        while let arrival = workload.next() { all.append(arrival) }
        self.init(arrivals: all)
    }

    /// `arrivals` in time order, counted from the first.
    public init(arrivals: [VMArrival]) {
        var all = arrivals.enumerated().map { (index: $0.offset, arrival: $0.element) }
        all.sort { ($0.arrival.time, $0.index) < ($1.arrival.time, $1.index) }
        let origin = all.first?.arrival.time ?? 0
        self.arrivals = all.map { entry in
            var arrival = entry.arrival
            arrival.time -= origin
            return arrival
        }
    }

    public var count: Int { arrivals.count }

    public mutating func next() -> VMArrival? {
        guard position < arrivals.count else { return nil }
        defer { position += 1 }
        return arrivals[position]
    }
}

/// Azure's packing trace of 2020 (`AzureTracesForPacking2020`: a zone's VM requests over 14 days,
/// published as SQLite), read from its two tables exported as CSV with their headers — `vm.csv`
/// (vmId, tenantId, vmTypeId, priority, starttime, endtime) and `vmType.csv` (id, vmTypeId,
/// machineId, core, memory, hdd, ssd, nic) — in one directory:
///
///     sqlite3 -header -csv packing_trace_zone_a_v1.sqlite 'SELECT * FROM vm' > vm.csv
///     sqlite3 -header -csv packing_trace_zone_a_v1.sqlite 'SELECT * FROM vmType' > vmType.csv
///
/// A VM arrives at its start and lives to its end (times in fractional days; those still alive
/// have no end and live to the trace's 90-day cap); its tenant is its account. A VM type's
/// figures are fractions of a machine: one machine type is simulated (`machine`, or the type's
/// lowest `machineId`), and a VM takes those fractions of `machineCores` and `machineMemoryMiB`
/// (rounded up, at least one core and one MiB). VMs of a type the machine does not list are
/// skipped and counted. Times are counted from the earliest start (VMs alive at the collection's
/// start begin before it). The VMs are held in memory to be put in time order.
public struct AzurePackingTrace: Workload {
    private var sorted: SortedWorkload
    /// VMs whose type the simulated machine does not list.
    public private(set) var skipped = 0
    /// Why the trace could not be read (its file, line and reason); nil if it was.
    public private(set) var failure: String?

    /// The cap on lifetimes the trace applies: 90 days.
    static let cap = 90.0 * 86_400

    public init(directory: String, machineCores: Int, machineMemoryMiB: Int, machine: String? = nil) throws {
        let typesFile = try TraceWorkload.LineSource(path: directory + "/vmType.csv")
        var fractions: [String: (machine: String, core: Double, memory: Double)] = [:]
        var failure: String?
        func read(_ source: TraceWorkload.LineSource, _ file: String, needs: [String], _ row: ([String: String], Int) -> String?) -> String? {
            guard let (_, headerLine) = source.next() else { return "\(file): empty" }
            let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            for name in needs where !header.contains(name) { return "\(file): line 1 has no \(name) column" }
            while let (number, text) = source.next() {
                guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == header.count else { return "\(file): line \(number) has \(fields.count) fields, not \(header.count)" }
                if let problem = row(Dictionary(zip(header, fields), uniquingKeysWith: { first, _ in first }), number) {
                    return "\(file): line \(number): \(problem)"
                }
            }
            return source.failure.map { "\(file): \($0)" }
        }
        failure = read(typesFile, "vmType.csv", needs: ["vmTypeId", "machineId", "core", "memory"]) { row, _ in
            guard let core = Double(row["core"]!), let memory = Double(row["memory"]!), (0...1).contains(core), (0...1).contains(memory) else {
                return "core and memory are fractions of a machine, 0 to 1"
            }
            let type = row["vmTypeId"]!, onMachine = row["machineId"]!
            if let machine, onMachine != machine { return nil }
            if let known = fractions[type], Self.precedes(known.machine, onMachine) { return nil }
            fractions[type] = (onMachine, core, memory)
            return nil
        }
        var arrivals: [VMArrival] = []
        var types: [String: VMType] = [:]
        var skipped = 0
        if failure == nil {
            let vms = try TraceWorkload.LineSource(path: directory + "/vm.csv")
            failure = read(vms, "vm.csv", needs: ["tenantId", "vmTypeId", "starttime", "endtime"]) { row, _ in
                guard let start = Double(row["starttime"]!), start.isFinite, abs(start) <= 1e6 else { return "starttime is a number of days" }
                let endText = row["endtime"]!
                let end = endText.isEmpty || endText == "NULL" ? Self.cap / 86_400 : Double(endText)
                guard let end, end.isFinite, end >= start, end <= 1e6 else { return "endtime is a number of days, not before starttime, or empty" }
                guard let fraction = fractions[row["vmTypeId"]!] else {
                    skipped += 1
                    return nil
                }
                let cores = max(1, Int((fraction.core * Double(machineCores)).rounded(.up)))
                let memory = max(1, Int((fraction.memory * Double(machineMemoryMiB)).rounded(.up)))
                let tenant = row["tenantId"]!
                guard !tenant.isEmpty, tenant.utf8.count <= 64 else { return "tenantId is 1 to 64 characters" }
                arrivals.append(VMArrival(
                    time: start * 86_400, vmType: TraceWorkload.Reader.sized(cores, memory, 0, &types), lifetime: (end - start) * 86_400,
                    account: AccountID(rawValue: tenant)))
                return nil
            }
        }
        self.failure = failure
        self.skipped = skipped
        sorted = SortedWorkload(arrivals: failure == nil ? arrivals : [])
    }

    public mutating func next() -> VMArrival? { sorted.next() }

    /// How many VMs the trace gives.
    public var count: Int { sorted.count }

    /// Machine ids in numeric order where they are numbers.
    private static func precedes(_ a: String, _ b: String) -> Bool {
        if let x = Int(a), let y = Int(b) { return x < y }
        return a < b
    }
}

/// Hosts of several sizes, read from a file.
public enum HostFiles {
    /// A hosts file: a group a line, `COUNT CORES MEMORY_MIB [DISK_GIB]` (separated by commas or
    /// spaces; `#` starts a comment), in the cluster's order. The groups, or the line and reason.
    public static func groups(path: String, diskGiB: Int) throws -> Result<[SimHostGroup], TraceFailure> {
        let source = try TraceWorkload.LineSource(path: path)
        var groups: [SimHostGroup] = []
        var total = 0
        while let (number, text) = source.next() {
            let line = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = line.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map { Int($0) }
            if fields.isEmpty { continue }
            guard (3...4).contains(fields.count), fields.allSatisfy({ $0 != nil }) else {
                return .failure(TraceFailure(line: number, reason: "not COUNT CORES MEMORY_MIB [DISK_GIB], whole numbers"))
            }
            let numbers = fields.map { $0! }
            let group = SimHostGroup(count: numbers[0], cores: numbers[1], memoryMiB: numbers[2], diskGiB: numbers.count == 4 ? numbers[3] : diskGiB)
            guard (1...SimLimits.hosts).contains(group.count), (1...SimLimits.cores).contains(group.cores),
                (1...SimLimits.memoryMiB).contains(group.memoryMiB), (0...SimLimits.diskGiB).contains(group.diskGiB)
            else {
                return .failure(TraceFailure(line: number, reason: "a count from 1 to 10,000,000, cores from 1 to 100,000, memory and disk up to 2^36"))
            }
            total += group.count
            guard total <= 10_000_000 else { return .failure(TraceFailure(line: number, reason: "more than 10,000,000 hosts in all")) }
            groups.append(group)
        }
        if let failure = source.failure { return .failure(TraceFailure(line: nil, reason: failure)) }
        guard !groups.isEmpty else { return .failure(TraceFailure(line: nil, reason: "no hosts")) }
        return .success(groups)
    }

    /// Google's 2011 `machine_events` (decompressed: time, machine id, event type, platform, CPUs,
    /// memory): a host per machine, at its first ADD (event 0) that gives both sizes, in that
    /// order. Sizes are fractions of the largest machine, taken of `machineCores` and
    /// `machineMemoryMiB` (rounded, at least one core and one MiB); machines come and go in the
    /// trace, here they all stay.
    public static func googleMachines(
        path: String, machineCores: Int, machineMemoryMiB: Int, diskGiB: Int
    ) throws -> Result<[SimHostGroup], TraceFailure> {
        let source = try TraceWorkload.LineSource(path: path)
        var seen = Set<Substring>()
        var groups: [SimHostGroup] = []
        while let (number, text) = source.next() {
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 6 else { return .failure(TraceFailure(line: number, reason: "not the 6 fields of machine_events (got \(fields.count))")) }
            guard fields[2] == "0", !fields[4].isEmpty, !fields[5].isEmpty, !seen.contains(fields[1]) else { continue }
            guard let cpus = Double(fields[4]), let memory = Double(fields[5]), (0...1).contains(cpus), (0...1).contains(memory) else {
                return .failure(TraceFailure(line: number, reason: "CPUs and memory are fractions of the largest machine, 0 to 1"))
            }
            guard seen.count < 10_000_000 else { return .failure(TraceFailure(line: number, reason: "more than 10,000,000 machines")) }
            seen.insert(fields[1])
            let cores = max(1, Int((cpus * Double(machineCores)).rounded())), mib = max(1, Int((memory * Double(machineMemoryMiB)).rounded()))
            if let last = groups.last, last.cores == cores, last.memoryMiB == mib {
                groups[groups.count - 1].count += 1
            } else {
                groups.append(SimHostGroup(count: 1, cores: cores, memoryMiB: mib, diskGiB: diskGiB))
            }
        }
        if let failure = source.failure { return .failure(TraceFailure(line: nil, reason: failure)) }
        guard !groups.isEmpty else { return .failure(TraceFailure(line: nil, reason: "no machine is added with its sizes")) }
        return .success(groups)
    }
}

/// Where a file failed and why.
public struct TraceFailure: Error, Sendable, Hashable {
    public var line: Int?
    public var reason: String

    public var description: String { line.map { "line \($0): \(reason)" } ?? reason }
}
