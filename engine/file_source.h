// FileLineSource: the lines of a JSON Lines file ("-" = stdin) with their
// 0-based line numbers as offsets, for `epistream run --input`.
//
// Threading: one reader thread.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace epistream {

class FileLineSource {
 public:
  static Result<std::unique_ptr<FileLineSource>> Open(const std::string& path);
  ~FileLineSource();

  // Reads the next line (without its newline). False at end of input; a read
  // error sets *status.
  bool Next(std::string_view* line, int64_t* offset, Status* status);

  const std::string& path() const { return path_; }

 private:
  FileLineSource(std::string path, FILE* f, bool owned) : path_(std::move(path)), f_(f), owned_(owned) {}
  std::string path_;
  FILE* f_;
  bool owned_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  int64_t next_offset_ = 0;
};

}  // namespace epistream
