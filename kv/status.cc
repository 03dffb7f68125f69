#include "kv/status.h"

namespace rocksfs::kv {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kConditionFailed: return "ConditionFailed";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotSupported: return "NotSupported";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kNoSpace: return "NoSpace";
    case Code::kBusy: return "Busy";
    case Code::kTimedOut: return "TimedOut";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kAborted: return "Aborted";
    case Code::kTooLarge: return "TooLarge";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace rocksfs::kv
