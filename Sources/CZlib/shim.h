#include <zlib.h>

/// Asks the CPU to start fetching the cache line holding `address` into the caches (a hint: it
/// never faults, whatever the address). The roles' batch applies fetch the buffers of many origins'
/// rows at once with it, instead of missing on them one after another.
static inline void swift_query_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
