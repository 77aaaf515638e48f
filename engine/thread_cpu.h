// CPU time of threads, for run summaries and benches: how the work of one
// process splits over its stage, look-ahead and cluster threads.
//
// Threading: any thread; `thread` must be joinable (not yet joined).
#pragma once

#include <thread>

namespace epistream {

// CPU seconds the calling thread has used; 0 if the clock cannot be read.
double CurrentThreadCpuSeconds();
// CPU seconds `thread` has used; 0 if its clock cannot be read.
double ThreadCpuSeconds(const std::thread& thread);

}  // namespace epistream
