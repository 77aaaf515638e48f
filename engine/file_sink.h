// FileLineSink: records as JSON Lines in a file ("-" = stdout).
//
// Exactly-once across restarts: Position() is "<path>\n<bytes>" after each
// Flush; Open(path, resume_position) truncates the file back to the position
// stored by the last checkpoint, so lines written after it (by a run that then
// crashed) are not duplicated when the run replays from that checkpoint.
//
// Threading: stage thread only.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "engine/record_sink.h"
#include "engine/status.h"

namespace epistream {

class FileLineSink : public RecordSink {
 public:
  // A fresh file unless resume_position names the same path, in which case
  // the file is kept up to the stored length and appended to.
  static Result<std::unique_ptr<FileLineSink>> Open(const std::string& path,
                                                    const std::string& resume_position);
  ~FileLineSink() override;

  Status Write(std::string_view key, std::string_view value) override;
  Status Flush() override;
  std::string Position() const override;
  uint64_t records() const { return records_; }

 private:
  FileLineSink(std::string path, FILE* f, uint64_t bytes, bool owned)
      : path_(std::move(path)), f_(f), bytes_(bytes), owned_(owned) {}
  std::string path_;
  FILE* f_;
  uint64_t bytes_;  // bytes written (flushed or buffered)
  uint64_t flushed_bytes_ = 0;
  bool owned_;
  uint64_t records_ = 0;
};

}  // namespace epistream
