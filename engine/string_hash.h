// StringViewHash: a transparent hash for unordered containers keyed by
// std::string, so a lookup by std::string_view (with std::equal_to<>)
// builds no key string.
//
// Threading: stateless.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace epistream {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>()(s);
  }
};

}  // namespace epistream
