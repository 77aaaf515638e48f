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

std::string ClusterPartitionRunner::OffsetKey(uint16_t q) {
  return ClusterPartitionKeyPrefix(q) + 'O';
}

namespace {

// (resume, decided) from <prefix>O; a value of 8 bytes (before commits
// existed) is both.
Status DecodeOffsets(std::string_view value, int64_t* resume,
                     int64_t* decided) {
  ByteReader r(value);
  *resume = static_cast<int64_t>(r.BigEndian64());
  *decided = r.done() ? *resume : static_cast<int64_t>(r.BigEndian64());
  if (!r.ok() || !r.done())
    return Status::Corruption("cluster partition runner: stored offsets");
  return Status::Ok();
}

}  // namespace

Result<std::optional<int64_t>> ClusterPartitionRunner::StoredResumeOffset(
    KvStore* store, uint16_t q) {
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store->Get(OffsetKey(q), &value, &found));
  if (!found) return std::optional<int64_t>();
  int64_t resume = 0, decided = 0;
  EPI_RETURN_IF_ERROR(DecodeOffsets(value, &resume, &decided));
  return std::optional<int64_t>(resume);
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
    upstream_[p].applied = r.Varint();
    upstream_[p].marker = r.OrderedI64();
    if (!r.done()) upstream_[p].generation = r.Varint();
    if (!r.ok() || !r.done())
      return Status::Corruption("cluster partition runner: upstream progress");
  }
  // The stage stored its own watermark; ours is recomputed from the markers
  // (the same value: the stage only ever advanced to their minimum).
  TimestampMs min_marker = upstream_.front().marker;
  for (const Upstream& u : upstream_)
    min_marker = std::min(min_marker, u.marker);
  watermark_ = min_marker;
  bool found = false;
  decided_ = 0;
  next_ = -1;
  EPI_RETURN_IF_ERROR(store_->Get(OffsetKey(q_), &value, &found));
  if (found) {
    int64_t resume = 0;
    EPI_RETURN_IF_ERROR(DecodeOffsets(value, &resume, &decided_));
  }
  return Status::Ok();
}

Status ClusterPartitionRunner::OnFrame(int64_t offset, std::string_view bytes,
                                       std::vector<Alert>* alerts,
                                       std::string* dead_letter_reason) {
  dead_letter_reason->clear();
  Status st = frame_.Decode(bytes);
  if (!st.ok()) {
    next_ = std::max(next_, offset + 1);
    if (offset < decided_) return Status::Ok();  // reported before
    ++dead_letters_;
    *dead_letter_reason = "bad_repartition_frame";
    return Status::Ok();
  }
  return OnFrame(offset, frame_, alerts, dead_letter_reason);
}

bool ClusterPartitionRunner::Invalid(const ClusterRecord& r) {
  CityCounter c;
  return r.kind == ClusterRecordKind::kCityCount &&
         !ParseCityCounter(r.key, &c);
}

Status ClusterPartitionRunner::OnFrame(int64_t offset,
                                       const RepartitionFrame& f,
                                       std::vector<Alert>* alerts,
                                       std::string* dead_letter_reason) {
  dead_letter_reason->clear();
  next_ = std::max(next_, offset + 1);
  // Below `decided_` the checkpointed state already holds every decision:
  // only the pending sets are rebuilt (see the header).
  const bool replay = offset < decided_;
  const bool bad =
      f.upstream >= upstream_.size() ||
      (f.type == RepartitionFrameType::kRecord && Invalid(f.record));
  if (bad) {
    if (replay) return Status::Ok();
    ++dead_letters_;
    *dead_letter_reason = f.upstream >= upstream_.size()
                              ? "repartition_frame_unknown_upstream"
                              : "bad_cluster_record";
    return Status::Ok();
  }
  Upstream& u = upstream_[f.upstream];
  if (f.is_data()) {
    if (f.generation != u.generation) {
      if (!replay) ++discarded_;
      return Status::Ok();
    }
    if (f.seq <= u.applied || u.pending.count(f.seq) != 0) {
      ++duplicates_;
      return Status::Ok();
    }
    u.pending.emplace(f.seq, Pending{f, offset});
    return Status::Ok();
  }
  if (replay) return Status::Ok();
  if (f.type == RepartitionFrameType::kCommit) {
    if (f.generation != u.generation) return Status::Ok();  // fenced off
    return Apply(f.upstream, f.seq, alerts);
  }
  // Takeover.
  if (f.generation == u.generation) return Status::Ok();  // resent
  if (f.seq < u.applied) ++fence_violations_;
  EPI_RETURN_IF_ERROR(Apply(f.upstream, f.seq, alerts));
  discarded_ += u.pending.size();
  u.pending.clear();
  u.generation = f.generation;
  u.dirty = true;
  return Status::Ok();
}

Status ClusterPartitionRunner::Apply(uint16_t p, uint64_t s,
                                     std::vector<Alert>* alerts) {
  Upstream& u = upstream_[p];
  while (!u.pending.empty() && u.pending.begin()->first <= s) {
    const RepartitionFrame& f = u.pending.begin()->second.frame;
    if (f.type == RepartitionFrameType::kRecord) {
      Status st = stage_.OnRecord(f.record);
      if (st.code() == StatusCode::kInvalidArgument) {
        ++dead_letters_;  // Invalid() let it through: counted, not fatal
      } else {
        EPI_RETURN_IF_ERROR(st);
        ++applied_;
      }
    } else if (f.watermark > u.marker) {
      u.marker = f.watermark;
      TimestampMs min_marker = u.marker;
      for (const Upstream& x : upstream_)
        min_marker = std::min(min_marker, x.marker);
      if (min_marker > watermark_) {
        watermark_ = min_marker;
        EPI_RETURN_IF_ERROR(stage_.OnWatermark(watermark_, alerts));
      }
    }
    u.pending.erase(u.pending.begin());
  }
  if (s > u.applied) {
    u.applied = s;
    u.dirty = true;
  }
  return Status::Ok();
}

int64_t ClusterPartitionRunner::resume_offset() const {
  int64_t resume = std::max(next_, decided_);
  for (const Upstream& u : upstream_) {
    // One generation's frames arrive in seq order: its lowest seq is its
    // earliest offset.
    if (!u.pending.empty())
      resume = std::min(resume, u.pending.begin()->second.offset);
  }
  return resume;
}

size_t ClusterPartitionRunner::pending() const {
  size_t n = 0;
  for (const Upstream& u : upstream_) n += u.pending.size();
  return n;
}

Status ClusterPartitionRunner::Checkpoint() {
  EPI_RETURN_IF_ERROR(stage_.Flush());
  std::string value;
  for (uint16_t p = 0; p < upstream_.size(); ++p) {
    Upstream& u = upstream_[p];
    if (!u.dirty) continue;
    value.clear();
    ByteWriter w(&value);
    w.Varint(u.applied);
    w.OrderedI64(u.marker);
    w.Varint(u.generation);
    store_->Put(UpstreamKey(p), value);
    u.dirty = false;
  }
  if (next_ >= 0) {
    value.clear();
    ByteWriter w(&value);
    w.BigEndian64(static_cast<uint64_t>(resume_offset()));
    w.BigEndian64(static_cast<uint64_t>(std::max(next_, decided_)));
    store_->Put(OffsetKey(q_), value);
  }
  return Status::Ok();
}

}  // namespace epistream
