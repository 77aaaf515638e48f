// Status and Result<T>: the error currency of epistream.
//
// No exception crosses a thread or the event loop: every fallible call returns
// a [[nodiscard]] Status or Result<T>, so an ignored error is a compiler
// warning (an error in CI). Library errors are converted at one boundary file
// per library (rocksdb_status.h, kafka_status.h).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace epistream {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input or config
  kNotFound,
  kIoError,          // disk, network
  kCorruption,       // undecodable state
  kUnavailable,      // broker down, retry later
  kOutOfRange,       // stored offset no longer on the broker
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Marks a status as deliberately ignored (rare; say why at the call site).
  void IgnoreError() const {}

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains its absence.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: must not be ok()
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace epistream

// Propagates a non-ok Status to the caller.
#define EPI_RETURN_IF_ERROR(expr)                       \
  do {                                                  \
    ::epistream::Status _epi_st = (expr);               \
    if (!_epi_st.ok()) return _epi_st;                  \
  } while (0)
