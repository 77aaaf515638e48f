// Numbered names for test keys and values: Num("k", 7) == "k7".
//
// Appended rather than `prefix + std::to_string(i)`: GCC 12 reports a false
// -Wrestrict on the latter at -O3, and the tests build with -Werror.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace epistream::testing {

inline std::string Num(std::string_view prefix, int64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

}  // namespace epistream::testing
