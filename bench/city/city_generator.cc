#include "bench/city/city_generator.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/city/city_ids.h"
#include "bench/city/city_model.h"
#include "bench/city/city_planner.h"
#include "bench/city/daily_routine.h"
#include "bench/city/event_formatter.h"
#include "bench/city/risk_schedule.h"

namespace epistream {
namespace {

enum : uint8_t { kTypeScan = 0, kTypeTransport, kTypeFever, kTypeRisk };

// One event of the current slice, before formatting (16 bytes).
struct SliceEvent {
  uint64_t key;  // ms of day << 32 | person (UINT32_MAX for risk-area records)
  uint8_t seq;
  uint8_t type;
  CodeColor color;
  uint8_t unused;
  uint32_t ref;  // scan: venue; transport/fever: index into the slice's items;
                 // risk: record

  int32_t ms() const { return static_cast<int32_t>(key >> 32); }
  uint32_t person() const { return static_cast<uint32_t>(key); }
};
static_assert(sizeof(SliceEvent) == 16);

SliceEvent MakeEvent(int32_t ms, uint32_t person, uint8_t seq, uint8_t type,
                     CodeColor color, uint32_t ref) {
  return {static_cast<uint64_t>(ms) << 32 | person, seq, type, color, 0, ref};
}

// A total order, so the sorted slice is the same whatever the sort algorithm.
struct EarlierThan {
  bool operator()(const SliceEvent& a, const SliceEvent& b) const {
    if (a.key != b.key) return a.key < b.key;
    if (a.seq != b.seq) return a.seq < b.seq;
    if (a.type != b.type) return a.type < b.type;
    return a.ref < b.ref;
  }
};

// Slices per day: the fewest (a divisor of 24) keeping the busiest slice,
// assumed 2.5x the average, within the budget.
int SlicesPerDay(double events_per_day, uint64_t budget) {
  for (int s : {1, 2, 3, 4, 6, 8, 12, 24}) {
    if (events_per_day * 2.5 / s <= static_cast<double>(budget)) return s;
  }
  return 24;
}

class CityGenerator {
 public:
  CityGenerator(const CityConfig& config, const CityLineSink& sink,
                TimestampMs start, int64_t start_local_day)
      : config_(config),
        sink_(sink),
        start_(start),
        start_local_day_(start_local_day),
        model_(config),
        risk_(config, start, start + config.days * kDayMs),
        planner_(config, model_, risk_, start, &truth_),
        routine_(config, model_),
        formatter_(model_, config.tz_offset_minutes),
        watch_(model_.venue_count(), 0),
        visits_today_(model_.venue_count(), 0),
        visits_yesterday_(model_.venue_count(), 0) {
    const auto& hospitals = model_.VenuesOfKind(VenueKind::kHospital);
    some_clinic_ = model_.ClinicId(hospitals.front());
    stats_.slices_per_day =
        SlicesPerDay(static_cast<double>(config.persons) *
                         (routine_.ExpectedVisitsPerDay() + 0.05),
                     config.max_slice_events);
    routine_.SetSlicesPerDay(stats_.slices_per_day);
  }

  Status Run(std::string* truth_json, CityStats* stats) {
    EPI_RETURN_IF_ERROR(EmitStart());
    planner_.PlanInitial();
    for (int day = 0; day < config_.days; ++day)
      EPI_RETURN_IF_ERROR(GenerateDay(day));
    if (truth_json != nullptr)
      *truth_json = truth_.ToJson(config_, model_, risk_, stats_);
    if (stats != nullptr) *stats = stats_;
    return Status::Ok();
  }

 private:
  // Risk-area listings effective before the period, then the person registry.
  Status EmitStart() {
    const auto& records = risk_.records();
    while (risk_cursor_ < records.size() && records[risk_cursor_].ts < start_) {
      const RiskRecord& r = records[risk_cursor_++];
      formatter_.RiskArea(r.ts, r.listing, risk_.listings()[r.listing],
                          r.delisting, &line_);
      EPI_RETURN_IF_ERROR(EmitGood(r.ts, false));
      ++stats_.risk_records;
    }
    formatter_.SetDay(0, start_local_day_);
    uint32_t community = 0;
    for (uint32_t p = 0; p < model_.persons(); ++p) {
      while (p >= model_.CommunityStart(community + 1)) ++community;
      formatter_.Person(p, model_.Profile(p, community), &line_);
      EPI_RETURN_IF_ERROR(EmitGood(start_, false));
      ++stats_.person_records;
    }
    return Status::Ok();
  }

  Status GenerateDay(int day) {
    planner_.PlanDay(day, visits_yesterday_);
    for (uint32_t v : planner_.watched_venues()) watch_[v] = 1;
    watched_visits_.clear();
    std::fill(visits_today_.begin(), visits_today_.end(), 0);
    formatter_.SetDay(day, start_local_day_ + day);
    for (int s = 0; s < routine_.slices_per_day(); ++s) {
      EPI_RETURN_IF_ERROR(GenerateSlice(day, s));
    }
    for (uint32_t v : planner_.watched_venues()) watch_[v] = 0;
    planner_.FinishDay(day, watched_visits_);
    std::sort(abnormal_keys_.begin(), abnormal_keys_.end());
    abnormal_keys_.erase(
        std::unique(abnormal_keys_.begin(), abnormal_keys_.end()),
        abnormal_keys_.end());
    for (uint64_t k : abnormal_keys_) {
      ((k & 3) == static_cast<uint64_t>(CodeColor::kRed)
           ? stats_.abnormal_code_criticals
           : stats_.abnormal_code_warnings)++;
    }
    abnormal_keys_.clear();
    visits_yesterday_.swap(visits_today_);
    return Status::Ok();
  }

  Status GenerateSlice(int day, int slice) {
    const int32_t from = routine_.SliceFrom(slice);
    const int32_t to = routine_.SliceTo(slice);
    const TimestampMs day_start = planner_.DayStart(day);
    // Weekday of the local day: 1970-01-01 was a Thursday (Monday = 0).
    const int64_t weekday = ((start_local_day_ + day) % 7 + 7 + 3) % 7;
    const bool weekend = weekday >= 5;
    slice_.clear();
    slice_items_.clear();
    const auto& specials = planner_.specials();
    if (routine_.AnyActivityIn(slice)) {
      // Everyone, merged with the (ordered) special states.
      auto sp_it = specials.begin();
      uint32_t community = 0;
      uint32_t community_end = model_.CommunityStart(1);
      for (uint32_t p = 0; p < model_.persons(); ++p) {
        while (p >= community_end) {
          community_end = model_.CommunityStart(++community + 1);
        }
        const PersonSpecial* sp = nullptr;
        if (sp_it != specials.end() && sp_it->first == p) {
          sp = &sp_it->second;
          ++sp_it;
        }
        visits_.clear();
        routine_.Generate(model_.Profile(p, community), day, weekend, slice,
                          &visits_);
        if (!visits_.empty() || sp != nullptr) {
          AddPersonEvents(p, day, day_start, from, to, sp);
        }
      }
    } else {
      // At night nobody has routine visits: only planned events.
      visits_.clear();
      for (const auto& [p, sp] : specials) {
        AddPersonEvents(p, day, day_start, from, to, &sp);
      }
    }
    const auto& records = risk_.records();
    while (risk_cursor_ < records.size() &&
           records[risk_cursor_].ts < day_start + to) {
      const auto ms =
          static_cast<int32_t>(records[risk_cursor_].ts - day_start);
      slice_.push_back(MakeEvent(ms, UINT32_MAX, 0, kTypeRisk,
                                 CodeColor::kGreen,
                                 static_cast<uint32_t>(risk_cursor_)));
      ++risk_cursor_;
    }
    std::sort(slice_.begin(), slice_.end(), EarlierThan());
    stats_.peak_slice_events =
        std::max<uint64_t>(stats_.peak_slice_events, slice_.size());
    for (const SliceEvent& e : slice_)
      EPI_RETURN_IF_ERROR(EmitEvent(day, day_start, e));
    return Status::Ok();
  }

  // Adds the person's routine visits (in visits_, filtered by the special
  // state) and planned events of the slice to slice_.
  void AddPersonEvents(uint32_t p, int day, TimestampMs day_start, int32_t from,
                       int32_t to, const PersonSpecial* sp) {
    const CodeColor base = routine_.DailyCode(p, day);
    for (const RoutineVisit& v : visits_) {
      const TimestampMs ts = day_start + v.ms_of_day;
      if (sp != nullptr && sp->Blocks(ts, v.kind)) continue;
      const CodeColor color = sp != nullptr ? sp->CodeAt(ts, base) : base;
      slice_.push_back(
          MakeEvent(v.ms_of_day, p, v.seq, kTypeScan, color, v.venue));
    }
    if (sp == nullptr) return;
    for (const PlannedItem& item : sp->items) {
      if (item.day != day) continue;
      const auto ms = static_cast<int32_t>(item.ts - day_start);
      if (ms < from || ms >= to) continue;
      if (item.kind == ItemKind::kScan) {
        slice_.push_back(MakeEvent(ms, p, item.seq, kTypeScan,
                                   sp->CodeAt(item.ts, base), item.venue));
      } else {
        const uint8_t type =
            item.kind == ItemKind::kTransport ? kTypeTransport : kTypeFever;
        slice_.push_back(MakeEvent(ms, p, item.seq, type, CodeColor::kGreen,
                                   static_cast<uint32_t>(slice_items_.size())));
        slice_items_.push_back(&item);
      }
    }
  }

  Status EmitEvent(int day, TimestampMs day_start, const SliceEvent& e) {
    switch (e.type) {
      case kTypeScan:
        formatter_.Scan(e.ms(), e.person(), e.seq, e.ref, e.color, &line_);
        ++stats_.scans;
        stats_.yellow_scans += e.color == CodeColor::kYellow;
        stats_.red_scans += e.color == CodeColor::kRed;
        ++visits_today_[e.ref];
        if (e.color != CodeColor::kGreen) {
          const VenueKind kind = model_.venue(e.ref).kind;
          if (kind != VenueKind::kTestSite && kind != VenueKind::kHospital) {
            abnormal_keys_.push_back(uint64_t{e.person()} << 2 |
                                     static_cast<uint64_t>(e.color));
          }
        }
        if (watch_[e.ref])
          watched_visits_.push_back({e.ref, e.person(), e.ms(), e.seq});
        break;
      case kTypeTransport:
        formatter_.Transport(e.ms(), e.person(), *slice_items_[e.ref], &line_);
        ++stats_.transports;
        break;
      case kTypeFever:
        formatter_.Fever(e.ms(), e.person(), *slice_items_[e.ref], &line_);
        ++stats_.fevers;
        break;
      default: {
        const RiskRecord& r = risk_.records()[e.ref];
        formatter_.RiskArea(r.ts, r.listing, risk_.listings()[r.listing],
                            r.delisting, &line_);
        ++stats_.risk_records;
        return EmitGood(r.ts, false);
      }
    }
    EPI_RETURN_IF_ERROR(EmitGood(day_start + e.ms(), true));
    return MaybeEmitBad(day, e);
  }

  Status EmitGood(TimestampMs ts, bool stream_event) {
    if (stats_.lines == 0) stats_.first_ts = ts;
    stats_.last_ts = std::max(stats_.last_ts, ts);
    ++stats_.lines;
    EPI_RETURN_IF_ERROR(sink_(line_));
    if (stream_event && config_.duplicate_fraction > 0 &&
        ToUnit(HashKey(config_.seed, P(Purpose::kBadInput), stats_.lines, 1)) <
            config_.duplicate_fraction) {
      ++stats_.lines;
      ++stats_.duplicate_lines;
      EPI_RETURN_IF_ERROR(sink_(line_));
    }
    return Status::Ok();
  }

  // A deliberately malformed line after a good one, with exactly one fault
  // (so the expected dead-letter reason is unambiguous).
  Status MaybeEmitBad(int day, const SliceEvent& e) {
    if (config_.malformed_fraction <= 0) return Status::Ok();
    const uint64_t h =
        HashKey(config_.seed, P(Purpose::kBadInput), stats_.lines, 2);
    if (!(ToUnit(h) < config_.malformed_fraction)) return Status::Ok();
    std::string id = "bad";
    AppendUint(stats_.malformed_lines, &id);
    std::string ts;
    formatter_.AppendTs(e.ms(), &ts);
    std::string person = "P";
    AppendUint(e.person(), &person);
    const std::string head = "{\"type\":\"scan\",\"event_id\":\"" + id +
                             "\",\"ts\":\"" + ts + "\",\"person_id\":\"" +
                             person + "\",";
    std::string reason;
    switch (ToBelow(Mix64(h), 9)) {
      case 0:
        bad_ = line_.substr(0, line_.size() / 2);
        reason = "bad_json";
        break;
      case 1:
        bad_ = "[\"scan\"," + std::to_string(day) + "]";
        reason = "bad_json";
        break;
      case 2:
        bad_ = head + "\"code_color\":\"green\"}";
        reason = "missing_field:venue_id";
        break;
      case 3:
        bad_ = head + "\"venue_id\":\"mall-0\",\"code_color\":\"purple\"}";
        reason = "bad_value:code_color";
        break;
      case 4:
        bad_ = "{\"type\":\"scan\",\"event_id\":\"" + id +
               "\",\"ts\":\"2022-02-30T25:61:00.000+08:00\",\"person_id\":\"" +
               person + "\",\"venue_id\":\"mall-0\",\"code_color\":\"green\"}";
        reason = "bad_timestamp";
        break;
      case 5:
        bad_ = "{\"type\":\"scan\",\"event_id\":\"" + id + "\",\"ts\":\"" + ts +
               "\",\"person_id\":" + std::to_string(e.person()) +
               ",\"venue_id\":\"mall-0\",\"code_color\":\"green\"}";
        reason = "bad_type:person_id";
        break;
      case 6:
        bad_ = "{\"type\":\"fever\",\"event_id\":\"" + id + "\",\"ts\":\"" +
               ts + "\",\"person_id\":\"" + person + "\",\"clinic_id\":\"" +
               some_clinic_ + "\",\"temp_c\":52.5}";
        reason = "out_of_range:temp_c";
        break;
      case 7:
        bad_ = "{\"type\":\"scan\",\"ts\":\"" + ts + "\",\"person_id\":\"" +
               person + "\",\"venue_id\":\"mall-0\",\"code_color\":\"green\"}";
        reason = "missing_field:event_id";
        break;
      default:
        bad_ = "{\"type\":\"vaccination\",\"event_id\":\"" + id +
               "\",\"ts\":\"" + ts + "\",\"person_id\":\"" + person + "\"}";
        reason = "bad_value:type";
        break;
    }
    ++stats_.lines;
    ++stats_.malformed_lines;
    truth_.malformed.push_back({stats_.lines, std::move(reason)});
    return sink_(bad_);
  }

  const CityConfig& config_;
  const CityLineSink& sink_;
  const TimestampMs start_;
  const int64_t start_local_day_;
  GroundTruth truth_;
  CityStats stats_;
  CityModel model_;
  RiskSchedule risk_;
  CityPlanner planner_;
  DailyRoutine routine_;
  EventFormatter formatter_;
  std::string some_clinic_;
  size_t risk_cursor_ = 0;
  std::vector<uint8_t> watch_;
  std::vector<uint32_t> visits_today_;
  std::vector<uint32_t> visits_yesterday_;
  std::vector<WatchedVisit> watched_visits_;
  std::vector<uint64_t>
      abnormal_keys_;  // person << 2 | colour, for the current day
  std::vector<RoutineVisit> visits_;
  std::vector<SliceEvent> slice_;
  std::vector<const PlannedItem*> slice_items_;
  std::string line_;
  std::string bad_;
};

// Buffered writer on a FILE*: one fwrite per MiB, errors checked.
class LineFile {
 public:
  ~LineFile() {
    if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    if (path == "-") {
      file_ = stdout;
    } else {
      file_ = std::fopen(path.c_str(), "wb");
      if (file_ == nullptr)
        return Status::IoError("cannot open " + path + ": " +
                               std::strerror(errno));
    }
    buffer_.reserve(kFlushBytes + 64 * 1024);
    return Status::Ok();
  }
  Status Append(std::string_view data) {
    buffer_.append(data);
    return buffer_.size() >= kFlushBytes ? Flush() : Status::Ok();
  }
  Status Close() {
    EPI_RETURN_IF_ERROR(Flush());
    if (file_ == stdout) {
      if (std::fflush(stdout) != 0)
        return Status::IoError("cannot write stdout");
      file_ = nullptr;
      return Status::Ok();
    }
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0)
      return Status::IoError("cannot close " + path_ + ": " +
                             std::strerror(errno));
    return Status::Ok();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  Status Flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(),
                                        file_) != buffer_.size()) {
      return Status::IoError("cannot write " + path_ + ": " +
                             std::strerror(errno));
    }
    buffer_.clear();
    return Status::Ok();
  }
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

}  // namespace

Status GenerateCity(const CityConfig& config, const CityLineSink& emit_line,
                    std::string* ground_truth_json, CityStats* stats) {
  EPI_RETURN_IF_ERROR(config.Validate());
  int y = 0, m = 0, d = 0;
  std::sscanf(config.start_date.c_str(), "%d-%d-%d", &y, &m,
              &d);  // checked by Validate
  const int64_t local_day =
      DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  const TimestampMs start = LocalDayStart(local_day, config.tz_offset_minutes);
  auto generator =
      std::make_unique<CityGenerator>(config, emit_line, start, local_day);
  return generator->Run(ground_truth_json, stats);
}

Status GenerateCityToFiles(const CityConfig& config,
                           const std::string& events_path,
                           const std::string& truth_path, CityStats* stats) {
  EPI_RETURN_IF_ERROR(config.Validate());
  LineFile events;
  EPI_RETURN_IF_ERROR(events.Open(events_path));
  std::string truth;
  EPI_RETURN_IF_ERROR(GenerateCity(
      config,
      [&events](std::string_view line) {
        EPI_RETURN_IF_ERROR(events.Append(line));
        return events.Append("\n");
      },
      truth_path.empty() ? nullptr : &truth, stats));
  EPI_RETURN_IF_ERROR(events.Close());
  if (truth_path.empty()) return Status::Ok();
  LineFile truth_file;
  EPI_RETURN_IF_ERROR(truth_file.Open(truth_path));
  EPI_RETURN_IF_ERROR(truth_file.Append(truth));
  return truth_file.Close();
}

}  // namespace epistream
