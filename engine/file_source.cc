#include "engine/file_source.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace epistream {

Result<std::unique_ptr<FileLineSource>> FileLineSource::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<FileLineSource>(new FileLineSource(path, stdin, false));
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  // Large stdio buffer: input is read sequentially at GB/s rates.
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return std::unique_ptr<FileLineSource>(new FileLineSource(path, f, true));
}

FileLineSource::~FileLineSource() {
  std::free(buf_);
  if (owned_ && f_ != nullptr) std::fclose(f_);
}

bool FileLineSource::Next(std::string_view* line, int64_t* offset, Status* status) {
  errno = 0;
  const ssize_t n = ::getline(&buf_, &cap_, f_);
  if (n < 0) {
    if (std::ferror(f_)) *status = Status::IoError("read of " + path_ + " failed: " + std::strerror(errno));
    return false;
  }
  size_t len = static_cast<size_t>(n);
  if (len > 0 && buf_[len - 1] == '\n') --len;
  if (len > 0 && buf_[len - 1] == '\r') --len;
  *line = std::string_view(buf_, len);
  *offset = next_offset_++;
  return true;
}

}  // namespace epistream
