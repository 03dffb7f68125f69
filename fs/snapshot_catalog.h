// The stored snapshots of a RocksDB database, as fs::SnapshotCatalog sees
// them: RocksDB checkpoints under DB/.rocksfs/snapshots/NAME
// (kv/snapshots.h), each opened read-only on first use.
//
// Thread-safety: safe from any thread (no state but the paths).
#pragma once

#include <string>

#include "fs/filesystem.h"

namespace rocksfs::fs {

class StoredSnapshots : public SnapshotCatalog {
 public:
  // `store` is the mounted (read-write) store; nullptr on a read-only
  // mount, where Create and Delete fail with kReadOnly.
  StoredSnapshots(kv::Store* store, std::string db_path)
      : store_(store), db_path_(std::move(db_path)) {}

  kv::Status List(std::vector<Info>* out) override;
  kv::Status Create(const std::string& name) override;
  kv::Status Delete(const std::string& name) override;
  // A read-only store with a small block cache (64 MiB): snapshots are
  // browsed, not served hot.
  kv::Status Open(const std::string& name, std::unique_ptr<kv::Store>* out) override;

 private:
  kv::Store* store_;
  std::string db_path_;
};

// The stored snapshots that the store keeps itself, by name
// (kv::Store::SaveSnapshot and the calls after it; the etcd store records a
// revision). Names are checked here as for RocksDB's checkpoints.
//
// Thread-safety: as the store's.
class EngineSnapshots : public SnapshotCatalog {
 public:
  explicit EngineSnapshots(kv::Store* store) : store_(store) {}

  kv::Status List(std::vector<Info>* out) override;
  kv::Status Create(const std::string& name) override;
  kv::Status Delete(const std::string& name) override;
  kv::Status Open(const std::string& name, std::unique_ptr<kv::Store>* out) override;

 private:
  kv::Store* store_;
};

}  // namespace rocksfs::fs
