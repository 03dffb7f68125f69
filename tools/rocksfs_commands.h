// The subcommands of the `rocksfs` admin tool, one function each, called by
// tools/rocksfs.cc once CLI11 has filled the options. Each returns the exit
// status and prints its errors as one line "rocksfs: ..." on stderr. The work
// itself is in kv/ (bulk_load, dump, snapshots, backup) and fs/tree_io.
#pragma once

#include <cstdint>
#include <string>

namespace rocksfs::tools {

struct LoadCommand {
  std::string db;
  std::string source;
  std::string column_family = "default";
  std::string format;  // empty: from SOURCE (a directory: tree; .tsv, .ndjson, .sst)
  unsigned jobs = 0;
  bool compact = false;
  bool create = false;
  std::string delimiter = "/";
  int32_t ttl_seconds = 0;
  uint64_t run_mib = 64;
};

struct DumpCommand {
  std::string db;
  std::string dest;
  std::string prefix;
  std::string column_family = "default";
  std::string snapshot;
  std::string format;  // empty: from DEST (.tsv, .ndjson, .sst; otherwise tree)
  std::string delimiter = "/";
  int32_t ttl_seconds = 0;
  std::string etcd_prefix;  // DB is etcd://...: the mount's key prefix
};

struct SnapshotCommand {
  std::string db;
  std::string name;
  bool json = false;  // list
};

struct BackupCommand {
  std::string db;
  std::string backup_dir;
  std::string target;
  uint32_t id = 0;
  bool force = false;
  uint32_t keep = 0;
};

struct StatCommand {
  std::string db;
  bool json = false;
  std::string etcd_prefix;  // DB is etcd://...: the mount's key prefix
};

int RunLoad(const LoadCommand& command);
int RunDump(const DumpCommand& command);
int RunSnapshotCreate(const SnapshotCommand& command);
int RunSnapshotList(const SnapshotCommand& command);
int RunSnapshotDelete(const SnapshotCommand& command);
int RunBackupCreate(const BackupCommand& command);
int RunBackupList(const BackupCommand& command);
int RunBackupRestore(const BackupCommand& command);
int RunBackupPurge(const BackupCommand& command);
int RunStat(const StatCommand& command);

}  // namespace rocksfs::tools
