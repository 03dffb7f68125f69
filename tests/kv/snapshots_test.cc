// Tests of stored snapshots (kv/snapshots.h) and backups (kv/backup.h).

#include "kv/snapshots.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kv/backup.h"
#include "kv/db_lock.h"
#include "tests/kv/admin_test_util.h"

namespace rocksfs::kv {
namespace {

using testing::AdminTempDir;
using testing::KeyValues;
using testing::OpenStore;
using testing::PutAll;
using testing::ScanAll;

TEST(Snapshots, NameRules) {
  for (const char* good : {"a", "nightly-2024-05-01", "with space", "x.tmpl", "..."}) {
    EXPECT_TRUE(ValidateSnapshotName(good).ok()) << good;
  }
  const std::string too_long(256, 'a');
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("a/b"),
        std::string("a\0b", 3), std::string("x.tmp"), too_long}) {
    Status s = ValidateSnapshotName(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateSnapshotName(std::string(255, 'a')).ok());
  EXPECT_EQ(SnapshotPath("/srv/db", "x"), "/srv/db/.rocksfs/snapshots/x");
}

TEST(Snapshots, CreateListReadDelete) {
  AdminTempDir dir;
  const std::string db = dir.Sub("db");
  auto store = OpenStore(db);
  ColumnFamily* other = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("other", true, &other).ok());
  PutAll(store.get(), {{"a", "1"}, {"b", "2"}});

  std::vector<SnapshotInfo> snapshots;
  ASSERT_TRUE(ListSnapshots(db, &snapshots).ok());
  EXPECT_TRUE(snapshots.empty());

  ASSERT_TRUE(CreateSnapshot(store.get(), "zeta").ok());
  PutAll(store.get(), {{"a", "changed"}, {"c", "3"}});
  ASSERT_TRUE(CreateSnapshot(store.get(), "alpha").ok());
  Status s = CreateSnapshot(store.get(), "zeta");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("already exists"), std::string::npos);
  EXPECT_EQ(CreateSnapshot(store.get(), "a/b").code(), Code::kInvalidArgument);

  ASSERT_TRUE(ListSnapshots(db, &snapshots).ok());
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[0].name, "alpha");
  EXPECT_EQ(snapshots[1].name, "zeta");
  const int64_t now_ns = static_cast<int64_t>(::time(nullptr)) * 1000000000;
  EXPECT_LE(std::abs(snapshots[1].created_ns - now_ns), int64_t{60} * 1000000000);

  // A snapshot is a database of its own, frozen at its creation, with every
  // column family; the live store goes on.
  {
    auto frozen = OpenStore(SnapshotPath(db, "zeta"), OpenMode::kReadOnly);
    EXPECT_EQ(ScanAll(frozen.get()), (KeyValues{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(frozen->ListColumnFamilies(), (std::vector<std::string>{"default", "other"}));
  }
  // Reading it does not change its creation time.
  std::vector<SnapshotInfo> again;
  ASSERT_TRUE(ListSnapshots(db, &again).ok());
  EXPECT_EQ(again[1].created_ns, snapshots[1].created_ns);

  EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"a", "changed"}, {"b", "2"}, {"c", "3"}}));
  // The snapshot directory inside the DB directory does not disturb RocksDB.
  store.reset();
  store = OpenStore(db);
  EXPECT_EQ(ScanAll(store.get()).size(), 3u);

  ASSERT_TRUE(DeleteSnapshot(db, "zeta").ok());
  EXPECT_TRUE(DeleteSnapshot(db, "zeta").IsNotFound());
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath(db, "zeta")));
  ASSERT_TRUE(ListSnapshots(db, &snapshots).ok());
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0].name, "alpha");
}

TEST(Snapshots, ListSkipsIncompleteCheckpoints) {
  AdminTempDir dir;
  const std::string db = dir.Sub("db");
  auto store = OpenStore(db);
  ASSERT_TRUE(CreateSnapshot(store.get(), "good").ok());
  std::filesystem::create_directories(SnapshotsDir(db) + "/half-built");
  std::filesystem::create_directories(SnapshotsDir(db) + "/x.tmp");
  std::vector<SnapshotInfo> snapshots;
  ASSERT_TRUE(ListSnapshots(db, &snapshots).ok());
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0].name, "good");
}

TEST(Backups, CreateRestoreCompare) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  ColumnFamily* meta = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("rocksfs.meta", true, &meta).ok());
  PutAll(store.get(), {{"a", "1"}, {"b", "2"}});
  BackupInfo first;
  ASSERT_TRUE(CreateBackup(store.get(), dir.Sub("backups"), &first).ok());
  EXPECT_EQ(first.id, 1u);
  EXPECT_GT(first.files, 0u);
  EXPECT_GT(first.size_bytes, 0u);
  PutAll(store.get(), {{"a", "changed"}, {"c", "3"}});
  BackupInfo second;
  ASSERT_TRUE(CreateBackup(store.get(), dir.Sub("backups"), &second).ok());
  EXPECT_EQ(second.id, 2u);

  std::vector<BackupInfo> backups;
  ASSERT_TRUE(ListBackups(dir.Sub("backups"), &backups).ok());
  ASSERT_EQ(backups.size(), 2u);
  EXPECT_EQ(backups[0].id, 1u);

  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("latest"), {}).ok());
  {
    auto restored = OpenStore(dir.Sub("latest"), OpenMode::kReadOnly);
    EXPECT_EQ(ScanAll(restored.get()), ScanAll(store.get()));
    EXPECT_EQ(restored->ListColumnFamilies(), store->ListColumnFamilies());
  }
  RestoreBackupOptions options;
  options.id = 1;
  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("first"), options).ok());
  {
    auto restored = OpenStore(dir.Sub("first"), OpenMode::kReadOnly);
    EXPECT_EQ(ScanAll(restored.get()), (KeyValues{{"a", "1"}, {"b", "2"}}));
  }
  options.id = 9;
  EXPECT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("nine"), options).IsNotFound());
  EXPECT_TRUE(ListBackups(dir.Sub("no-such-dir"), &backups).IsNotFound());
}

TEST(Backups, RestoreRefusesNonEmptyTargetWithoutForce) {
  AdminTempDir dir;
  {
    auto store = OpenStore(dir.Sub("db"));
    PutAll(store.get(), {{"from-backup", "1"}});
    BackupInfo info;
    ASSERT_TRUE(CreateBackup(store.get(), dir.Sub("backups"), &info).ok());
  }
  {
    auto other = OpenStore(dir.Sub("target"));
    PutAll(other.get(), {{"old", "x"}});
  }
  Status s = RestoreBackup(dir.Sub("backups"), dir.Sub("target"), {});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not empty"), std::string::npos);
  {
    auto untouched = OpenStore(dir.Sub("target"), OpenMode::kReadOnly);
    EXPECT_EQ(ScanAll(untouched.get()), (KeyValues{{"old", "x"}}));
  }
  RestoreBackupOptions force;
  force.force = true;
  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("target"), force).ok());
  auto restored = OpenStore(dir.Sub("target"), OpenMode::kReadOnly);
  EXPECT_EQ(ScanAll(restored.get()), (KeyValues{{"from-backup", "1"}}));
}

TEST(Backups, RestoreRefusesATargetInUse) {
  AdminTempDir dir;
  {
    auto store = OpenStore(dir.Sub("db"));
    BackupInfo info;
    ASSERT_TRUE(CreateBackup(store.get(), dir.Sub("backups"), &info).ok());
  }
  { auto target = OpenStore(dir.Sub("target")); }
  // A child process holds the target open (fcntl locks are per process).
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = OpenStore(dir.Sub("target"));
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_TRUE(IsDatabaseLocked(dir.Sub("target")));
  RestoreBackupOptions force;
  force.force = true;
  Status s = RestoreBackup(dir.Sub("backups"), dir.Sub("target"), force);
  EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(IsDatabaseLocked(dir.Sub("target")));
}

TEST(Backups, PurgeKeepsTheNewest) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  for (int i = 0; i < 4; ++i) {
    PutAll(store.get(), {{"k", std::to_string(i)}});
    BackupInfo info;
    ASSERT_TRUE(CreateBackup(store.get(), dir.Sub("backups"), &info).ok());
  }
  uint32_t removed = 0;
  ASSERT_TRUE(PurgeBackups(dir.Sub("backups"), 2, &removed).ok());
  EXPECT_EQ(removed, 2u);
  std::vector<BackupInfo> backups;
  ASSERT_TRUE(ListBackups(dir.Sub("backups"), &backups).ok());
  ASSERT_EQ(backups.size(), 2u);
  EXPECT_EQ(backups[0].id, 3u);
  EXPECT_EQ(backups[1].id, 4u);
  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("r"), {}).ok());
  auto restored = OpenStore(dir.Sub("r"), OpenMode::kReadOnly);
  EXPECT_EQ(ScanAll(restored.get()), (KeyValues{{"k", "3"}}));
}

TEST(Backups, ReadOnlyStoreBacksUpItsWal) {
  AdminTempDir dir;
  {
    auto store = OpenStore(dir.Sub("db"));
    PutAll(store.get(), {{"in-wal", "1"}});  // never flushed
  }
  auto read_only = OpenStore(dir.Sub("db"), OpenMode::kReadOnly);
  BackupInfo info;
  ASSERT_TRUE(CreateBackup(read_only.get(), dir.Sub("backups"), &info).ok());
  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), dir.Sub("r"), {}).ok());
  auto restored = OpenStore(dir.Sub("r"), OpenMode::kReadOnly);
  EXPECT_EQ(ScanAll(restored.get()), (KeyValues{{"in-wal", "1"}}));
}

TEST(DbLock, FindsRocksfsMountsInProcMounts) {
  const std::string mounts =
      "proc /proc proc rw 0 0\n"
      "/srv/db /mnt/other fuse.sshfs rw 0 0\n"
      "/srv/db /mnt/kv fuse.rocksfs rw,nosuid 0 0\n"
      "/srv/my\\040db /mnt/with\\040space fuse.rocksfs rw 0 0\n";
  EXPECT_EQ(FindRocksfsMountIn(mounts, "/srv/db"), "/mnt/kv");
  EXPECT_EQ(FindRocksfsMountIn(mounts, "/srv/my db"), "/mnt/with space");
  EXPECT_EQ(FindRocksfsMountIn(mounts, "/srv/none"), "");
  EXPECT_FALSE(IsDatabaseLocked("/nonexistent"));
}

}  // namespace
}  // namespace rocksfs::kv
