#include "topologies/cli.h"

#include <cstdio>

namespace epistream {

int RunCli(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "usage: epistream run|demo|gen|broker|check-config|state\n");
  return 2;
}

}  // namespace epistream
