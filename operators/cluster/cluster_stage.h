// ClusterStage: the keyed-by-venue / community / clinic operator behind
// `fever_cluster` and `clinic_surge` (CONTRACT.md section 4; design in
// operators/cluster/README.md).
//
// Input: ClusterRecords from the person stage (OnRecord), in the order they
// were made, and the watermark (OnWatermark). Each fever link schedules an
// evaluation timer at the fever's time a; when the watermark reaches a,
// every record stamped <= a that was not too late is in, and the venue (or
// community) is tested: k distinct fever persons in the case window, mean
// N * r from the exact distinct counts, Poisson tail against alpha / V (or
// C). With rules.cluster_method = venue_day, venues are tested per
// venue-day instead (VenueDayWindow): at each fever visit a, for each day D
// on which the person visited the venue, k = persons who visited it on D with
// a fever visit <= a, N = its visitors on D up to a, against alpha / (7 V).
// With rules.community_method = weekly, a community's p is the bound on
// its week's scan (CommunityWeeklyScanP) instead of one window's tail.
// Significant findings open or grow a versioned cluster. A clinic's day
// is tested by EARS C2 when the watermark passes its last millisecond.
//
// State: CaseWindows (venues, communities), ClinicStates, VenueActivity and
// the city-wide GlobalAggregate, all under one key prefix (options
// key_prefix: G C when one instance owns every cluster key, Q<be16 q> for
// repartition partition q, so several stages share one store and each one's
// keys are one range), with event-time timers under <prefix> X. Everything
// is staged by Flush and commits with the checkpoint, so a restart resumes
// exactly.
//
// Lifecycle: construct, Open (loads state and timers), then OnRecord /
// OnWatermark; Flush before every checkpoint commit.
// Threading: not thread-safe; one thread at a time. With options.detached,
// OnRecord / OnRegistration / OnWatermark may run on a thread other than the
// store's owner (Open and Flush run on the owner with that thread idle).
// Determinism: outputs depend only on the order of calls and their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv_store.h"
#include "engine/status.h"
#include "engine/timer_service.h"
#include "operators/alert.h"
#include "operators/cluster/case_window.h"
#include "operators/cluster/clinic_surge.h"
#include "operators/cluster/cluster_alert.h"
#include "operators/cluster/cluster_record.h"
#include "operators/cluster/global_aggregate.h"
#include "operators/cluster/state_table.h"
#include "operators/cluster/venue_activity.h"
#include "operators/cluster/venue_day_window.h"
#include "operators/rules_config.h"

namespace epistream {

// rules.community_method = weekly: an upper bound on the chance that a
// Poisson process with mean `mu` per `window` brings the count of its
// sliding window to >= k at some time in one week:
//   P(X >= k; mu) + (7 d / window) mu P(X = k - 1; mu),
// the chance of starting the week at >= k plus the expected number of
// up-crossings from k - 1 to k (an arrival while the window holds k - 1:
// rate (mu / window) P(X = k - 1)). At most 1. k >= 1.
double CommunityWeeklyScanP(uint64_t k, double mu, DurationMs window);

struct ClusterStageOptions {
  RulesConfig rules;
  // Allowed lateness of the watermark: nothing older than watermark minus
  // this is ever evaluated, so older detail can be folded away. Default: 1h
  DurationMs allowed_lateness = kHourMs;
  // Local timezone offset for clinic days. Default: +08:00
  int tz_offset_minutes = 8 * 60;
  // A clinic silent this long is forgotten (its history restarts). Default: 21d
  DurationMs retention = 21 * kDayMs;
  // Event time between full prunes of every cluster key. Default: 1d
  DurationMs sweep_interval = kDayMs;
  // Evaluations (fever_cluster, clinic_surge) at time a run once the
  // watermark reaches a + this. 0: as soon as it reaches a; a record stamped
  // <= a that arrives later (late, within the allowed lateness) re-runs the
  // venue's or community's later evaluations, so versions can depend on how
  // input partitions interleaved. allowed_lateness + 1 ms: every record an
  // accepted event can still produce stamped <= a is in by then, so outputs
  // depend only on the input, not on its interleaving across partitions or
  // instances, at the price of alerts that much later. Default: 0
  DurationMs evaluation_delay = 0;
  // Prefix of every store key of the stage (states, counters, timers,
  // watermark). Empty: the single-process prefix G C (state_keys::Global('C'));
  // a repartition partition q uses ClusterPartitionKeyPrefix(q). Default: ""
  std::string key_prefix;
  // Every timer in memory, its changes staged by Flush only: between Open
  // and Flush no call touches the store, so another thread may run OnRecord,
  // OnRegistration and OnWatermark (operators/cluster/cluster_worker.h)
  // while the store's owner writes other keys. Costs memory for the timers
  // beyond TimerService's head (one per active venue, ~100 bytes each).
  // Default: false
  bool detached = false;
};

// The key prefix of repartition partition q's cluster stage: 'Q' + be16(q).
std::string ClusterPartitionKeyPrefix(uint16_t q);
// The prefix a stage with these options uses (resolves the empty default).
std::string ClusterStageKeyPrefix(const ClusterStageOptions& opts);

class ClusterStage {
 public:
  ClusterStage(const ClusterStageOptions& opts, KvStore* store);

  // Loads every cluster state, the city counters and the timers.
  Status Open();
  // One record of the person stage.
  Status OnRecord(const ClusterRecord& r) { return OnRecord(r, KeyHash(r.key)); }
  // The same with KeyHash(r.key) computed by the caller.
  Status OnRecord(const ClusterRecord& r, uint32_t key_hash);
  // The hash of a record's key that every state table takes (StateTable's
  // HashOf does not depend on the table).
  static uint32_t KeyHash(std::string_view key) { return StateTable<CaseWindow>::HashOf(key); }
  // Cache hints for a record OnRecord will take soon: the index bucket of
  // its key (slot = false), then, a few records later, its state (slot =
  // true). Lookups only: changes nothing.
  void PrefetchRecord(const ClusterRecord& r, uint32_t key_hash, bool slot) const;
  // A person's registered community changed in epi.persons (from `before`,
  // empty if none, to `after`): the registered populations follow.
  Status OnRegistration(std::string_view before, std::string_view after);
  // Replaces every community's registered population by counts[community]
  // (0 if absent): a stage that (re)joins an instance takes the instance's
  // view of epi.persons, a table, instead of deltas it may have missed.
  void SetRegisteredCounts(const std::map<std::string, int64_t>& counts);
  // The watermark reached `wm`: fires due timers in (time, kind, key) order.
  Status OnWatermark(TimestampMs wm, std::vector<Alert>* alerts);
  // Stages every changed state (call before the checkpoint's Commit).
  Status Flush();

  // Introspection (tests, metrics).
  int64_t CityCountAt(CityCounter c, TimestampMs a) const {
    return aggregate_.ValueAt(c, a);
  }
  int64_t VenuePopulationAt(const std::string& venue, TimestampMs a);
  int64_t CommunitiesWithPopulationAt(TimestampMs a) const;
  size_t pending_timers() const { return timers_.size(); }
  size_t venues() const { return venues_.size(); }
  TimestampMs watermark() const { return watermark_; }
  const std::string& key_prefix() const { return prefix_; }

  // Drops from a venue window (`community` false) or a community window what
  // no evaluation at or after the horizon of `watermark` reads: what the
  // stage does to a window before it writes it. State comparisons use it to
  // put two stores' windows in one form.
  static void PruneCaseWindow(const ClusterStageOptions& opts,
                              TimestampMs watermark, bool community,
                              CaseWindow& w);

 private:
  void ScheduleActivityTimer(const std::string& venue, VenueActivity& act,
                             TimestampMs end);
  void FireActivity(const std::string& venue);
  void EvaluateVenue(const std::string& venue, TimestampMs a,
                     std::vector<Alert>* alerts);
  void EvaluateVenueDays(const std::string& venue, TimestampMs a,
                         std::vector<Alert>* alerts);
  void EvaluateCommunity(const std::string& community, TimestampMs a,
                         std::vector<Alert>* alerts);
  void EvaluateClinicDay(const std::string& clinic, TimestampMs end_of_day,
                         std::vector<Alert>* alerts);
  // Adds the cases to the window's episode (a new one if none is alive at a)
  // and announces a version when the member count reaches the next step.
  void Grow(ClusterSubject subject, const std::string& key, bool& has_episode,
            ClusterEpisode& episode, TimestampMs a, DurationMs window,
            const std::vector<const CaseLink*>& cases, TimestampMs latest,
            const ClusterTest& test, std::vector<Alert>* alerts);
  void Sweep();
  // Drops from one state what no evaluation at or after the horizon reads.
  void PruneVenue(CaseWindow& w) const;
  void PruneCommunity(CaseWindow& w) const;
  void PruneVenueDays(VenueDayWindow& w) const;
  void PruneClinic(ClinicState& c) const;
  void PruneActivity(VenueActivity& a) const;
  // Evaluations run up to here (watermark minus the evaluation delay).
  TimestampMs EvalWatermark() const {
    return watermark_ == kMinTimestamp ? kMinTimestamp
                                       : watermark_ - opts_.evaluation_delay;
  }
  static TimestampMs HorizonOf(const ClusterStageOptions& opts,
                               TimestampMs watermark) {
    return watermark - opts.allowed_lateness - opts.evaluation_delay;
  }
  TimestampMs Horizon() const { return HorizonOf(opts_, watermark_); }

  ClusterStageOptions opts_;
  KvStore* store_;
  std::string prefix_;
  std::string watermark_key_;
  StateTable<CaseWindow> venues_;
  StateTable<CaseWindow> communities_;
  StateTable<VenueDayWindow> venue_days_;
  StateTable<ClinicState> clinics_;
  StateTable<VenueActivity> activity_;
  GlobalAggregate aggregate_;
  TimerService timers_;
  TimestampMs watermark_ = kMinTimestamp;
  // Sweep bucket of the watermark at the last sweep check; at Open, the
  // stored watermark's.
  int64_t last_sweep_bucket_ = INT64_MIN;
  std::vector<StampedDelta> deltas_;
};

}  // namespace epistream
