#include "engine/status.h"

namespace epistream {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: name = "InvalidArgument"; break;
    case StatusCode::kNotFound: name = "NotFound"; break;
    case StatusCode::kIoError: name = "IoError"; break;
    case StatusCode::kCorruption: name = "Corruption"; break;
    case StatusCode::kUnavailable: name = "Unavailable"; break;
    case StatusCode::kOutOfRange: name = "OutOfRange"; break;
    case StatusCode::kInternal: name = "Internal"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace epistream
