#include "engine/file_sink.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace epistream {

Result<std::unique_ptr<FileLineSink>> FileLineSink::Open(const std::string& path,
                                                         const std::string& resume_position) {
  if (path == "-") {
    return std::unique_ptr<FileLineSink>(new FileLineSink(path, stdout, 0, false));
  }
  uint64_t keep = 0;
  const size_t nl = resume_position.rfind('\n');
  if (nl != std::string::npos && resume_position.substr(0, nl) == path) {
    keep = std::strtoull(resume_position.c_str() + nl + 1, nullptr, 10);
  }
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  FILE* f = std::fopen(path.c_str(), keep > 0 && exists ? "r+b" : "wb");
  if (f == nullptr) {
    return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  if (keep > 0) {
    if (::ftruncate(fileno(f), static_cast<off_t>(keep)) != 0 ||
        std::fseek(f, 0, SEEK_END) != 0) {
      const int err = errno;
      std::fclose(f);
      return Status::IoError("cannot truncate " + path + ": " + std::strerror(err));
    }
    keep = static_cast<uint64_t>(std::ftell(f));
  }
  auto sink = std::unique_ptr<FileLineSink>(new FileLineSink(path, f, keep, true));
  sink->flushed_bytes_ = keep;
  return sink;
}

FileLineSink::~FileLineSink() {
  if (owned_ && f_ != nullptr) std::fclose(f_);
}

Status FileLineSink::Write(std::string_view, std::string_view value) {
  if (std::fwrite(value.data(), 1, value.size(), f_) != value.size() || std::fputc('\n', f_) == EOF) {
    return Status::IoError("write to " + path_ + " failed: " + std::strerror(errno));
  }
  bytes_ += value.size() + 1;
  ++records_;
  return Status::Ok();
}

Status FileLineSink::Flush() {
  if (std::fflush(f_) != 0) {
    return Status::IoError("flush of " + path_ + " failed: " + std::strerror(errno));
  }
  flushed_bytes_ = bytes_;
  return Status::Ok();
}

std::string FileLineSink::Position() const {
  if (!owned_) return {};
  return path_ + "\n" + std::to_string(flushed_bytes_);
}

}  // namespace epistream
