// PrefetchLine: a hint to load the cache line holding `p` (any address: a
// prefetch never faults).
//
// Why not plain __builtin_prefetch: GCC 12 at -O2/-O3 deletes it when its
// address comes out of a search loop with no other side effect (a hash
// index probe, then the slot it names): the whole probe and the prefetch
// vanish from the binary (objdump), so a "prefetched" lookup stalls anyway.
// A volatile asm cannot be deleted.
#pragma once

namespace epistream {

inline void PrefetchLine(const void* p) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace epistream
