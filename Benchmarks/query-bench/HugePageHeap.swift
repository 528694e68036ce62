import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Puts the process's malloc heap on transparent huge pages, the way a node holding a large fleet's
/// tables should run: glibc's `glibc.malloc.hugetlb=1` tunable makes malloc ask the kernel for 2 MiB
/// pages (`madvise(MADV_HUGEPAGE)`), so a step that touches a few hundred scattered heap objects
/// misses the TLB far less often. At 60,000 machines (4.5 GB of heap) that is about 12% of the
/// tree benchmark's CPU (BENCHMARKS.md, "Heap on huge pages").
///
/// glibc reads tunables only when a process starts, so the benchmark runs itself again with the
/// tunable added to `GLIBC_TUNABLES` (same process id, same arguments). Deployments set the same
/// variable in the node's environment (README, "A real tier").
enum HugePageHeap {
    /// The tunable glibc reads.
    static let tunable = "glibc.malloc.hugetlb=1"

    /// What `GLIBC_TUNABLES` must become for the heap to use huge pages, or `nil` when nothing is
    /// to be done: the tunable is set already, or the kernel's transparent huge pages are off
    /// (`thpMode` is the content of `/sys/kernel/mm/transparent_hugepage/enabled`, whose selected
    /// mode is bracketed; `nil` when the file is missing).
    static func tunables(current: String?, thpMode: String?) -> String? {
        guard let thpMode, thpMode.contains("[always]") || thpMode.contains("[madvise]") else { return nil }
        guard let current, !current.isEmpty else { return tunable }
        if current.split(separator: ":").contains(where: { $0.hasPrefix("glibc.malloc.hugetlb=") }) { return nil }
        return current + ":" + tunable
    }

    /// Whether this process runs with the tunable (set in its environment at start).
    static var isActive: Bool {
        guard let raw = getenv("GLIBC_TUNABLES") else { return false }
        return String(cString: raw).split(separator: ":").contains { $0 == Substring(tunable) }
    }

    /// Runs this program again with the tunable, unless it is set already or huge pages are off.
    /// Returns (and the run goes on as it is) if that is not possible.
    static func restartWithHugePages() {
        #if os(Linux)
        let current = getenv("GLIBC_TUNABLES").map { String(cString: $0) }
        let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
        guard let value = tunables(current: current, thpMode: mode) else { return }
        setenv("GLIBC_TUNABLES", value, 1)
        _ = execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when the exec failed: go on without huge pages.
        if let current { setenv("GLIBC_TUNABLES", current, 1) } else { unsetenv("GLIBC_TUNABLES") }
        #endif
    }
}
