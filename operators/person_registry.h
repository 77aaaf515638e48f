// PersonRegistry: the optional `epi.persons` table (community, occupation),
// held in full by every instance and persisted under GP<person>.
//
// Threading: owned by the stage thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "engine/string_hash.h"
#include "operators/event.h"

namespace epistream {

struct PersonInfo {
  std::string community_id;
  Occupation occupation = Occupation::kOther;
};

class PersonRegistry {
 public:
  explicit PersonRegistry(KvStore* store) : store_(store) {}

  Status Load();
  // Upserts a `person` record (compacted-topic semantics: last one wins);
  // *previous_community (if given): the person's community before, empty
  // for a new person. One lookup, not a Find and then an insert: most
  // registrations are of persons never seen, so each lookup is a cache miss
  // in a table of the whole city.
  void Apply(const Event& rec, std::string* previous_community = nullptr);
  const PersonInfo* Find(std::string_view person_id) const;
  size_t size() const { return persons_.size(); }

 private:
  KvStore* store_;
  std::unordered_map<std::string, PersonInfo, StringViewHash, std::equal_to<>> persons_;
};

}  // namespace epistream
