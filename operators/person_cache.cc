#include "operators/person_cache.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/radix_sort.h"
#include "engine/state_keys.h"

namespace epistream {

namespace {

constexpr char kStateSub = 'S';
// Allocations a removed slot keeps for reuse (PersonState::MemoryBytes).
constexpr size_t kKeptStateBytes = 1536;

}  // namespace

std::string PersonCache::StateKey(uint16_t partition, std::string_view person) {
  return state_keys::Partitioned(partition, kStateSub, person);
}

std::string PersonCache::StatePrefix(uint16_t partition) {
  return state_keys::PartitionPrefix(partition, kStateSub);
}

// state_keys::Partitioned(partition, 'S', person), into a reused buffer.
void PersonCache::BuildStateKey(uint16_t partition, std::string_view person,
                                std::string* out) {
  out->clear();
  ByteWriter w(out);
  w.U8(static_cast<uint8_t>(state_keys::kPartitioned));
  w.BigEndian16(partition);
  out->push_back(kStateSub);
  out->append(person);
}

bool PersonCache::ParseStateKey(std::string_view key, uint16_t* partition,
                                std::string_view* person) {
  if (key.size() < 4 || key[0] != state_keys::kPartitioned ||
      key[3] != kStateSub) {
    return false;
  }
  *partition = static_cast<uint16_t>((static_cast<uint8_t>(key[1]) << 8) |
                                     static_cast<uint8_t>(key[2]));
  *person = key.substr(4);
  return true;
}

uint32_t PersonCache::HashOf(std::string_view person) {
  return static_cast<uint32_t>(std::hash<std::string_view>()(person));
}

int64_t PersonCache::Find(std::string_view person, uint32_t hash) const {
  return index_.Find(hash, [&](uint32_t id) { return slots_[id].person == person; });
}

uint32_t PersonCache::Insert(uint16_t partition, std::string_view person,
                             uint32_t hash) {
  const uint32_t id = TakeSlot(free_, slots_);
  Slot& slot = slots_[id];
  kept_bytes_ -= slot.bytes;
  slot.bytes = 0;
  slot.person.assign(person);
  slot.hash = hash;
  slot.partition = partition;
  slot.live = true;
  slot.dirty = false;
  slot.erased = false;
  slot.referenced = false;
  slot.epoch = epoch_;
  slot.encoded = EncodedRef();
  index_.Insert(hash, id);
  ++live_;
  return id;
}

void PersonCache::Remove(uint32_t id) {
  Slot& slot = slots_[id];
  index_.Erase(slot.hash, id);
  // The slot keeps its allocations for the next person it holds: most
  // misses then decode without malloc. Not beyond a typical state's size,
  // though: a slot sees many persons, and keeping each list's largest
  // capacity ever grew slots to ~2.5 KB where ~1 KB is used.
  slot.person.clear();
  if (slot.state.MemoryBytes() > kKeptStateBytes) {
    slot.state = PersonState();
  } else {
    slot.state.Clear();
  }
  slot.live = false;
  slot.dirty = false;
  if (max_bytes_ > 0) {
    live_bytes_ -= slot.bytes;
    slot.bytes = slot.state.MemoryBytes();  // capacity kept for reuse
    kept_bytes_ += slot.bytes;
  }
  free_.push_back(id);
  --live_;
}

void PersonCache::Evict(uint32_t id) {
  // A clean state's encoded copy (if kept) is its bytes; an empty one is
  // absent from the store too (WriteBack deleted it).
  const Slot& slot = slots_[id];
  if (!encoded_.Current(slot.encoded) && !slot.state.Empty()) ++dropped_;
  Remove(id);
}

size_t PersonCache::Footprint(const Slot& slot) {
  // The slot, its share of the index (load <= 1/2) and any heap id.
  return sizeof(Slot) + 4 * sizeof(uint64_t) +
         (slot.person.size() > 15 ? slot.person.capacity() + 1 : 0) + slot.state.MemoryBytes();
}

void PersonCache::Measure(uint32_t id) {
  // Only a byte budget needs the running sums (a walk of each state on
  // every load and flush); bytes() measures on demand otherwise.
  if (max_bytes_ == 0) return;
  Slot& slot = slots_[id];
  const size_t bytes = Footprint(slot);
  live_bytes_ += bytes - slot.bytes;
  slot.bytes = bytes;
}

size_t PersonCache::bytes() const {
  if (max_bytes_ > 0) return live_bytes_ + kept_bytes_;
  size_t n = 0;
  for (const Slot& slot : slots_) n += slot.live ? Footprint(slot) : slot.state.MemoryBytes();
  return n;
}

void PersonCache::MarkDirty(uint32_t id) {
  Slot& slot = slots_[id];
  if (!slot.dirty) {
    slot.dirty = true;
    dirty_.push_back(id);
  }
}

Result<PersonState*> PersonCache::Get(uint16_t partition,
                                      std::string_view person) {
  const uint32_t hash = HashOf(person);
  const int64_t found_at = Find(person, hash);
  if (found_at >= 0) {
    ++hits_;
    const auto id = static_cast<uint32_t>(found_at);
    Slot& slot = slots_[id];
    MarkDirty(id);
    slot.erased = false;
    slot.referenced = true;
    slot.epoch = epoch_;
    return &slot.state;
  }
  ++misses_;
  // Before the lookup: a dirty victim's write-back changes the encoded tier.
  MakeRoom();
  std::string_view bytes;
  EncodedRef ref;
  bool found = encoded_.Find(person, hash, &bytes, &ref);
  if (found) {
    ++encoded_hits_;
    // The decoded state (dirty below) writes the person from now on.
    encoded_.TakeDirty(ref);
  } else if (partition < empty_in_store_.size() && empty_in_store_[partition] &&
             dropped_ == 0 && encoded_.evicted() == 0) {
    ++skipped_reads_;  // a new person: the store cannot hold its state
  } else {
    BuildStateKey(partition, person, &key_);
    EPI_RETURN_IF_ERROR(store_->Get(key_, &scratch_, &found));
    if (found) ++loaded_;
    bytes = scratch_;
  }
  const uint32_t id = Insert(partition, person, hash);
  slots_[id].encoded = ref;
  if (found) {
    Status st = slots_[id].state.Decode(bytes);
    if (!st.ok()) {
      Remove(id);
      return Status::Corruption("person state of partition " +
                                std::to_string(partition) + ": " +
                                st.message());
    }
  }
  Measure(id);
  MarkDirty(id);
  return &slots_[id].state;
}

void PersonCache::InstallAbsent(uint16_t partition, std::string_view person,
                                uint32_t hash, PersonState* state) {
  // Into the encoded tier, which holds thousands of times more than the
  // decoded one: a look-ahead batch (1,024 states) would evict its own
  // states there before their events came. A person the store lacks gets
  // an empty state's bytes, which read the same as no state.
  state->Encode(&scratch_);
  EncodedRef ref;
  encoded_.Put(partition, person, hash, scratch_, &ref);
  if (encoded_.Current(ref)) {
    state->Clear();
    return;
  }
  ++unkept_;
  MakeRoom();
  const uint32_t id = Insert(partition, person, hash);
  std::swap(slots_[id].state, *state);
  state->Clear();
  slots_[id].referenced = true;  // loaded ahead for a coming event: keep it
  Measure(id);
}

void PersonCache::Rewrite(uint16_t partition, std::string_view person, std::string_view bytes) {
  const uint32_t hash = HashOf(person);
  BuildStateKey(partition, person, &key_);
  store_->PutForCommit(key_, bytes);
  const int64_t found_at = Find(person, hash);
  EncodedRef ref = found_at >= 0 ? slots_[static_cast<size_t>(found_at)].encoded : EncodedRef();
  encoded_.Put(partition, person, hash, bytes, &ref);
  if (!encoded_.Current(ref)) ++unkept_;
  if (found_at >= 0) {
    // Clean (after the flush) but older than `bytes`: the next Get decodes
    // them instead.
    const auto id = static_cast<uint32_t>(found_at);
    slots_[id].encoded = ref;
    Evict(id);
  }
}

void PersonCache::MakeRoom() {
  // Each turn of the hand clears every `referenced`, so this ends within two.
  while (live_ > 0 && AtBudget()) {
    if (hand_ >= slots_.size()) hand_ = 0;
    const auto id = static_cast<uint32_t>(hand_++);
    Slot& slot = slots_[id];
    if (!slot.live) continue;
    if (slot.referenced) {
      slot.referenced = false;
      continue;
    }
    if (slot.dirty) WriteBack(id, /*checkpoint=*/false);
    Evict(id);
  }
}

void PersonCache::WriteBack(uint32_t id, bool checkpoint) {
  Slot& slot = slots_[id];
  if (!slot.erased && prune_) prune_(slot.state);
  BuildStateKey(slot.partition, slot.person, &key_);
  if (slot.erased || slot.state.Empty()) {
    store_->DeleteForCommit(key_);
    encoded_.Erase(slot.person, slot.hash);
    slot.encoded = EncodedRef();
  } else {
    slot.state.Encode(&scratch_);
    encoded_.Put(slot.partition, slot.person, slot.hash, scratch_, &slot.encoded,
                 /*dirty=*/!checkpoint);
    const bool kept = encoded_.Current(slot.encoded);
    if (!kept) ++unkept_;
    // Kept dirty: the checkpoint stages it. Else (or not kept) now.
    if (checkpoint || !kept) {
      store_->PutForCommit(key_, scratch_);
    } else {
      evicted_keys_.push_back({slot.partition, true, state_keys::OrderPrefix(slot.person), slot.encoded.id});
    }
  }
  slot.dirty = false;
}

void PersonCache::SetEmptyInStore(uint16_t partition) {
  if (empty_in_store_.size() <= partition) empty_in_store_.resize(size_t{partition} + 1);
  empty_in_store_[partition] = true;
}

void PersonCache::Erase(uint16_t partition, std::string_view person) {
  const uint32_t hash = HashOf(person);
  encoded_.Erase(person, hash);
  const int64_t found_at = Find(person, hash);
  if (found_at < 0) {
    store_->Delete(StateKey(partition, person));
    return;
  }
  const auto id = static_cast<uint32_t>(found_at);
  slots_[id].state.Clear();
  MarkDirty(id);
  slots_[id].erased = true;
}

void PersonCache::DropPartition(uint16_t partition) {
  dirty_.erase(std::remove_if(dirty_.begin(), dirty_.end(),
                              [&](uint32_t id) {
                                return slots_[id].partition == partition;
                              }),
               dirty_.end());
  encoded_.DropPartition(partition);
  if (partition < empty_in_store_.size()) empty_in_store_[partition] = false;
  for (uint32_t id = 0; id < slots_.size(); ++id) {
    if (slots_[id].live && slots_[id].partition == partition) Remove(id);
  }
}

std::string_view PersonCache::PersonOf(const SortKey& k) const {
  if (!k.encoded) return slots_[k.id].person;
  uint16_t partition = 0;
  std::string_view person, bytes;
  encoded_.DirtyEntry(k.id, &partition, &person, &bytes);
  return person;
}

Status PersonCache::Flush() {
  // Key order: (partition, person) is the byte order of StateKey. Sorted on
  // copies of the partition and the first 8 bytes of the id (big-endian, so
  // integer order is byte order), not through the slots: fewer cache misses.
  sort_keys_.clear();
  sort_keys_.reserve(dirty_.size() + evicted_keys_.size());
  for (uint32_t id : dirty_) {
    const Slot& slot = slots_[id];
    if (slot.dirty) sort_keys_.push_back({slot.partition, false, state_keys::OrderPrefix(slot.person), id});
  }
  // The evicted states' keys were taken while they were in the CPU caches.
  sort_keys_.insert(sort_keys_.end(), evicted_keys_.begin(), evicted_keys_.end());
  evicted_keys_.clear();
  // By (partition, prefix) in counting passes (engine/radix_sort.h: std::sort
  // of these keys was ~8 ms of a 40 ms checkpoint), then runs that share
  // both by the ids' whole bytes: ids with a common first 8 bytes, and a
  // person both decoded and dirty-encoded, whose decoded state is newer and
  // goes first (its write cleans the entry, which is then skipped).
  RadixSortBy(&sort_keys_, &sort_scratch_, [](const SortKey& k) { return k.prefix; });
  RadixSortBy<2>(&sort_keys_, &sort_scratch_, [](const SortKey& k) { return uint64_t{k.partition}; });
  SortTies(
      &sort_keys_,
      [](const SortKey& a, const SortKey& b) {
        return a.partition == b.partition && a.prefix == b.prefix;
      },
      [this](const SortKey& a, const SortKey& b) {
        if (a.id == b.id && a.encoded == b.encoded) return false;
        const int c = PersonOf(a).compare(PersonOf(b));
        return c != 0 ? c < 0 : a.encoded < b.encoded;
      });
  for (size_t i = 0; i < sort_keys_.size(); ++i) {
    // Sorted entries are scattered in memory: fetch their records 16 ahead,
    // then (the records loaded by then) their bytes 8 ahead.
    if (i + 16 < sort_keys_.size() && sort_keys_[i + 16].encoded) {
      encoded_.PrefetchRecord(sort_keys_[i + 16].id);
    }
    if (i + 8 < sort_keys_.size() && sort_keys_[i + 8].encoded) {
      encoded_.PrefetchBytes(sort_keys_[i + 8].id);
    }
    const SortKey& k = sort_keys_[i];
    if (k.encoded) {
      uint16_t partition = 0;
      std::string_view person, bytes;
      // Repeated ids and entries a decoded state wrote meanwhile are clean.
      if (!encoded_.DirtyEntry(k.id, &partition, &person, &bytes)) continue;
      BuildStateKey(partition, person, &key_);
      store_->PutForCommit(key_, bytes);
      encoded_.MarkClean(k.id);
      continue;
    }
    if (!slots_[k.id].dirty) continue;  // listed twice
    WriteBack(k.id, /*checkpoint=*/true);
    Measure(k.id);
  }
  encoded_.Staged();
  dirty_.clear();
  if (OverBudget()) {
    // Evict states not touched in the epoch just flushed first, then the rest.
    for (uint32_t id = 0; id < slots_.size() && OverBudget(); ++id) {
      if (slots_[id].live && slots_[id].epoch < epoch_) Evict(id);
    }
    for (uint32_t id = 0; id < slots_.size() && OverBudget(); ++id) {
      if (slots_[id].live) Evict(id);
    }
  }
  // Removed slots keep their allocations for the next loads, within budget.
  for (size_t i = free_.size(); i > 0 && max_bytes_ > 0 && live_bytes_ + kept_bytes_ > max_bytes_;
       --i) {
    Slot& slot = slots_[free_[i - 1]];
    if (slot.bytes == 0) continue;
    kept_bytes_ -= slot.bytes;
    slot.state = PersonState();
    std::string().swap(slot.person);
    slot.bytes = 0;
  }
  ++epoch_;
  return Status::Ok();
}

}  // namespace epistream
