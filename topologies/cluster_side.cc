#include "topologies/cluster_side.h"

#include <algorithm>
#include <chrono>

#include "engine/byte_codec.h"
#include "engine/state_keys.h"
#include "operators/dead_letter.h"

namespace epistream {
namespace {

constexpr char kRegisteredSub = 'R';

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int32_t RepartitionPartitionsFor(int32_t configured, int32_t inputs) {
  if (configured > 0) return configured;
  return std::clamp(inputs, 1, kDefaultMaxRepartitionPartitions);
}

ClusterSide::ClusterSide(const ClusterSideOptions& opts, KvStore* store,
                         RepartitionFrameSink* frames,
                         RecordSink* cluster_alerts, RecordSink* deadletters)
    : opts_(opts),
      store_(store),
      alert_sink_(cluster_alerts),
      deadletter_sink_(deadletters),
      frames_(frames) {
  ResetWriter();
}

void ClusterSide::ResetWriter() {
  writer_ = std::make_unique<RepartitionWriter>(
      store_, opts_.repartition_partitions, frames_, opts_.marker_interval);
  writer_->set_registration_listener(
      [this](std::string_view before, std::string_view after) {
        return OnRegistration(before, after);
      });
}

std::string ClusterSide::SinkPositionKey(uint16_t q) {
  return ClusterPartitionKeyPrefix(q) + 'S';
}

Result<std::string> ClusterSide::StoredAlertSinkPosition(uint16_t q) {
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(SinkPositionKey(q), &value, &found));
  return value;
}

Status ClusterSide::Open() {
  registered_.clear();
  const std::string prefix = state_keys::Global(kRegisteredSub, "");
  bool corrupt = false;
  EPI_RETURN_IF_ERROR(store_->Scan(
      prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
        ByteReader r(v);
        const int64_t n = r.SignedVarint();
        if (!r.ok() || !r.done()) {
          corrupt = true;
          return false;
        }
        registered_[std::string(k.substr(prefix.size()))] = n;
        return true;
      }));
  if (corrupt) return Status::Corruption("cluster side: registered count");
  return Status::Ok();
}

Status ClusterSide::OnRegistration(std::string_view before,
                                   std::string_view after) {
  if (before == after) return Status::Ok();
  if (!before.empty()) {
    --registered_[std::string(before)];
    registered_dirty_.insert(std::string(before));
  }
  if (!after.empty()) {
    ++registered_[std::string(after)];
    registered_dirty_.insert(std::string(after));
  }
  for (auto& [q, a] : runners_) {
    EPI_RETURN_IF_ERROR(a.runner->OnRegistration(before, after));
  }
  return Status::Ok();
}

Status ClusterSide::CheckShape(uint16_t q) {
  const std::string key = ShapeKey(q);
  std::string value;
  bool found = false;
  EPI_RETURN_IF_ERROR(store_->Get(key, &value, &found));
  if (found) {
    ByteReader r(value);
    const uint64_t q_count = r.Varint();
    const uint64_t n_count = r.Varint();
    if (!r.ok()) {
      return Status::Corruption(
          "cluster side: bad shape record of repartition partition " +
          std::to_string(q));
    }
    if (q_count == opts_.repartition_partitions &&
        n_count == opts_.upstream_partitions) {
      return Status::Ok();
    }
    // Keys hash to other partitions under another Q (and frames name
    // upstreams that do not exist under another N): the stored state would
    // be read by the wrong keys. Refuse rather than alert from it.
    return Status::InvalidArgument(
        "cluster state of repartition partition " + std::to_string(q) +
        " was built with " + std::to_string(q_count) +
        " repartition partitions and " + std::to_string(n_count) +
        " input partitions; now " +
        std::to_string(opts_.repartition_partitions) + " and " +
        std::to_string(opts_.upstream_partitions) +
        ": partition counts are fixed once there is state (reset the state, "
        "the changelogs and the repartition topic to change them)");
  }
  std::string shape;
  ByteWriter w(&shape);
  w.Varint(opts_.repartition_partitions);
  w.Varint(opts_.upstream_partitions);
  store_->Put(key, shape);
  return Status::Ok();
}

std::string ClusterSide::ShapeKey(uint16_t q) {
  return ClusterPartitionKeyPrefix(q) + 'Z';
}

Status ClusterSide::Assign(uint16_t q) {
  if (runners_.count(q) != 0) return Status::Ok();
  EPI_RETURN_IF_ERROR(CheckShape(q));
  Assigned a;
  a.runner = std::make_unique<ClusterPartitionRunner>(
      opts_.stage, store_, q, opts_.upstream_partitions);
  EPI_RETURN_IF_ERROR(a.runner->Open());
  a.runner->SetRegisteredCounts(registered_);
  runners_.emplace(q, std::move(a));
  return Status::Ok();
}

Result<std::optional<int64_t>> ClusterSide::StoredOffset(uint16_t q) {
  return ClusterPartitionRunner::StoredResumeOffset(store_, q);
}

Status ClusterSide::OnMessage(uint16_t q, int64_t offset,
                              std::string_view bytes) {
  auto it = runners_.find(q);
  if (it == runners_.end())
    return Status::InvalidArgument("cluster side: partition not assigned");
  Assigned& a = it->second;
  EPI_RETURN_IF_ERROR(
      a.runner->OnFrame(offset, bytes, &pending_, &dead_reason_));
  if (!dead_reason_.empty()) {
    DeadLetter dl;
    dl.reason = dead_reason_;
    dl.topic = std::string(kRepartitionClusterTopic);
    dl.partition = q;
    dl.offset = offset;
    dl.original = std::string(bytes.substr(0, 64 * 1024 + 1));
    const std::string key =
        dl.topic + ":" + std::to_string(q) + ":" + std::to_string(offset);
    EPI_RETURN_IF_ERROR(deadletter_sink_->Write(key, DeadLetterToJson(dl)));
  }
  if (pending_.empty()) return Status::Ok();
  const TimestampMs now = WallNowMs();
  for (const Alert& alert : pending_) {
    scratch_.clear();
    AlertToJson(alert, opts_.stage.tz_offset_minutes, now, &scratch_);
    EPI_RETURN_IF_ERROR(alert_sink_->Write(AlertKey(alert), scratch_));
    ++alerts_;
  }
  pending_.clear();
  return Status::Ok();
}

Status ClusterSide::Checkpoint() {
  // The position after every alert the runners made so far: reading the
  // alert topic from there on suppresses exactly what a replay of q repeats.
  EPI_RETURN_IF_ERROR(alert_sink_->Flush());
  const std::string sink_position = alert_sink_->Position();
  std::string value;
  for (auto& [q, a] : runners_) {
    EPI_RETURN_IF_ERROR(a.runner->Checkpoint());
    store_->Put(SinkPositionKey(q), sink_position);
  }
  for (const std::string& community : registered_dirty_) {
    const std::string key = state_keys::Global(kRegisteredSub, community);
    const int64_t n = registered_[community];
    if (n == 0) {
      store_->Delete(key);
      continue;
    }
    value.clear();
    ByteWriter(&value).SignedVarint(n);
    store_->Put(key, value);
  }
  registered_dirty_.clear();
  return Status::Ok();
}

std::vector<uint16_t> ClusterSide::assigned() const {
  std::vector<uint16_t> out;
  for (const auto& [q, a] : runners_) out.push_back(q);
  return out;
}

const ClusterPartitionRunner* ClusterSide::runner(uint16_t q) const {
  auto it = runners_.find(q);
  return it == runners_.end() ? nullptr : it->second.runner.get();
}

}  // namespace epistream
