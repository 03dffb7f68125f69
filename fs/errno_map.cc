#include "fs/errno_map.h"

#include <cerrno>

namespace rocksfs::fs {

int ErrnoFromStatus(const kv::Status& status) {
  switch (status.code()) {
    case kv::Code::kOk:
      return 0;
    case kv::Code::kNotFound:
      // A key, column family or snapshot that is not there.
      return ENOENT;
    case kv::Code::kConditionFailed:
      // A precondition of an atomic batch: another writer got there first.
      return EEXIST;
    case kv::Code::kInvalidArgument:
      return EINVAL;
    case kv::Code::kNotSupported:
      return ENOTSUP;
    case kv::Code::kReadOnly:
      // Read-only, secondary and snapshot opens.
      return EROFS;
    case kv::Code::kNoSpace:
      // The disk under the DB is full; freeing space makes writes work again.
      return ENOSPC;
    case kv::Code::kBusy:
      return EBUSY;
    case kv::Code::kTimedOut:
      return ETIMEDOUT;
    case kv::Code::kCorruption:
      // Damaged data: never pretend the read worked.
      return EIO;
    case kv::Code::kIOError:
      return EIO;
    case kv::Code::kAborted:
      return EIO;
    case kv::Code::kTooLarge:
      // A value over the engine's request size (etcd --max-request-bytes).
      // A directory rename over its txn size is turned into EXDEV by the
      // rename itself, so that mv copies.
      return EFBIG;
  }
  return EIO;
}

}  // namespace rocksfs::fs
