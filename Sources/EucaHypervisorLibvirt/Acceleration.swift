import EucaCore
import Foundation
public import Logging

/// How QEMU runs guests on this host: `kvm` (hardware virtualization) or `qemu` (TCG emulation).
///
/// `/dev/kvm` being present is not enough: on some hosts (nested virtualization without the
/// features a guest kernel needs) KVM starts a virtual machine whose firmware runs but whose
/// kernel never gets past entering long mode. So the probe boots the host's own kernel under KVM
/// for a moment and waits for its first console line.
public enum Acceleration: String, Sendable, Hashable, CaseIterable {
    case kvm
    case qemu

    /// What the probe found, and why.
    public struct Finding: Sendable, Hashable {
        public var acceleration: Acceleration
        public var reason: String
    }

    /// Probes the host. Takes under a second where KVM works, up to `timeout` where it hangs.
    ///
    /// - Parameters:
    ///   - emulator: the QEMU binary libvirt uses.
    ///   - kernel: a Linux kernel to boot; by default the running kernel's, or the newest in `/boot`.
    public static func probe(
        emulator: String = "/usr/bin/qemu-system-x86_64", kernel: String? = nil, timeout: Duration = .seconds(4)
    ) async -> Finding {
        guard FileManager.default.isWritableFile(atPath: "/dev/kvm"), let handle = FileHandle(forUpdatingAtPath: "/dev/kvm") else {
            return Finding(acceleration: .qemu, reason: "/dev/kvm is missing or not writable")
        }
        try? handle.close()
        guard FileManager.default.isExecutableFile(atPath: emulator) else {
            return Finding(acceleration: .qemu, reason: "\(emulator) is missing")
        }
        guard let kernel = kernel ?? hostKernel() else {
            return Finding(acceleration: .kvm, reason: "/dev/kvm opens; no kernel in /boot to check that a guest runs")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("euca-kvm-probe-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let console = directory + "/console"
        let process: ChildProcess
        do {
            process = try ChildProcess.start(emulator, [
                "-accel", "kvm", "-machine", "pc", "-m", "128", "-display", "none", "-nodefaults", "-no-reboot",
                "-kernel", kernel, "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1", "-serial", "file:\(console)",
            ])
        } catch {
            return Finding(acceleration: .qemu, reason: "cannot run \(emulator): \(error)")
        }
        defer { process.kill() }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: console, encoding: .utf8), text.contains("Linux version") {
                return Finding(acceleration: .kvm, reason: "a guest kernel booted under KVM")
            }
            if !process.isRunning {
                return Finding(acceleration: .qemu, reason: "QEMU refused KVM (exit \(await process.wait().status))")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return Finding(acceleration: .qemu, reason: "a guest kernel printed nothing under KVM within \(timeout)")
    }

    /// The running kernel's image in `/boot`, or else the newest one there.
    static func hostKernel() -> String? {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if FileManager.default.isReadableFile(atPath: "/boot/vmlinuz-\(release)") { return "/boot/vmlinuz-\(release)" }
        let kernels = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }
        return kernels.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last.map { "/boot/\($0)" }
    }

    /// Resolves a `HYPERVISOR_ACCEL` setting (`auto`, `kvm` or `qemu`), probing for `auto`, and
    /// logs the choice.
    public static func choose(_ setting: String, logger: Logger) async -> Acceleration {
        if let fixed = Acceleration(rawValue: setting) {
            logger.info("guests run with \(fixed.rawValue)", metadata: ["reason": "HYPERVISOR_ACCEL=\(setting)"])
            return fixed
        }
        let finding = await probe()
        logger.info("guests run with \(finding.acceleration.rawValue)", metadata: ["reason": "\(finding.reason)"])
        return finding.acceleration
    }
}
