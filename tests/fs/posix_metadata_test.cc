// POSIX metadata in the fs core, without a kernel: times (what changes mtime
// and ctime, explicit times that outlive a pending commit), files unlinked
// while open, setuid clearing, access(2), fsync of directories, xattr limits
// and RENAME_EXCHANGE with directories. Each test is the regression test of
// a difference scripts/posix_parity.py found against ext4.

#include <fcntl.h>
#include <linux/fs.h>  // RENAME_EXCHANGE
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "fs/filesystem.h"
#include "fs/metadata.h"
#include "kv/rocks_store.h"
#include "kv/store.h"

namespace rocksfs::fs {
namespace {

namespace stdfs = std::filesystem;

TimeNs MtimeOf(const struct stat& st) {
  return static_cast<TimeNs>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}
TimeNs CtimeOf(const struct stat& st) {
  return static_cast<TimeNs>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }

class PosixMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (stdfs::temp_directory_path() / "posix_metadata_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Open(kv::OpenMode::kReadWrite);
  }
  void TearDown() override {
    fs_.reset();
    store_.reset();
    std::error_code ec;
    stdfs::remove_all(dir_, ec);
  }
  void Open(kv::OpenMode mode) {
    fs_.reset();
    store_.reset();
    kv::RocksOpenOptions open;
    open.path = dir_ + "/db";
    open.mode = mode;
    open.create_if_missing = mode == kv::OpenMode::kReadWrite;
    open.statistics = false;
    kv::Status s = kv::OpenRocksStore(open, &store_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::string error;
    ASSERT_EQ(Filesystem::Create(store_.get(), FilesystemOptions{}, &fs_, &error), 0) << error;
  }
  void Seed(std::string_view key, std::string_view value) {
    kv::Batch batch;
    batch.Put(store_->DefaultColumnFamily(), std::string(key), std::string(value));
    ASSERT_TRUE(store_->Write({}, batch).ok());
  }
  NodeId Lookup(NodeId parent, std::string_view name) {
    Entry entry;
    EXPECT_EQ(fs_->Lookup(parent, name, &entry), 0) << name;
    return entry.node;
  }
  struct stat Stat(NodeId node) {
    struct stat st {};
    EXPECT_EQ(fs_->GetAttr(node, &st), 0);
    return st;
  }
  // Creates `name` in the root with `mode` and `bytes`; returns its node.
  NodeId MakeFile(std::string_view name, std::string_view bytes, mode_t mode = 0644,
                  const Caller& caller = {}) {
    Entry entry;
    OpenResult opened;
    EXPECT_EQ(fs_->Create(kRootNode, name, mode, O_WRONLY | O_CREAT | O_TRUNC, caller, &entry,
                          &opened),
              0);
    size_t written = 0;
    EXPECT_EQ(fs_->Write(opened.fh, 0, bytes, &written), 0);
    EXPECT_EQ(fs_->Flush(opened.fh), 0);
    fs_->Release(opened.fh);
    return entry.node;
  }
  uint64_t OpenFile(NodeId node, int flags) {
    OpenResult opened;
    EXPECT_EQ(fs_->Open(node, flags, &opened), 0);
    return opened.fh;
  }
  int Chmod(NodeId node, mode_t mode, uint64_t fh = 0) {
    SetAttrRequest request;
    request.mode = mode;
    struct stat st;
    return fs_->SetAttr(node, fh, request, &st);
  }

  std::string dir_;
  std::unique_ptr<kv::Store> store_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(PosixMetadataTest, FsyncOfADirectorySucceeds) {
  EXPECT_EQ(fs_->FsyncDir(kRootNode, false), 0);
  EXPECT_EQ(fs_->FsyncDir(kRootNode, true), 0);
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "d", 0755, {}, &dir), 0);
  EXPECT_EQ(fs_->FsyncDir(dir.node, false), 0);
}

TEST_F(PosixMetadataTest, TruncateSetsTimesEvenToTheSameSize) {
  NodeId f = MakeFile("f", "0123456789");
  struct stat before = Stat(f);
  Pause();
  SetAttrRequest truncate;
  truncate.size = 10;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(f, 0, truncate, &st), 0);
  EXPECT_GT(MtimeOf(st), MtimeOf(before));
  EXPECT_GT(CtimeOf(st), CtimeOf(before));
  EXPECT_EQ(st.st_size, 10);
}

TEST_F(PosixMetadataTest, TruncateOfAKeyWithoutMetadataSetsItsTimes) {
  Seed("plain", "written by another program");
  NodeId f = Lookup(kRootNode, "plain");
  struct stat before = Stat(f);
  SetAttrRequest truncate;
  truncate.size = 5;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(f, 0, truncate, &st), 0);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_GT(MtimeOf(st), MtimeOf(before));
  EXPECT_EQ(st.st_mode, before.st_mode);  // the defaults it showed
  EXPECT_EQ(st.st_uid, before.st_uid);
}

TEST_F(PosixMetadataTest, ExplicitMtimeBeforeCloseOutlivesTheCommit) {
  // tar -x and cp -a: write, futimens, close.
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "f", 0644, O_WRONLY | O_CREAT, {}, &entry, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "data", &written), 0);
  SetAttrRequest times;
  times.atime = TimeNs{1000000000'000000001};
  times.mtime = TimeNs{1200000000'123456789};
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(entry.node, opened.fh, times, &st), 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  st = Stat(entry.node);
  EXPECT_EQ(MtimeOf(st), 1200000000'123456789);
  EXPECT_EQ(st.st_size, 4);
  // A write after the explicit time moves mtime again.
  uint64_t fh = OpenFile(entry.node, O_WRONLY);
  ASSERT_EQ(fs_->Write(fh, 4, "more", &written), 0);
  ASSERT_EQ(fs_->Flush(fh), 0);
  fs_->Release(fh);
  EXPECT_GT(MtimeOf(Stat(entry.node)), 1200000000'123456789);
}

TEST_F(PosixMetadataTest, CommitRecordsTheLastWritesTime) {
  NodeId f = MakeFile("f", "v1");
  uint64_t fh = OpenFile(f, O_WRONLY);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(fh, 0, "v2", &written), 0);
  TimeNs after_write = NowNs();
  Pause();
  ASSERT_EQ(fs_->Flush(fh), 0);
  fs_->Release(fh);
  // Both times are the write's, as on a local filesystem, not the commit's.
  struct stat st = Stat(f);
  EXPECT_LE(MtimeOf(st), after_write);
  EXPECT_EQ(CtimeOf(st), MtimeOf(st));
}

TEST_F(PosixMetadataTest, UnlinkedOpenFileKeepsItsAttributesAndXattrs) {
  NodeId f = MakeFile("f", "x", 0640, Caller{7, 8});
  ASSERT_EQ(fs_->SetXattr(f, "user.k", "v", 0), 0);
  uint64_t fh = OpenFile(f, O_RDWR);
  struct stat before = Stat(f);
  Pause();
  ASSERT_EQ(fs_->Unlink(kRootNode, "f"), 0);
  struct stat st = Stat(f);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_mode, S_IFREG | 0640u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  EXPECT_EQ(MtimeOf(st), MtimeOf(before));
  EXPECT_GT(CtimeOf(st), CtimeOf(before));  // its link count changed
  std::string value;
  ASSERT_EQ(fs_->GetXattr(f, "user.k", &value), 0);
  EXPECT_EQ(value, "v");
  // fchmod and fsetxattr work on it; a new file under the name is unaffected.
  ASSERT_EQ(Chmod(f, 0600, fh), 0);
  ASSERT_EQ(fs_->SetXattr(f, "user.k2", "v2", 0), 0);
  NodeId g = MakeFile("f", "new");
  EXPECT_EQ(Stat(f).st_mode, S_IFREG | 0600u);
  EXPECT_EQ(Stat(g).st_mode, S_IFREG | 0644u);
  std::string names;
  ASSERT_EQ(fs_->ListXattr(f, &names), 0);
  EXPECT_EQ(names, std::string("user.k\0user.k2\0", 15));
  ASSERT_EQ(fs_->ListXattr(g, &names), 0);
  EXPECT_EQ(names, "");
  ASSERT_EQ(fs_->RemoveXattr(f, "user.k"), 0);
  EXPECT_EQ(fs_->GetXattr(f, "user.k", &value), ENODATA);
  fs_->Release(fh);
  fs_->Forget(f, 1);
}

TEST_F(PosixMetadataTest, FileReplacedByARenameKeepsItsAttributesWhileOpen) {
  NodeId old = MakeFile("old", "o", 0600);
  MakeFile("new", "n", 0644);
  uint64_t fh = OpenFile(old, O_RDONLY);
  ASSERT_EQ(fs_->Rename(kRootNode, "new", kRootNode, "old", 0), 0);
  EXPECT_EQ(Stat(old).st_mode, S_IFREG | 0600u);
  EXPECT_EQ(Stat(old).st_nlink, 0u);
  EXPECT_EQ(Stat(Lookup(kRootNode, "old")).st_mode, S_IFREG | 0644u);
  fs_->Release(fh);
}

TEST_F(PosixMetadataTest, AccessRefusesExecWithoutAnExecuteBit) {
  NodeId data = MakeFile("data", "x", 0644);
  NodeId script = MakeFile("script", "x", 0700);
  EXPECT_EQ(fs_->Access(data, X_OK), EACCES);
  EXPECT_EQ(fs_->Access(data, R_OK | W_OK), 0);
  EXPECT_EQ(fs_->Access(data, F_OK), 0);
  EXPECT_EQ(fs_->Access(script, X_OK), 0);
  ASSERT_EQ(Chmod(data, 0601), 0);
  EXPECT_EQ(fs_->Access(data, X_OK), 0);
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "d", 0600, {}, &dir), 0);
  EXPECT_EQ(fs_->Access(dir.node, X_OK | W_OK), 0);  // no permission checks
  Entry link;
  ASSERT_EQ(fs_->Symlink("data", kRootNode, "l", {}, &link), 0);
  EXPECT_EQ(fs_->Access(link.node, X_OK), 0);
}

TEST_F(PosixMetadataTest, AccessForWritingInAReadOnlyStoreIsErofs) {
  MakeFile("f", "x");
  Open(kv::OpenMode::kReadOnly);
  NodeId f = Lookup(kRootNode, "f");
  EXPECT_EQ(fs_->Access(f, W_OK), EROFS);
  EXPECT_EQ(fs_->Access(kRootNode, W_OK), EROFS);
  EXPECT_EQ(fs_->Access(f, R_OK), 0);
}

TEST_F(PosixMetadataTest, XattrNameAndTotalSizeLimits) {
  NodeId f = MakeFile("f", "x");
  EXPECT_EQ(fs_->SetXattr(f, "user.", "v", 0), EINVAL);
  EXPECT_EQ(fs_->SetXattr(f, "user." + std::string(251, 'n'), "v", 0), ERANGE);
  EXPECT_EQ(fs_->SetXattr(f, "user." + std::string(250, 'n'), "v", 0), 0);
  EXPECT_EQ(fs_->SetXattr(f, "user.big", std::string(65537, 'b'), 0), E2BIG);
  std::string value(65536, 'v');
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(fs_->SetXattr(f, "user.v" + std::to_string(i), value, 0), 0) << i;
  }
  EXPECT_EQ(fs_->SetXattr(f, "user.v3", value, 0), ENOSPC);
  // Replacing a value counts the new size, not both.
  EXPECT_EQ(fs_->SetXattr(f, "user.v2", value, XATTR_REPLACE), 0);
  ASSERT_EQ(fs_->RemoveXattr(f, "user.v2"), 0);
  EXPECT_EQ(fs_->SetXattr(f, "user.v3", value, 0), 0);
}

TEST_F(PosixMetadataTest, RenameExchangeWithADirectoryOnEitherSideIsEinval) {
  MakeFile("f", "x");
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "d", 0755, {}, &dir), 0);
  EXPECT_EQ(fs_->Rename(kRootNode, "f", kRootNode, "d", RENAME_EXCHANGE), EINVAL);
  EXPECT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "f", RENAME_EXCHANGE), EINVAL);
  EXPECT_NE(Lookup(kRootNode, "f"), 0u);
  EXPECT_NE(Lookup(kRootNode, "d"), 0u);
}

TEST_F(PosixMetadataTest, RenameChangesCtimeAndKeepsMtime) {
  NodeId f = MakeFile("f", "x");
  Seed("plain", "no metadata");
  struct stat file_before = Stat(f);
  struct stat plain_before = Stat(Lookup(kRootNode, "plain"));
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "d", 0755, {}, &dir), 0);
  struct stat dir_before = Stat(dir.node);
  Pause();
  ASSERT_EQ(fs_->Rename(kRootNode, "f", kRootNode, "g", 0), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "plain", kRootNode, "plain2", 0), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "d2", 0), 0);
  struct stat g = Stat(Lookup(kRootNode, "g"));
  EXPECT_EQ(MtimeOf(g), MtimeOf(file_before));
  EXPECT_GT(CtimeOf(g), CtimeOf(file_before));
  struct stat plain = Stat(Lookup(kRootNode, "plain2"));
  EXPECT_EQ(MtimeOf(plain), MtimeOf(plain_before));
  EXPECT_GT(CtimeOf(plain), CtimeOf(plain_before));
  EXPECT_EQ(plain.st_mode, plain_before.st_mode);
  struct stat d2 = Stat(Lookup(kRootNode, "d2"));
  EXPECT_EQ(MtimeOf(d2), MtimeOf(dir_before));
  EXPECT_GT(CtimeOf(d2), CtimeOf(dir_before));
}

TEST_F(PosixMetadataTest, ChmodChownXattrsChangeCtimeOnly) {
  NodeId f = MakeFile("f", "x");
  struct stat last = Stat(f);
  auto expect_ctime_only = [&](const char* what) {
    struct stat now = Stat(f);
    EXPECT_EQ(MtimeOf(now), MtimeOf(last)) << what;
    EXPECT_GT(CtimeOf(now), CtimeOf(last)) << what;
    last = now;
  };
  Pause();
  ASSERT_EQ(Chmod(f, 0600), 0);
  expect_ctime_only("chmod");
  Pause();
  SetAttrRequest chown;
  chown.uid = 5;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(f, 0, chown, &st), 0);
  expect_ctime_only("chown");
  Pause();
  ASSERT_EQ(fs_->SetXattr(f, "user.a", "1", 0), 0);
  expect_ctime_only("setxattr");
  Pause();
  ASSERT_EQ(fs_->RemoveXattr(f, "user.a"), 0);
  expect_ctime_only("removexattr");
  // Reads change nothing, atime included.
  uint64_t fh = OpenFile(f, O_RDONLY);
  ReadResult result;
  ASSERT_EQ(fs_->Read(f, fh, 0, 10, &result), 0);
  fs_->Release(fh);
  struct stat after_read = Stat(f);
  EXPECT_EQ(CtimeOf(after_read), CtimeOf(last));
  EXPECT_EQ(after_read.st_atim.tv_nsec, last.st_atim.tv_nsec);
  EXPECT_EQ(after_read.st_atim.tv_sec, last.st_atim.tv_sec);
}

}  // namespace
}  // namespace rocksfs::fs
