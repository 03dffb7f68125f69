// Stored snapshots: named, durable, point-in-time copies of a database that
// survive restarts, shared by `rocksfs snapshot` and the mount's
// /.rocksfs/snapshots directory.
//
// Snapshot NAME of the database at DB is a RocksDB checkpoint (hard links to
// the immutable table files plus copies of the small metadata files) in the
// directory DB/.rocksfs/snapshots/NAME. RocksDB ignores subdirectories of
// its DB directory, so the snapshots live beside the data without being
// part of it; the snapshot directory is itself a complete database that can
// be opened read-only (OpenMode::kReadOnly with path = SnapshotPath(...)).
// Backups (kv/backup.h) do not include snapshots.
//
// Names: non-empty, at most 255 bytes, no '/' or NUL, not "." or "..", and
// not ending in ".tmp" (RocksDB builds a checkpoint in NAME.tmp first and
// clears that directory if it exists, so a snapshot named "x.tmp" could be
// destroyed by creating "x").
//
// Thread-safety: free functions, safe from any thread. Creating and deleting
// one name at once from two threads or processes is not coordinated here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

struct SnapshotInfo {
  std::string name;
  // When it was taken, ns since the epoch: the mtime of the checkpoint's
  // CURRENT file, written once at creation (the directory's own mtime
  // changes each time a read-only open of the snapshot rotates its LOG).
  int64_t created_ns = 0;
};

// kInvalidArgument with a message naming the rule broken, or ok.
[[nodiscard]] Status ValidateSnapshotName(std::string_view name);

// DB/.rocksfs/snapshots, and DB/.rocksfs/snapshots/NAME.
std::string SnapshotsDir(const std::string& db_path);
std::string SnapshotPath(const std::string& db_path, std::string_view name);

// Takes snapshot `name` of the whole store (all column families) as of now.
// A read-write store flushes its memtables first, so the snapshot opens
// without WAL replay. Errors: kInvalidArgument (bad name, or the name
// exists: "snapshot NAME already exists"), kIOError, kNoSpace.
[[nodiscard]] Status CreateSnapshot(Store* store, std::string_view name);

// The snapshots of the database at db_path, sorted by name (bytewise).
// Directories that are not complete checkpoints (no CURRENT file, e.g. one
// interrupted while being built) are left out. No snapshots directory: an
// empty list.
[[nodiscard]] Status ListSnapshots(const std::string& db_path, std::vector<SnapshotInfo>* snapshots);

// Removes snapshot `name` recursively. Errors: kInvalidArgument (bad name),
// kNotFound ("no snapshot named NAME"), kIOError.
[[nodiscard]] Status DeleteSnapshot(const std::string& db_path, std::string_view name);

}  // namespace rocksfs::kv
