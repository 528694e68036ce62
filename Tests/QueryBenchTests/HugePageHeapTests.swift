import Testing

@testable import query_bench

/// When `query-bench tree` reruns itself with glibc's huge-page heap tunable.
@Suite struct HugePageHeapTests {
    @Test func theTunableIsAddedOnlyWhenTheKernelOffersHugePages() {
        let madvise = "always [madvise] never\n"
        #expect(HugePageHeap.tunables(current: nil, thpMode: madvise) == "glibc.malloc.hugetlb=1")
        #expect(HugePageHeap.tunables(current: "", thpMode: "[always] madvise never") == "glibc.malloc.hugetlb=1")
        // Transparent huge pages off, or no such file (not Linux, or an old kernel): nothing to do.
        #expect(HugePageHeap.tunables(current: nil, thpMode: "always madvise [never]") == nil)
        #expect(HugePageHeap.tunables(current: nil, thpMode: nil) == nil)
    }

    @Test func otherTunablesAreKeptAndAChoiceMadeAlreadyIsLeftAlone() {
        let madvise = "always [madvise] never"
        #expect(
            HugePageHeap.tunables(current: "glibc.malloc.tcache_count=100", thpMode: madvise)
                == "glibc.malloc.tcache_count=100:glibc.malloc.hugetlb=1")
        // Set already (after a restart, or by the user, on or off): no second restart.
        #expect(HugePageHeap.tunables(current: "glibc.malloc.hugetlb=1", thpMode: madvise) == nil)
        #expect(HugePageHeap.tunables(current: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0", thpMode: madvise) == nil)
    }
}
