#include "topologies/file_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/file_sink.h"
#include "engine/file_source.h"
#include "engine/rocks_kv_store.h"
#include "engine/thread_cpu.h"
#include "topologies/city_pipeline.h"

namespace epistream {
namespace {

constexpr std::string_view kFileSource = "file";
// Lines per OnMessages call at most (~1.6 MB of a typical city input: the
// copy stays in cache until the pipeline reads it).
constexpr uint64_t kChunkLines = 8192;

std::string DefaultDeadletterPath(const std::string& alerts) {
  if (alerts == "-") return "deadletter.jsonl";
  std::filesystem::path p(alerts);
  return (p.parent_path() / "deadletter.jsonl").string();
}

Status Run(const FileRunOptions& opts, const std::string& state_dir) {
  Result<std::unique_ptr<RocksKvStore>> store = RocksKvStore::Open(state_dir, opts.engine.state);
  if (!store.ok()) return store.status();
  KvStore* kv = store->get();
  // A checkpoint's RocksDB write overlaps the next batch's processing (the
  // other core); Sync() below makes the last one durable before exit.
  (*store)->EnableAsyncCommit();

  Result<std::string> alerts_pos = CityPipeline::StoredSinkPosition(kv, "alerts");
  if (!alerts_pos.ok()) return alerts_pos.status();
  Result<std::string> dl_pos = CityPipeline::StoredSinkPosition(kv, "deadletters");
  if (!dl_pos.ok()) return dl_pos.status();
  const std::string dl_path = opts.deadletter.empty() ? DefaultDeadletterPath(opts.alerts) : opts.deadletter;
  auto alerts = FileLineSink::Open(opts.alerts, *alerts_pos);
  if (!alerts.ok()) return alerts.status();
  auto dead = FileLineSink::Open(dl_path, *dl_pos);
  if (!dead.ok()) return dead.status();
  auto source = FileLineSource::Open(opts.input);
  if (!source.ok()) return source.status();

  CityPipeline pipeline(opts.engine, opts.rules, kv, alerts->get(), alerts->get(), dead->get(), nullptr);
  pipeline.set_prefetch(opts.prefetch);
  EPI_RETURN_IF_ERROR(pipeline.Open());
  EPI_RETURN_IF_ERROR(pipeline.AddPartition(0, std::nullopt, 0));
  auto stored = pipeline.StoredOffset(kFileSource, 0);
  if (!stored.ok()) return stored.status();
  const int64_t resume_at = stored->value_or(0);

  const uint64_t batch = opts.batch_size > 0 ? opts.batch_size : opts.engine.checkpoint.max_events;
  const auto start = std::chrono::steady_clock::now();
  const double stage_cpu0 = CurrentThreadCpuSeconds();
  uint64_t since_checkpoint = 0;
  uint64_t lines = 0;
  std::string_view line;
  int64_t offset = 0;
  Status read_status;
  const SourcePosition base{kFileSource, 0, 0};
  bool stopped_early = false;
  // Lines go to the pipeline in chunks (copied: the source reuses its line
  // buffer), so it can load the persons of upcoming lines ahead of use
  // (CityPipeline::OnMessages). A chunk ends where a checkpoint is due, so
  // checkpoints fall on the same lines as one line at a time.
  std::string arena;
  std::vector<std::pair<size_t, size_t>> spans;  // (start in arena, size)
  std::vector<PipelineRecord> records;
  bool more = true;
  while (more) {
    uint64_t limit = std::min<uint64_t>(kChunkLines, batch - since_checkpoint);
    if (opts.stop_after > 0) limit = std::min<uint64_t>(limit, opts.stop_after - lines);
    arena.clear();
    spans.clear();
    records.clear();
    uint64_t taken = 0;
    while (taken < limit) {
      if (!(*source)->Next(&line, &offset, &read_status)) {
        more = false;
        break;
      }
      if (offset < resume_at) continue;
      ++taken;
      if (line.empty()) continue;
      spans.emplace_back(arena.size(), line.size());
      arena.append(line);
      SourcePosition pos = base;
      pos.offset = offset;
      records.push_back(PipelineRecord{std::string_view(), std::nullopt, pos});
    }
    for (size_t i = 0; i < records.size(); ++i) {
      records[i].bytes = std::string_view(arena).substr(spans[i].first, spans[i].second);
    }
    EPI_RETURN_IF_ERROR(pipeline.OnMessages(records, 0));
    lines += taken;
    since_checkpoint += taken;
    if (since_checkpoint >= batch) {
      EPI_RETURN_IF_ERROR(pipeline.Checkpoint());
      since_checkpoint = 0;
    }
    if (opts.stop_after > 0 && lines >= opts.stop_after) {
      stopped_early = true;
      break;
    }
  }
  EPI_RETURN_IF_ERROR(read_status);
  if (!stopped_early) EPI_RETURN_IF_ERROR(pipeline.EndOfInput());
  EPI_RETURN_IF_ERROR(pipeline.Checkpoint());
  EPI_RETURN_IF_ERROR((*store)->Sync());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!opts.quiet) {
    const PipelineCounters& c = pipeline.counters();
    std::fprintf(stderr,
                 "epistream: %llu lines, %llu events, %llu alerts, %llu dead letters, "
                 "%llu duplicates in %.2f s (%.0f lines/s)\n",
                 static_cast<unsigned long long>(lines), static_cast<unsigned long long>(c.events),
                 static_cast<unsigned long long>(c.alerts),
                 static_cast<unsigned long long>(c.deadletters),
                 static_cast<unsigned long long>(c.duplicates), secs,
                 secs > 0 ? static_cast<double>(lines) / secs : 0.0);
    const PrefetchCounters& pf = pipeline.prefetch_counters();
    std::fprintf(stderr,
                 "epistream: person cache %zu states, %.0f MiB, %llu hits, %llu misses; "
                 "encoded %zu states, %.0f MiB, %llu hits; "
                 "prefetched %llu states (%llu stale, %llu already cached); CPU s: stage "
                 "thread %.2f, parse thread %.2f, prefetch thread %.2f, cluster thread %.2f\n",
                 pipeline.cached_persons(),
                 static_cast<double>(pipeline.cached_bytes()) / (1 << 20),
                 static_cast<unsigned long long>(pipeline.cache_hits()),
                 static_cast<unsigned long long>(pipeline.cache_misses()),
                 pipeline.encoded_persons(),
                 static_cast<double>(pipeline.encoded_bytes()) / (1 << 20),
                 static_cast<unsigned long long>(pipeline.cache_encoded_hits()),
                 static_cast<unsigned long long>(pf.installed),
                 static_cast<unsigned long long>(pf.stale),
                 static_cast<unsigned long long>(pf.cached), CurrentThreadCpuSeconds() - stage_cpu0,
                 pipeline.parse_cpu_seconds(), pipeline.prefetch_cpu_seconds(), pipeline.cluster_cpu_seconds());
  }
  return Status::Ok();
}

}  // namespace

int RunFileMode(const FileRunOptions& opts) {
  std::string state_dir = opts.state_dir;
  bool temporary = false;
  if (state_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "epistream-state-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "epistream: cannot create a temporary state directory\n");
      return 1;
    }
    state_dir = tmpl;
    temporary = true;
  }
  Status st = Run(opts, state_dir);
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir, ec);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "epistream: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace epistream
