// The one place that turns a kv::Status into an errno.
#pragma once

#include "kv/status.h"

namespace rocksfs::fs {

// The errno for a failed kv call (0 for ok). kConditionFailed has no
// universal meaning; callers that use conditions map it themselves first.
// Thread-safety: pure function.
[[nodiscard]] int ErrnoFromStatus(const kv::Status& status);

}  // namespace rocksfs::fs
