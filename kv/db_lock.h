// Who else is using a database directory: a rocksfs mount of it, or any
// process holding RocksDB's LOCK file. For the rocksfs tool's one-line
// "is mounted at" messages, and for refusing to restore over a live DB.
//
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace rocksfs::kv {

// The absolute, symlink-free form of `path` (as mount.rocksfs records its
// DB in /proc/mounts); `path` made absolute when it does not exist.
std::string CanonicalPath(const std::string& path);

// The mountpoint of a `fuse.rocksfs` mount whose source is db_path ("" if
// there is none), searching `mounts_text` in /proc/mounts format (octal
// escapes such as \040 decoded). db_path should be canonical.
std::string FindRocksfsMountIn(std::string_view mounts_text, const std::string& db_path);
// The same, reading /proc/mounts.
std::string FindRocksfsMount(const std::string& db_path);

// True when another process holds a lock on db_path/LOCK (RocksDB's
// read-write instances do). False when there is no LOCK file, or when the
// lock is held by this process (fcntl locks are per process).
bool IsDatabaseLocked(const std::string& db_path);

}  // namespace rocksfs::kv
