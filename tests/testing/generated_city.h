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
#include "engine/record_sink.h"
#include "tests/testing/assert_ok.h"

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
