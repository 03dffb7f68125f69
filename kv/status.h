// kv::Status: the result of every kv operation.
//
// A Status is either ok or carries a Code and a human-readable message. It is
// engine-neutral: RocksDB statuses are translated into it inside kv/, and fs/
// turns it into an errno in exactly one place (fs/errno_map.h).
//
// Thread-safety: a Status is a value type; distinct objects may be used from
// distinct threads without synchronisation.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace rocksfs::kv {

enum class Code {
  kOk,
  kNotFound,         // the key, column family or snapshot does not exist
  kConditionFailed,  // a Batch precondition did not hold; nothing was written
  kInvalidArgument,  // bad options, bad names, value too large
  kNotSupported,     // the engine or the open mode cannot do this
  kReadOnly,         // write on a read-only or secondary store
  kNoSpace,          // the disk under the store is full
  kBusy,             // the store is locked by another process
  kTimedOut,
  kCorruption,       // checksums or invariants failed: data is damaged
  kIOError,          // any other I/O failure
  kAborted,
  kTooLarge,         // a value or batch over the engine's size limits; nothing written
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg = {}) { return {Code::kNotFound, std::move(msg)}; }
  static Status ConditionFailed(std::string msg = {}) {
    return {Code::kConditionFailed, std::move(msg)};
  }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {Code::kNotSupported, std::move(msg)}; }
  static Status ReadOnly(std::string msg = "read-only store") { return {Code::kReadOnly, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {Code::kNoSpace, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status TooLarge(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConditionFailed() const { return code_ == Code::kConditionFailed; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<code name>: <message>", for logs and error lines.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// The name of a code, e.g. "NoSpace".
std::string_view CodeName(Code code);

}  // namespace rocksfs::kv
