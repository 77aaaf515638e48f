#include "operators/cluster/repartition_writer.h"

#include <algorithm>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"

namespace epistream {

RepartitionWriter::RepartitionWriter(KvStore* store, uint16_t q_count,
                                     RepartitionFrameSink* sink,
                                     DurationMs marker_interval)
    : store_(store),
      router_(q_count),
      sink_(sink),
      marker_interval_(marker_interval) {}

std::string RepartitionWriter::SeqKey(uint16_t p) {
  return state_keys::PartitionPrefix(p, 'Q');
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
  upstream_.emplace(p, u);
  return Status::Ok();
}

uint64_t RepartitionWriter::seq(uint16_t p) const {
  auto it = upstream_.find(p);
  return it == upstream_.end() ? 0 : it->second.seq;
}

Status RepartitionWriter::Send(uint16_t q, std::string_view key,
                               const RepartitionFrame& f) {
  f.Encode(&scratch_);
  ++frames_sent_;
  return sink_->Write(q, key, scratch_);
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
    frame_.upstream = p;
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
  // Frames durable before the counters are staged (and committed): after a
  // crash p replays from its last commit with the committed counter, so
  // frames sent after it come again with the same numbers, which the
  // runners drop.
  EPI_RETURN_IF_ERROR(SendMarkers(1));  // whatever the interval held back
  EPI_RETURN_IF_ERROR(sink_->Flush());
  std::string value;
  for (auto& [p, u] : upstream_) {
    if (!u.dirty) continue;
    value.clear();
    ByteWriter(&value).Varint(u.seq);
    store_->Put(SeqKey(p), value);
    u.dirty = false;
  }
  return Status::Ok();
}

}  // namespace epistream
