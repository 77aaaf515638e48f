// The command line (CONTRACT.md section 6): `epistream run|demo|gen|broker|
// check-config|state`. Exit codes: 0 ok, 2 usage or config error, 1 runtime failure.
#pragma once

namespace epistream {

int RunCli(int argc, char** argv);

}  // namespace epistream
