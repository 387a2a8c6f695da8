// Status and Result<T>: how every fallible tte API reports errors (no exceptions in library code).
//
// A Status carries a code and a message that names the file and the field at fault, e.g.
//   "model.pkl: blocks[3].depthwise.params.weight: shape [16,1,3] is not 4-D".
// Use the TTE_RETURN_IF_ERROR / TTE_ASSIGN_OR_RETURN macros to propagate.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tte {

enum class StatusCode { kOk, kInvalidArgument, kUnsupported, kNotFound, kOutOfMemory, kDataLoss, kInternal };

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>"
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context + ": "`.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
inline Status Unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
inline Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
inline Status OutOfMemory(std::string msg) { return {StatusCode::kOutOfMemory, std::move(msg)}; }
inline Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
inline Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace tte

#define TTE_CONCAT_INNER(a, b) a##b
#define TTE_CONCAT(a, b) TTE_CONCAT_INNER(a, b)

#define TTE_RETURN_IF_ERROR(expr)               \
  do {                                          \
    ::tte::Status tte_status_ = (expr);         \
    if (!tte_status_.ok()) return tte_status_;  \
  } while (0)

#define TTE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define TTE_ASSIGN_OR_RETURN(lhs, expr) \
  TTE_ASSIGN_OR_RETURN_IMPL(TTE_CONCAT(tte_result_, __LINE__), lhs, expr)

// Validation helper for import/compile/plan phases: returns InvalidArgument(msg) when cond is false.
#define TTE_ENSURE(cond, msg)                                  \
  do {                                                         \
    if (!(cond)) return ::tte::InvalidArgument(msg);           \
  } while (0)
