// Test helpers for runs over a generated city: a temporary directory holding
// one city input (made once per suite), and a sink that keeps its lines.
//
// Threading: test thread only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bench/city/city_generator.h"
#include "engine/mem_kv_store.h"
#include "engine/record_sink.h"
#include "tests/testing/assert_ok.h"
#include "tests/testing/scenario.h"
#include "topologies/city_pipeline.h"
#include "topologies/file_runner.h"

namespace epistream::testing {

// Keeps every value written, in order.
class LineSink : public RecordSink {
 public:
  Status Write(std::string_view, std::string_view value) override {
    lines.emplace_back(value);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::vector<std::string> lines;
};

// What a run wrote: its alerts without emitted_at, its dead letters.
struct RunOutput {
  std::vector<std::string> alerts;
  std::vector<std::string> deadletters;
};

// A file-mode run of `input` named `name` in directory `dir`: its own
// alerts, dead-letter and state paths, quiet. The caller sets the rest.
inline FileRunOptions FileRunIn(const std::string& dir, const std::string& name,
                                const std::string& input) {
  FileRunOptions o;
  o.input = input;
  o.alerts = dir + "/" + name + ".alerts.jsonl";
  o.deadletter = dir + "/" + name + ".dead.jsonl";
  o.state_dir = dir + "/" + name + ".state";
  o.quiet = true;
  return o;
}

// Runs `o` in file mode, from a fresh state unless `resume`, and reads what
// it wrote (all of it: a resumed run appends).
inline RunOutput RunFileAndRead(const FileRunOptions& o, bool resume = false) {
  if (!resume) {
    std::error_code ec;
    std::filesystem::remove_all(o.state_dir, ec);
  }
  EXPECT_EQ(RunFileMode(o), 0) << o.alerts;
  return RunOutput{WithoutEmittedAt(ReadLines(o.alerts)), ReadLines(o.deadletter)};
}

// A pipeline on an in-memory store with one file partition, driven
// directly; person and cluster alerts go to one sink.
struct DirectPipeline {
  explicit DirectPipeline(const EngineConfig& engine)
      : pipeline(engine, RulesConfig(), &store, &alerts, &alerts, &dead, nullptr) {}
  Status Start() {
    EPI_RETURN_IF_ERROR(pipeline.Open());
    return pipeline.AddPartition(0, std::nullopt, 0);
  }
  // Feeds `lines` in OnMessages calls of `per_call` records, checkpointing
  // every `checkpoint_every` lines (0: after every call), then ends the
  // input and checkpoints.
  Status Feed(const std::vector<std::string>& lines, size_t per_call, size_t checkpoint_every) {
    std::vector<PipelineRecord> records;
    for (size_t i = 0; i < lines.size(); ++i) {
      records.push_back({lines[i], std::nullopt, SourcePosition{"file", 0, static_cast<int64_t>(i)}});
      const bool call = records.size() == per_call || i + 1 == lines.size();
      if (call) {
        EPI_RETURN_IF_ERROR(pipeline.OnMessages(records, 0));
        records.clear();
      }
      if (checkpoint_every == 0 ? call : i % checkpoint_every == checkpoint_every - 1) {
        EPI_RETURN_IF_ERROR(pipeline.Checkpoint());
      }
    }
    EPI_RETURN_IF_ERROR(pipeline.EndOfInput());
    return pipeline.Checkpoint();
  }
  MemKvStore store;
  LineSink alerts;
  LineSink dead;
  CityPipeline pipeline;
};

// A fresh directory under the temp dir holding `city` as city.jsonl.
class GeneratedCityDir {
 public:
  GeneratedCityDir(const std::string& stem, const CityConfig& city) {
    dir_ = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
    if (mkdtemp(dir_.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << dir_;
      return;
    }
    EXPECT_OK(GenerateCityToFiles(city, input(), ""));
  }
  ~GeneratedCityDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  GeneratedCityDir(const GeneratedCityDir&) = delete;
  GeneratedCityDir& operator=(const GeneratedCityDir&) = delete;

  const std::string& dir() const { return dir_; }
  std::string input() const { return dir_ + "/city.jsonl"; }

 private:
  std::string dir_;
};

}  // namespace epistream::testing
