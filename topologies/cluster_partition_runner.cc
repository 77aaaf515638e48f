#include "topologies/cluster_partition_runner.h"

#include <algorithm>

#include "engine/byte_codec.h"

namespace epistream {

ClusterStageOptions ClusterPartitionRunner::WithPrefix(ClusterStageOptions o,
                                                       uint16_t q) {
  o.key_prefix = ClusterPartitionKeyPrefix(q);
  return o;
}

ClusterPartitionRunner::ClusterPartitionRunner(
    const ClusterStageOptions& stage_options, KvStore* store, uint16_t q,
    uint16_t upstream_count)
    : q_(q),
      prefix_(ClusterPartitionKeyPrefix(q)),
      store_(store),
      stage_(WithPrefix(stage_options, q), store),
      upstream_(std::max<uint16_t>(upstream_count, 1)) {}

std::string ClusterPartitionRunner::UpstreamKey(uint16_t p) const {
  std::string k = prefix_;
  k.push_back('U');
  ByteWriter(&k).BigEndian16(p);
  return k;
}

Status ClusterPartitionRunner::Open() {
  EPI_RETURN_IF_ERROR(stage_.Open());
  std::string value;
  for (uint16_t p = 0; p < upstream_.size(); ++p) {
    bool found = false;
    EPI_RETURN_IF_ERROR(store_->Get(UpstreamKey(p), &value, &found));
    upstream_[p] = Upstream();
    if (!found) continue;
    ByteReader r(value);
    upstream_[p].last_seq = r.Varint();
    upstream_[p].marker = r.OrderedI64();
    if (!r.ok() || !r.done())
      return Status::Corruption("cluster partition runner: upstream progress");
  }
  // The stage stored its own watermark; ours is recomputed from the markers
  // (the same value: the stage only ever advanced to their minimum).
  TimestampMs min_marker = upstream_.front().marker;
  for (const Upstream& u : upstream_)
    min_marker = std::min(min_marker, u.marker);
  watermark_ = min_marker;
  return Status::Ok();
}

Status ClusterPartitionRunner::OnFrame(std::string_view bytes,
                                       std::vector<Alert>* alerts,
                                       std::string* dead_letter_reason) {
  dead_letter_reason->clear();
  Status st = frame_.Decode(bytes);
  if (!st.ok()) {
    ++dead_letters_;
    *dead_letter_reason = "bad_repartition_frame";
    return Status::Ok();
  }
  return OnFrame(frame_, alerts, dead_letter_reason);
}

Status ClusterPartitionRunner::OnFrame(const RepartitionFrame& f,
                                       std::vector<Alert>* alerts,
                                       std::string* dead_letter_reason) {
  dead_letter_reason->clear();
  if (f.upstream >= upstream_.size()) {
    ++dead_letters_;
    *dead_letter_reason = "repartition_frame_unknown_upstream";
    return Status::Ok();
  }
  Upstream& u = upstream_[f.upstream];
  if (f.type == RepartitionFrameType::kWatermark) {
    if (f.watermark <= u.marker) return Status::Ok();  // idempotent
    u.marker = f.watermark;
    u.dirty = true;
    TimestampMs min_marker = u.marker;
    for (const Upstream& x : upstream_)
      min_marker = std::min(min_marker, x.marker);
    if (min_marker <= watermark_) return Status::Ok();
    watermark_ = min_marker;
    return stage_.OnWatermark(watermark_, alerts);
  }
  if (f.seq <= u.last_seq) {
    ++duplicates_;
    return Status::Ok();
  }
  u.last_seq = f.seq;
  u.dirty = true;
  Status st = stage_.OnRecord(f.record);
  if (st.code() == StatusCode::kInvalidArgument) {
    ++dead_letters_;
    *dead_letter_reason = "bad_cluster_record";
    return Status::Ok();
  }
  EPI_RETURN_IF_ERROR(st);
  ++applied_;
  return Status::Ok();
}

Status ClusterPartitionRunner::Checkpoint() {
  EPI_RETURN_IF_ERROR(stage_.Flush());
  std::string value;
  for (uint16_t p = 0; p < upstream_.size(); ++p) {
    Upstream& u = upstream_[p];
    if (!u.dirty) continue;
    value.clear();
    ByteWriter w(&value);
    w.Varint(u.last_seq);
    w.OrderedI64(u.marker);
    store_->Put(UpstreamKey(p), value);
    u.dirty = false;
  }
  return Status::Ok();
}

}  // namespace epistream
