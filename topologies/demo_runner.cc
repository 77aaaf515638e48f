#include "topologies/demo_runner.h"

#include <cstdio>

namespace epistream {

int RunDemo(const DemoOptions& opts) {
  (void)opts;
  std::fprintf(stderr, "epistream demo: not built yet\n");
  return 1;
}

}  // namespace epistream
