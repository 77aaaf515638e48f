// Where the checkout and the built `epistream` binary are, for tests that
// read shipped files (scenarios, config, corpora, the sample city) or start
// the engine.
//
// The paths are compiled into one generated object (tests/CMakeLists.txt),
// not passed as compile definitions to every test source: the sources then
// carry no absolute path, so ccache reuses their objects across checkouts
// (a fresh clone in CI) and only that one object is rebuilt.
//
// Threading: constant strings; any thread.
#pragma once

namespace epistream::testing {

// The repository root (no trailing slash).
const char* SourceDirPath();
// The `epistream` binary of this build tree.
const char* EngineBinaryPath();

}  // namespace epistream::testing
