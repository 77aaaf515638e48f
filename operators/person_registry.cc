#include "operators/person_registry.h"

#include <utility>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"

namespace epistream {
namespace {
constexpr char kPersonSub = 'P';
}

Status PersonRegistry::Load() {
  persons_.clear();
  const std::string prefix = state_keys::Global(kPersonSub, "");
  bool corrupt = false;
  EPI_RETURN_IF_ERROR(store_->Scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    ByteReader r(v);
    PersonInfo info;
    info.community_id = std::string(r.Str());
    info.occupation = static_cast<Occupation>(r.U8() & 3);
    if (!r.ok()) {
      corrupt = true;
      return false;
    }
    persons_.emplace(std::string(k.substr(prefix.size())), std::move(info));
    return true;
  }));
  if (corrupt) return Status::Corruption("person registry: undecodable record");
  return Status::Ok();
}

void PersonRegistry::Apply(const Event& rec, std::string* previous_community) {
  PersonInfo& info = persons_.try_emplace(rec.person_id).first->second;
  // A new person's community starts empty: that is what it had before.
  std::string before = std::exchange(info.community_id, rec.community_id);
  if (previous_community != nullptr) *previous_community = std::move(before);
  info.occupation = rec.occupation;
  std::string value;
  ByteWriter w(&value);
  w.Str(info.community_id);
  w.U8(static_cast<uint8_t>(info.occupation));
  // Nothing reads these keys back before the commit (Load reads them at
  // start-up only): the store's unindexed path, a third of a registration's
  // cost on the stage thread when it was a Put (perf, 1M-person city).
  store_->PutForCommit(state_keys::Global(kPersonSub, rec.person_id), value);
}

const PersonInfo* PersonRegistry::Find(std::string_view person_id) const {
  auto it = persons_.find(person_id);
  return it == persons_.end() ? nullptr : &it->second;
}

}  // namespace epistream
