#include "engine/kv_store.h"

#include <string>
#include <vector>

namespace epistream {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return end;  // empty: no upper bound
}

Status KvStore::DeleteEachKeyIn(std::string_view begin, std::string_view end) {
  std::vector<std::string> keys;
  EPI_RETURN_IF_ERROR(Scan(begin, end, [&keys](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }));
  for (const std::string& k : keys) Delete(k);
  return Status::Ok();
}

}  // namespace epistream
