// Backups: RocksDB's BackupEngine behind engine-neutral functions, for
// `rocksfs backup`.
//
// A backup directory holds any number of incremental backups of one
// database: table files shared between backups are stored once. A backup
// covers every column family (data and rocksfs metadata), but not the
// stored snapshots under DB/.rocksfs (kv/snapshots.h).
//
// Thread-safety: free functions. Two processes must not write to one backup
// directory at once (create and purge take no lock).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

struct BackupInfo {
  uint32_t id = 0;
  int64_t timestamp = 0;    // creation time, seconds since the epoch
  uint64_t size_bytes = 0;  // sum of its files (shared ones counted in full)
  uint32_t files = 0;
};

// Adds a backup of `store` (read-write: flushed first; read-only, e.g. of a
// mounted DB: as of its open, WAL included) to backup_dir, created when
// missing, and fills *info.
[[nodiscard]] Status CreateBackup(Store* store, const std::string& backup_dir, BackupInfo* info);

// The intact backups in backup_dir, by id; *corrupt (if not null) gets the
// ids of damaged ones. Errors: kNotFound when backup_dir does not exist.
[[nodiscard]] Status ListBackups(const std::string& backup_dir, std::vector<BackupInfo>* backups,
                                 std::vector<uint32_t>* corrupt = nullptr);

struct RestoreBackupOptions {
  uint32_t id = 0;     // 0: the latest intact backup
  bool force = false;  // restore into a non-empty target, replacing its DB
};

// Restores a backup into the directory `target` (created when missing).
// Errors: kInvalidArgument when target is not empty and !force ("TARGET is
// not empty"), kBusy when a process holds target's DB lock (never overridden
// by force), kNotFound for a missing backup directory or id.
[[nodiscard]] Status RestoreBackup(const std::string& backup_dir, const std::string& target,
                                   const RestoreBackupOptions& options);

// Deletes all but the newest `keep` backups and the files only they used;
// sets *removed to how many were deleted.
[[nodiscard]] Status PurgeBackups(const std::string& backup_dir, uint32_t keep, uint32_t* removed);

}  // namespace rocksfs::kv
