#include "fs/snapshot_catalog.h"

#include <sys/stat.h>

#include "kv/rocks_store.h"
#include "kv/snapshots.h"

namespace rocksfs::fs {

kv::Status StoredSnapshots::List(std::vector<Info>* out) {
  std::vector<kv::SnapshotInfo> snapshots;
  kv::Status s = kv::ListSnapshots(db_path_, &snapshots);
  if (!s.ok()) return s;
  out->clear();
  for (auto& snapshot : snapshots) out->push_back({std::move(snapshot.name), snapshot.created_ns});
  return s;
}

kv::Status StoredSnapshots::Create(const std::string& name) {
  if (!store_ || store_->read_only()) return kv::Status::ReadOnly();
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  struct stat st;
  if (::stat(kv::SnapshotPath(db_path_, name).c_str(), &st) == 0) {
    return kv::Status::ConditionFailed("snapshot " + name + " exists");
  }
  return kv::CreateSnapshot(store_, name);
}

kv::Status StoredSnapshots::Delete(const std::string& name) {
  if (!store_ || store_->read_only()) return kv::Status::ReadOnly();
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  return kv::DeleteSnapshot(db_path_, name);
}

kv::Status StoredSnapshots::Open(const std::string& name, std::unique_ptr<kv::Store>* out) {
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  kv::RocksOpenOptions options;
  options.path = kv::SnapshotPath(db_path_, name);
  options.mode = kv::OpenMode::kReadOnly;
  options.block_cache_bytes = 64ull << 20;
  options.statistics = false;
  return kv::OpenRocksStore(options, out);
}

kv::Status EngineSnapshots::List(std::vector<Info>* out) {
  std::vector<kv::Store::SavedSnapshot> saved;
  kv::Status s = store_->ListSavedSnapshots(&saved);
  if (!s.ok()) return s;
  out->clear();
  for (auto& snapshot : saved) out->push_back({std::move(snapshot.name), snapshot.created_ns});
  return s;
}

kv::Status EngineSnapshots::Create(const std::string& name) {
  if (store_->read_only()) return kv::Status::ReadOnly();
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  return store_->SaveSnapshot(name);
}

kv::Status EngineSnapshots::Delete(const std::string& name) {
  if (store_->read_only()) return kv::Status::ReadOnly();
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  return store_->DeleteSavedSnapshot(name);
}

kv::Status EngineSnapshots::Open(const std::string& name, std::unique_ptr<kv::Store>* out) {
  if (kv::Status s = kv::ValidateSnapshotName(name); !s.ok()) return s;
  return store_->OpenSavedSnapshot(name, out);
}

}  // namespace rocksfs::fs
