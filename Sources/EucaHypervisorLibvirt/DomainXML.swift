import EucaCore
import EucaHypervisor

/// Renders libvirt domain XML for an instance.
enum DomainXML {
    static func render(_ spec: DomainSpec, type: String) -> String {
        var xml = "<domain type='\(escape(type))'>\n"
        xml += "  <name>\(spec.instanceId)</name>\n"
        xml += "  <title>Euca instance \(spec.instanceId)</title>\n"
        xml += "  <memory unit='MiB'>\(spec.memoryMiB)</memory>\n"
        xml += "  <vcpu>\(spec.vcpus)</vcpu>\n"
        xml += "  <os>\n    <type arch='x86_64'>hvm</type>\n"
        if let kernel = spec.kernelPath {
            xml += "    <kernel>\(escape(kernel))</kernel>\n"
            if let ramdisk = spec.ramdiskPath { xml += "    <initrd>\(escape(ramdisk))</initrd>\n" }
            if !spec.commandLine.isEmpty { xml += "    <cmdline>\(escape(spec.commandLine))</cmdline>\n" }
        } else {
            xml += "    <boot dev='hd'/>\n"
        }
        xml += "  </os>\n"
        // Without ACPI a guest cannot be asked to power off, and `poweroff` leaves it halted.
        xml += "  <features><acpi/></features>\n"
        switch type {
        // TCG emulates every feature it can (RDRAND among them, so the guest has entropy at once).
        case "qemu": xml += "  <cpu mode='maximum' migratable='off'/>\n"
        case "kvm": xml += "  <cpu mode='host-passthrough'/>\n"
        default: break
        }
        xml += "  <clock offset='utc'/>\n"
        xml += "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
        xml += "  <devices>\n"
        if let disk = spec.diskPath {
            xml += "    <disk type='file' device='disk'>\n"
            xml += "      <driver name='qemu' type='\(escape(spec.diskFormat))'/>\n"
            xml += "      <source file='\(escape(disk))'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n"
        }
        if let bridge = spec.bridge {
            xml += "    <interface type='bridge'>\n      <mac address='\(escape(spec.macAddress))'/>\n"
            xml += "      <source bridge='\(escape(bridge))'/>\n"
            // A tap of the node's naming, where the node filters what crosses the bridge by tap.
            if let tap = spec.tapDevice { xml += "      <target dev='\(escape(tap))'/>\n" }
            xml += "      <model type='virtio'/>\n"
            // No network boot ROM: instances boot a kernel or a disk, and the ROM costs start-up time.
            if type == "qemu" || type == "kvm" { xml += "      <rom enabled='no'/>\n" }
            xml += "    </interface>\n"
        } else if let tap = spec.tapDevice {
            // A tap of the node's naming that libvirt makes and removes, on no bridge.
            xml += "    <interface type='ethernet'>\n      <mac address='\(escape(spec.macAddress))'/>\n"
            xml += "      <target dev='\(escape(tap))' managed='yes'/>\n      <model type='virtio'/>\n"
            if type == "qemu" || type == "kvm" { xml += "      <rom enabled='no'/>\n" }
            xml += "    </interface>\n"
        }
        if let console = spec.consoleLogPath {
            xml += "    <serial type='file'>\n      <source path='\(escape(console))'/>\n      <target port='0'/>\n    </serial>\n"
            xml += "    <console type='file'>\n      <source path='\(escape(console))'/>\n      <target type='serial' port='0'/>\n    </console>\n"
        }
        if type == "qemu" || type == "kvm" {
            xml += "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n"
        }
        xml += "  </devices>\n</domain>\n"
        return xml
    }

    static func escape(_ text: String) -> String { TextEscaping.xml(text) }
}
