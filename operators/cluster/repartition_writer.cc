#include "operators/cluster/repartition_writer.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"

namespace epistream {

RepartitionWriter::RepartitionWriter(KvStore* store, uint16_t q_count,
                                     RepartitionFrameSink* sink,
                                     DurationMs marker_interval)
    : store_(store),
      router_(q_count),
      sink_(sink),
      marker_interval_(marker_interval),
      generation_source_(&RepartitionWriter::RandomGeneration) {}

std::string RepartitionWriter::SeqKey(uint16_t p) {
  return state_keys::PartitionPrefix(p, 'Q');
}

uint64_t RepartitionWriter::RandomGeneration() {
  std::random_device rd;
  uint64_t g = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  // SplitMix64 of the clock on top: a random_device that is a fixed-seed
  // PRNG still gives distinct values per process start and call.
  uint64_t z =
      static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count()) +
      0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  g ^= z ^ (z >> 31);
  return g == 0 ? 1 : g;
}

Status RepartitionWriter::AddUpstream(uint16_t p) {
  if (upstream_.count(p) != 0) return Status::Ok();
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(SeqKey(p), &value, &found));
  Upstream u;
  if (found) {
    ByteReader r(value);
    u.seq = r.Varint();
    if (!r.ok() || !r.done())
      return Status::Corruption("repartition writer: seq counter");
  }
  u.generation = generation_source_();
  if (u.generation == 0) u.generation = 1;
  u.flushed = u.committed = u.seq;
  // Before any frame of this generation: voids what earlier owners sent
  // after p's restored checkpoint.
  EPI_RETURN_IF_ERROR(SendControl(RepartitionFrameType::kTakeover, p, u));
  upstream_.emplace(p, u);
  return Status::Ok();
}

uint64_t RepartitionWriter::seq(uint16_t p) const {
  auto it = upstream_.find(p);
  return it == upstream_.end() ? 0 : it->second.seq;
}

uint64_t RepartitionWriter::generation(uint16_t p) const {
  auto it = upstream_.find(p);
  return it == upstream_.end() ? 0 : it->second.generation;
}

Status RepartitionWriter::Send(uint16_t q, std::string_view key,
                               const RepartitionFrame& f) {
  f.Encode(&scratch_);
  ++frames_sent_;
  return sink_->Write(q, key, scratch_);
}

Status RepartitionWriter::SendControl(RepartitionFrameType type, uint16_t p,
                                      const Upstream& u) {
  RepartitionFrame f;
  f.type = type;
  f.upstream = p;
  f.generation = u.generation;
  f.seq = u.committed;
  for (uint16_t q = 0; q < router_.q_count(); ++q) {
    EPI_RETURN_IF_ERROR(Send(q, {}, f));
  }
  return Status::Ok();
}

Status RepartitionWriter::OnRecord(uint16_t upstream, const ClusterRecord& r) {
  auto it = upstream_.find(upstream);
  if (it == upstream_.end()) {
    EPI_RETURN_IF_ERROR(AddUpstream(upstream));
    it = upstream_.find(upstream);
  }
  Upstream& u = it->second;
  ++u.seq;
  u.dirty = true;
  frame_.type = RepartitionFrameType::kRecord;
  frame_.upstream = upstream;
  frame_.generation = u.generation;
  frame_.seq = u.seq;
  frame_.record = r;
  router_.Route(r, &targets_);
  for (const uint16_t q : targets_) EPI_RETURN_IF_ERROR(Send(q, r.key, frame_));
  return Status::Ok();
}

Status RepartitionWriter::OnWatermark(TimestampMs wm) {
  if (wm <= watermark_) return Status::Ok();
  watermark_ = wm;
  return SendMarkers(std::max<DurationMs>(marker_interval_, 1));
}

Status RepartitionWriter::SendMarkers(DurationMs min_step) {
  if (watermark_ == kMinTimestamp) return Status::Ok();
  frame_.type = RepartitionFrameType::kWatermark;
  frame_.record = ClusterRecord();
  frame_.watermark = watermark_;
  for (auto& [p, u] : upstream_) {
    if (u.marked != kMinTimestamp && watermark_ - u.marked < min_step) continue;
    u.marked = watermark_;
    // A marker takes a seq: it is applied with the records before it, once
    // committed, and voided with them by a takeover (a dead owner's marker
    // must not let the runner pass records its successor replays).
    ++u.seq;
    u.dirty = true;
    frame_.upstream = p;
    frame_.generation = u.generation;
    frame_.seq = u.seq;
    ++markers_sent_;
    for (uint16_t q = 0; q < router_.q_count(); ++q) {
      EPI_RETURN_IF_ERROR(Send(q, {}, frame_));
    }
  }
  return Status::Ok();
}

Status RepartitionWriter::OnRegistration(std::string_view before,
                                         std::string_view after) {
  if (!registration_) return Status::Ok();
  return registration_(before, after);
}

Status RepartitionWriter::Flush() {
  // Frames durable before the counters are staged (and committed): a commit
  // frame, or a successor's takeover at this seq, then names only frames
  // the runners can read.
  EPI_RETURN_IF_ERROR(SendMarkers(1));  // whatever the interval held back
  EPI_RETURN_IF_ERROR(sink_->Flush());
  std::string value;
  for (auto& [p, u] : upstream_) {
    u.flushed = u.seq;
    if (!u.dirty) continue;
    value.clear();
    ByteWriter(&value).Varint(u.seq);
    store_->Put(SeqKey(p), value);
    u.dirty = false;
  }
  return Status::Ok();
}

Status RepartitionWriter::OnCommitted() {
  for (auto& [p, u] : upstream_) {
    if (u.flushed <= u.committed) continue;
    u.committed = u.flushed;
    ++commits_sent_;
    EPI_RETURN_IF_ERROR(SendControl(RepartitionFrameType::kCommit, p, u));
  }
  return Status::Ok();
}

}  // namespace epistream
