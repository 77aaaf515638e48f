// PersonStage: the keyed-by-person operator. For each scan, transport and
// fever event it updates the person's windows and runs the person rules; for
// each new risk-area listing it finds earlier arrivals by a range scan of the
// arrivals index (retroactive alerts); when the watermark advances it fires
// due timers (test deadlines) and, once per sweep interval of event time,
// deletes state older than the retention.
//
// With a cluster output set, it also feeds the cluster stage
// (operators/cluster/README.md): for each fever visit one FeverLink per
// distinct venue of the 7-day trail, a CommunityFever and a ClinicVisit; for
// each scan a VenueScan; and the +1/-1 deltas of the person's presence spans
// (venue visitors over the population window, active and fever persons over
// the case and community windows, persons seen per community), the -1s from
// one presence timer per person at the earliest open span end. With
// rules.cluster_method = venue_day the venue records are per venue-day
// instead: a VenueDayVisitor +1 at the person's earliest scan of a venue on
// each local day (moved if an earlier scan arrives late) and, for each fever
// visit, one VenueDayLink per (venue, day) of the 7-day trail; no FeverLink
// and no venue presence spans then.
//
// Lifecycle: construct, AddPartition for each owned input partition (loads its
// timers), then On* calls; Flush before every checkpoint commit;
// RemovePartition after the final checkpoint of a revoked partition.
//
// Threading: every method runs on the one stage thread; not thread-safe.
// Determinism: outputs depend only on the order of calls and their arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "engine/timer_service.h"
#include "operators/alert.h"
#include "operators/cluster/cluster_record.h"
#include "operators/event.h"
#include "operators/person_cache.h"
#include "operators/person_prefetcher.h"
#include "operators/person_registry.h"
#include "operators/risk_area_table.h"
#include "operators/rules_config.h"

namespace epistream {

struct PersonStageOptions {
  RulesConfig rules;
  // Event-time retention of all person state. Default: 21d
  DurationMs retention = 21 * kDayMs;
  // Allowed lateness of the watermark (kept windows stretch by it). Default: 1h
  DurationMs allowed_lateness = kHourMs;
  // Local timezone offset for calendar days. Default: +08:00
  int tz_offset_minutes = 8 * 60;
  // Decoded states kept in memory (PersonCache). Default: 64
  size_t cache_entries = 64;
  // Approximate bytes of decoded states kept in memory after each checkpoint
  // (PersonCache), 0 for no byte bound. Default: 0
  size_t cache_bytes = 0;
  // Bytes of evicted states kept encoded in memory (EncodedStateCache), 0
  // for none. Default: 320 MiB
  size_t encoded_cache_bytes = 320ull << 20;
  // Event time between retention sweeps. Default: 1d
  DurationMs sweep_interval = kDayMs;
};

class PersonStage {
 public:
  PersonStage(const PersonStageOptions& opts, KvStore* store, const RiskAreaTable* areas,
              const PersonRegistry* registry);
  // The cache's prune callback points here.
  PersonStage(const PersonStage&) = delete;
  PersonStage& operator=(const PersonStage&) = delete;

  // Where cluster records go (borrowed; the caller drains it after each
  // call), each tagged with its input partition (ClusterRecordBuffer::source).
  // Null (the default): no cluster records and no presence spans.
  void set_cluster_output(ClusterRecordBuffer* out) { cluster_out_ = out; }

  // Takes a partition (loads its timers; idempotent). A newly taken
  // partition is checked against every listing the table holds: listings
  // read while no instance owned it (after a restart or a rebalance) must
  // still find its earlier arrivals. Flagging is idempotent per person and
  // area, so alerts found before are not repeated.
  Status AddPartition(uint16_t partition, std::vector<Alert>* alerts);
  void RemovePartition(uint16_t partition);

  // A scan, transport or fever event of `partition`. *duplicate is set when
  // (type, event_id) was already applied for this person (nothing changes).
  Status OnEvent(const Event& e, uint16_t partition, bool* duplicate, std::vector<Alert>* alerts);

  // A risk_area record just applied to the table: arrivals it covers that
  // were processed before it fire now, if within the retroactive window.
  Status OnListing(const Event& rec, std::vector<Alert>* alerts);

  // The watermark reached `wm`: fire due timers in (time, kind, key) order.
  Status OnWatermark(TimestampMs wm, std::vector<Alert>* alerts);

  // The watermark this stage's stored state was checkpointed at (a restart
  // or a rewind to stored progress): the first OnWatermark in a later sweep
  // bucket sweeps, as it would have without the restart. Without it that
  // first call only notes its bucket, and the sweep waits a bucket more.
  void ResumeSweepsAt(TimestampMs wm);

  // Stages every changed state and timer into the store (call before Commit).
  Status Flush();

  // Look-ahead loading (operators/person_prefetcher.h). PlanPrefetch adds
  // the state key of `person` to `batch` unless the person is cached or the
  // partition is not (yet) owned. InstallPrefetched caches the loaded states
  // that are still current (KvStore::UnchangedSince) of persons still not
  // cached, in owned partitions; the rest stay ordinary misses. Outputs do
  // not depend on either call.
  void PlanPrefetch(uint16_t partition, std::string_view person,
                    PrefetchBatch* batch) const;
  void InstallPrefetched(PrefetchBatch* batch);
  // False while every stored state is cached (nothing evicted, no stored
  // state loaded yet): loading ahead could only find new persons.
  bool PrefetchUseful() const { return cache_.MayMissStoredStates(); }
  // Memory hints for the states of coming events (PersonCache::PrefetchIndex
  // and PrefetchEntry).
  uint32_t PrefetchIndex(std::string_view person) const { return cache_.PrefetchIndex(person); }
  void PrefetchEntry(uint32_t hash) const { cache_.PrefetchEntry(hash); }
  const PrefetchCounters& prefetch_counters() const { return prefetch_; }
  uint64_t cache_hits() const { return cache_.hits(); }
  uint64_t cache_misses() const { return cache_.misses(); }
  uint64_t cache_encoded_hits() const { return cache_.encoded_hits(); }
  size_t encoded_persons() const { return cache_.encoded_size(); }
  size_t encoded_bytes() const { return cache_.encoded_bytes(); }

  size_t cached_persons() const { return cache_.size(); }
  size_t cached_bytes() const { return cache_.bytes(); }
  size_t pending_timers() const;

 private:
  struct IndexHit {
    std::string region;
    TimestampMs ts;
    std::string person;
  };
  static std::string IndexKey(uint16_t partition, std::string_view region, TimestampMs ts,
                              std::string_view person);
  void AfterExposure(struct RuleContext& ctx, const ExposureRecord& x);
  // Retroactive join of one listing interval with a partition's arrivals.
  Status RetroScan(uint16_t partition, const ListingInterval& iv, std::vector<Alert>* alerts);
  Status FireTimer(uint16_t partition, const Timer& t, std::vector<Alert>* alerts);
  // Cluster-stage input of one event (before it joins the person's trail).
  void EmitClusterRecords(const Event& e, PersonState& s, TimerService* timers);
  void EmitFeverLink(std::string_view venue, const Event& fever, TimestampMs scan_ts);
  void EmitFeverLink(std::string_view venue, std::string_view person, const FeverRecord& f,
                     TimestampMs scan_ts);
  // venue_day: the visitor count and late links of one scan (before it joins
  // the trail), and the links of one fever visit.
  void EmitContractLinks(const Event& fever, const PersonState& s);
  void EmitVenueDayScan(const Event& e, const PersonState& s);
  void EmitVenueDayVisitorDelta(std::string_view venue, TimestampMs ts, int32_t delta);
  void EmitVenueDayLinks(const Event& fever, const PersonState& s);
  void EmitVenueDayLink(std::string_view venue, std::string_view person, std::string_view event_id,
                        std::string_view clinic_id, TimestampMs fever_ts, TimestampMs scan_ts);
  // An occurrence in a presence track: span bookkeeping, deltas, timer.
  void Presence(std::string_view person, PersonState& s, TimerService* timers, uint8_t track,
                std::string_view key, TimestampMs ts);
  void EmitPresenceDelta(uint8_t track, std::string_view key, TimestampMs ts, int32_t delta);
  DurationMs PresenceWindow(uint8_t track) const;
  void ClosePresence(std::string_view person, PersonState& s, TimerService* timers);
  // The timers of an owned partition, null if the partition is not owned.
  TimerService* TimersOf(uint16_t partition) const;
  Status Sweep(TimestampMs wm);
  void Prune(PersonState& s) const;

  PersonStageOptions opts_;
  KvStore* store_;
  const RiskAreaTable* areas_;
  const PersonRegistry* registry_;
  PersonCache cache_;
  // One per owned partition, in partition order. A flat vector: OnWatermark
  // scans every partition per event (128 on Kafka: as a std::map walk with
  // a set lookup per partition it was 10% of the stage thread).
  struct PartitionTimers {
    uint16_t partition;
    std::unique_ptr<TimerService> timers;
  };
  static bool PartitionBefore(const PartitionTimers& t, uint16_t partition) {
    return t.partition < partition;
  }
  TimerWatch timer_watch_;  // over every service in timers_ (declared first: outlives them)
  std::vector<PartitionTimers> timers_;
  TimestampMs watermark_ = kMinTimestamp;
  int64_t last_sweep_bucket_ = INT64_MIN;
  ClusterRecordBuffer* cluster_out_ = nullptr;
  PrefetchCounters prefetch_;
  std::vector<StampedDelta> deltas_;
  std::vector<std::pair<std::string_view, TimestampMs>> venues_scratch_;
  struct VenueDayScratch {
    std::string_view venue;
    int64_t day;
    TimestampMs scan_ts;
  };
  std::vector<VenueDayScratch> venue_days_scratch_;
};

}  // namespace epistream
