#include "kv/backup.h"

#include <filesystem>
#include <memory>

#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include "kv/db_lock.h"
#include "kv/rocks_status.h"

namespace rocksfs::kv {

namespace {

namespace stdfs = std::filesystem;

BackupInfo FromRocksInfo(const rocksdb::BackupInfo& rocks) {
  BackupInfo info;
  info.id = rocks.backup_id;
  info.timestamp = rocks.timestamp;
  info.size_bytes = rocks.size;
  info.files = rocks.number_files;
  return info;
}

Status RequireBackupDir(const std::string& backup_dir) {
  std::error_code ec;
  // BackupEngine keeps its index in meta/; without it this is no backup dir.
  if (!stdfs::is_directory(stdfs::path(backup_dir) / "meta", ec)) {
    return Status::NotFound("no backups at " + backup_dir);
  }
  return Status::Ok();
}

Status OpenReadOnlyEngine(const std::string& backup_dir,
                          std::unique_ptr<rocksdb::BackupEngineReadOnly>* engine) {
  Status s = RequireBackupDir(backup_dir);
  if (!s.ok()) return s;
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  s = FromRocks(rocksdb::BackupEngineReadOnly::Open(
      rocksdb::Env::Default(), rocksdb::BackupEngineOptions(backup_dir), &raw));
  engine->reset(raw);
  return s;
}

}  // namespace

Status CreateBackup(Store* store, const std::string& backup_dir, BackupInfo* info) {
  *info = BackupInfo();
  uint32_t id = 0;
  Status s = store->CreateBackup(backup_dir, &id);
  if (!s.ok()) return s;
  std::vector<BackupInfo> backups;
  s = ListBackups(backup_dir, &backups);
  if (!s.ok()) return s;
  for (const BackupInfo& backup : backups) {
    if (backup.id == id) *info = backup;
  }
  info->id = id;
  return Status::Ok();
}

Status ListBackups(const std::string& backup_dir, std::vector<BackupInfo>* backups,
                   std::vector<uint32_t>* corrupt) {
  backups->clear();
  if (corrupt != nullptr) corrupt->clear();
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  Status s = OpenReadOnlyEngine(backup_dir, &engine);
  if (!s.ok()) return s;
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  for (const rocksdb::BackupInfo& rocks : infos) backups->push_back(FromRocksInfo(rocks));
  if (corrupt != nullptr) {
    std::vector<rocksdb::BackupID> ids;
    engine->GetCorruptedBackups(&ids);
    corrupt->assign(ids.begin(), ids.end());
  }
  return Status::Ok();
}

Status RestoreBackup(const std::string& backup_dir, const std::string& target,
                     const RestoreBackupOptions& options) {
  std::error_code ec;
  if (stdfs::exists(target, ec)) {
    if (!stdfs::is_directory(target, ec)) {
      return Status::InvalidArgument(target + " is not a directory");
    }
    if (IsDatabaseLocked(target)) {
      return Status::Busy(target + " holds a database that a running process has open");
    }
    if (!options.force && !stdfs::is_empty(target, ec)) {
      return Status::InvalidArgument(target + " is not empty (restore into it anyway with --force)");
    }
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  Status s = OpenReadOnlyEngine(backup_dir, &engine);
  if (!s.ok()) return s;
  if (options.id != 0) {
    rocksdb::BackupInfo info;
    if (!engine->GetBackupInfo(options.id, &info).ok()) {
      return Status::NotFound("no intact backup with id " + std::to_string(options.id) + " in " +
                              backup_dir);
    }
  }
  stdfs::create_directories(target, ec);
  if (ec) return Status::IOError("cannot create " + target + ": " + ec.message());
  // RocksDB deletes the target's own DB files (table files, WALs, MANIFEST)
  // before copying the backup's in; files it does not know stay.
  rocksdb::RestoreOptions restore;
  s = options.id == 0 ? FromRocks(engine->RestoreDBFromLatestBackup(restore, target, target))
                      : FromRocks(engine->RestoreDBFromBackup(restore, options.id, target, target));
  return s;
}

Status PurgeBackups(const std::string& backup_dir, uint32_t keep, uint32_t* removed) {
  *removed = 0;
  std::vector<BackupInfo> before;
  Status s = ListBackups(backup_dir, &before);
  if (!s.ok()) return s;
  rocksdb::BackupEngine* raw = nullptr;
  s = FromRocks(rocksdb::BackupEngine::Open(rocksdb::Env::Default(),
                                            rocksdb::BackupEngineOptions(backup_dir), &raw));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  if (!s.ok()) return s;
  s = FromRocks(engine->PurgeOldBackups(keep));
  if (!s.ok()) return s;
  std::vector<rocksdb::BackupInfo> after;
  engine->GetBackupInfo(&after);
  *removed = before.size() > after.size() ? static_cast<uint32_t>(before.size() - after.size()) : 0;
  return Status::Ok();
}

}  // namespace rocksfs::kv
