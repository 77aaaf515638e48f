// SIGINT/SIGTERM handling for long-running commands: a watcher thread waits
// for the signals (blocked in every thread) and calls `on_stop` once, off the
// signal context, so the callback may do anything thread-safe.
#pragma once

#include <functional>

namespace epistream {

// Blocks SIGINT and SIGTERM in the calling thread (call before starting other
// threads so they inherit the mask) and starts the watcher.
void StopOnSignals(std::function<void()> on_stop);

}  // namespace epistream
