#include "engine/kafka_sink.h"

#include <algorithm>

#include "engine/byte_codec.h"

namespace epistream {
namespace {

bool DecodePosition(std::string_view bytes, std::map<int32_t, int64_t>* ends) {
  ByteReader r(bytes);
  if (r.U8() != 1) return false;
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const auto p = static_cast<int32_t>(r.Varint());
    (*ends)[p] = static_cast<int64_t>(r.Varint());
  }
  return r.ok() && r.done();
}

}  // namespace

std::string KafkaSink::EncodePosition(const std::map<int32_t, int64_t>& ends) {
  std::string out;
  ByteWriter w(&out);
  w.U8(1);
  w.Varint(ends.size());
  for (const auto& [p, end] : ends) {
    w.Varint(static_cast<uint64_t>(p));
    w.Varint(static_cast<uint64_t>(end));
  }
  return out;
}

KafkaSink::KafkaSink(KafkaProducer* producer, std::string topic, IdFn id, int flush_timeout_ms)
    : producer_(producer), topic_(std::move(topic)), id_(std::move(id)),
      flush_timeout_ms_(flush_timeout_ms) {}

std::string KafkaSink::AlertIdOf(std::string_view key, std::string_view value) {
  static constexpr std::string_view kPrefix = "{\"alert_id\":\"";
  if (value.substr(0, kPrefix.size()) == kPrefix) {
    const size_t end = value.find('"', kPrefix.size());
    if (end != std::string_view::npos) return std::string(value.substr(kPrefix.size(), end - kPrefix.size()));
  }
  return std::string(key);
}

size_t KafkaSink::ForgetPending() {
  const size_t n = seen_.size() + taken_seen_.size();
  seen_.clear();
  taken_seen_.clear();
  taken_pending_.clear();
  return n;
}

std::string KafkaSink::KeyOf(std::string_view key, std::string_view) { return std::string(key); }

Status KafkaSink::Recover(const std::string& position, const TableReaderOptions& reader,
                          int timeout_ms) {
  position_ = position;
  if (position.empty()) return Status::Ok();
  std::map<int32_t, int64_t> ends;
  if (!DecodePosition(position, &ends)) return Status::Corruption("sink position of " + topic_);
  std::map<TopicPartition, int64_t> start;
  for (const auto& [p, end] : ends) start[TopicPartition{topic_, p}] = end;
  TableReaderOptions opts = reader;
  opts.topics = {topic_};
  auto r = TableReader::Open(opts, start);
  if (!r.ok()) return r.status();
  return (*r)->ReadToEnd(
      [this](const KafkaMessage& m) {
        seen_.insert(id_(m.key, m.value));
        return Status::Ok();
      },
      timeout_ms);
}

Status KafkaSink::AddRecovery(const std::map<int32_t, std::string>& positions,
                              const TableReaderOptions& reader, int timeout_ms,
                              const std::function<bool(int32_t, std::string_view)>& keep) {
  // One read from the lowest position over all the partitions; each record
  // goes to the partitions whose own position it is at or after.
  std::map<int32_t, std::map<int32_t, int64_t>> from;  // input partition -> sink ends
  std::map<TopicPartition, int64_t> start;
  bool any = false;
  for (const auto& [partition, position] : positions) {
    if (position.empty()) continue;
    std::map<int32_t, int64_t>& ends = from[partition];
    if (!DecodePosition(position, &ends)) return Status::Corruption("sink position of " + topic_);
    for (const auto& [sp, end] : ends) {
      auto it = start.find(TopicPartition{topic_, sp});
      if (it == start.end()) {
        start[TopicPartition{topic_, sp}] = end;
      } else {
        it->second = std::min(it->second, end);
      }
    }
    any = true;
  }
  if (!any) return Status::Ok();
  // A sink partition some position does not name is read from its start.
  for (auto it = start.begin(); it != start.end();) {
    bool everywhere = true;
    for (const auto& [partition, ends] : from) everywhere = everywhere && ends.count(it->first.partition) != 0;
    it = everywhere ? std::next(it) : start.erase(it);
  }
  TableReaderOptions opts = reader;
  opts.topics = {topic_};
  auto r = TableReader::Open(opts, start);
  if (!r.ok()) return r.status();
  return (*r)->ReadToEnd(
      [&](const KafkaMessage& m) {
        std::string id;
        for (const auto& [partition, ends] : from) {
          auto e = ends.find(m.partition);
          if (e != ends.end() && m.offset < e->second) continue;  // before its checkpoint
          if (keep && !keep(partition, m.key)) continue;
          if (id.empty()) id = id_(m.key, m.value);
          std::vector<int32_t>& parts = taken_seen_[id];
          if (std::find(parts.begin(), parts.end(), partition) == parts.end()) {
            parts.push_back(partition);
            ++taken_pending_[partition];
          }
        }
        return Status::Ok();
      },
      timeout_ms);
}

Status KafkaSink::Write(std::string_view key, std::string_view value) {
  if (!seen_.empty() || !taken_seen_.empty()) {
    const std::string id = id_(key, value);
    auto it = seen_.find(id);
    if (it != seen_.end()) {
      seen_.erase(it);
      ++suppressed_;
      return Status::Ok();
    }
    auto taken = taken_seen_.find(id);
    if (taken != taken_seen_.end()) {
      for (int32_t p : taken->second) {
        auto count = taken_pending_.find(p);
        if (count != taken_pending_.end() && --count->second == 0) taken_pending_.erase(count);
      }
      taken_seen_.erase(taken);
      ++suppressed_;
      return Status::Ok();
    }
  }
  ++written_;
  return producer_->Produce(topic_, key, value);
}

Status KafkaSink::Flush() {
  EPI_RETURN_IF_ERROR(producer_->Flush(flush_timeout_ms_));
  if (!seen_.empty()) {
    // The topic still holds output of events after the checkpointed input
    // positions that the replay has not reached: a checkpoint now would pair
    // newer input positions with an older output position (or the reverse)
    // and a second crash would duplicate. Postpone until the replay catches up.
    return Status::Unavailable("replay: " + std::to_string(seen_.size()) + " records of " + topic_ +
                               " written before the crash not yet regenerated");
  }
  auto parts = producer_->PartitionCount(topic_);
  if (!parts.ok()) return parts.status();
  std::map<int32_t, int64_t> ends;
  for (int32_t p = 0; p < *parts; ++p) {
    auto end = producer_->EndOffset(topic_, p);
    if (!end.ok()) return end.status();
    ends[p] = *end;
  }
  position_ = EncodePosition(ends);
  return Status::Ok();
}

}  // namespace epistream
