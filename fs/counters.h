// Counters: what rocksfs has done since mount, shown in /.rocksfs/stats.
//
// FUSE requests are counted by type in the adapter; bytes, commits and
// errors in the core. Benchmarks read them to count requests per operation.
//
// Thread-safety: relaxed atomics; a snapshot of them is not atomic as a whole.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace rocksfs::fs {

enum class Op : uint8_t {
  kLookup, kForget, kGetAttr, kSetAttr, kReadlink, kMknod, kMkdir, kUnlink, kRmdir,
  kSymlink, kRename, kLink, kOpen, kRead, kWrite, kStatFs, kRelease, kFsync, kSetXattr,
  kGetXattr, kListXattr, kRemoveXattr, kFlush, kOpenDir, kReadDir, kReadDirPlus,
  kReleaseDir, kFsyncDir, kAccess, kCreate, kCount
};

std::string_view OpName(Op op);

struct Counters {
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Op::kCount)> requests{};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> commits{0};   // values committed (Put of a file)
  std::atomic<uint64_t> batches{0};   // kv batches written
  std::atomic<uint64_t> errors{0};    // failed store calls

  void Count(Op op) { requests[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed); }
  // "name value" lines, requests first ("requests.lookup 12").
  std::string ToText() const;
};

}  // namespace rocksfs::fs
