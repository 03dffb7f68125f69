// Special files, inode numbers, directory times and hard links in the fs
// core, without a kernel (issue 12). Each test checks what a mount shows
// (stat, lookup, listing) and what other RocksDB programs see: the keys and
// values read past the Filesystem.

#include <fcntl.h>
#include <linux/fs.h>  // RENAME_EXCHANGE, RENAME_NOREPLACE
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }

// Stands in for the kernel: remembers which nodes had their attributes
// dropped.
class RecordingKernelCache : public KernelCache {
 public:
  void InvalidateInode(NodeId node) override {
    std::lock_guard lock(mutex_);
    inodes_.insert(node);
  }
  void InvalidateEntry(NodeId, std::string_view) override {}
  bool Dropped(NodeId node) {
    std::lock_guard lock(mutex_);
    return inodes_.count(node) > 0;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    inodes_.clear();
  }

 private:
  std::mutex mutex_;
  std::set<NodeId> inodes_;
};

class LinksTest : public ::testing::Test {
 public:  // the table-driven cases call helpers through a LinksTest*
  void SetUp() override {
    std::string pattern = (stdfs::temp_directory_path() / "links_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Open();
  }
  void TearDown() override {
    fs_.reset();
    store_.reset();
    std::error_code ec;
    stdfs::remove_all(dir_, ec);
  }
  // (Re)opens the store and a Filesystem on it: what a remount does.
  void Open() {
    fs_.reset();
    store_.reset();
    kv::RocksOpenOptions open;
    open.path = dir_ + "/db";
    open.create_if_missing = true;
    open.statistics = false;
    kv::Status s = kv::OpenRocksStore(open, &store_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::string error;
    ASSERT_EQ(Filesystem::Create(store_.get(), options_, &fs_, &error), 0) << error;
    fs_->SetKernelCache(&kernel_);
  }

  // Writes keys directly, as another RocksDB program would.
  void Seed(std::string_view key, std::string_view value) {
    kv::Batch batch;
    batch.Put(store_->DefaultColumnFamily(), std::string(key), std::string(value));
    ASSERT_TRUE(store_->Write({}, batch).ok());
  }
  // The value under `key`, read past the Filesystem.
  std::optional<std::string> KvGet(std::string_view key) {
    kv::Value value;
    kv::Status s = store_->Get({}, store_->DefaultColumnFamily(), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::string(value.view());
  }
  // The raw record of file key `key`.
  std::optional<std::string> KvRecord(std::string_view key) {
    kv::ColumnFamily* cf = nullptr;
    if (!store_->GetColumnFamily(MetaColumnFamilyName("default"), false, &cf).ok()) {
      return std::nullopt;
    }
    kv::Value value;
    if (!store_->Get({}, cf, FileMetaKey(key), &value).ok()) return std::nullopt;
    return std::string(value.view());
  }

  // Walks `path` from the root; node 0 when a name is missing.
  Entry Find(std::string_view path) {
    Entry entry;
    entry.node = kRootNode;
    while (!path.empty()) {
      size_t slash = path.find('/');
      std::string_view name = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
      Entry next;
      if (fs_->Lookup(entry.node, name, &next) != 0 || next.node == 0) return Entry{};
      entry = next;
    }
    if (entry.node == kRootNode) EXPECT_EQ(fs_->GetAttr(kRootNode, &entry.attr), 0);
    return entry;
  }
  NodeId Node(std::string_view path) {
    Entry entry = Find(path);
    EXPECT_NE(entry.node, 0u) << path;
    return entry.node;
  }
  struct stat Stat(std::string_view path) {
    struct stat st {};
    NodeId node = Node(path);
    if (node) EXPECT_EQ(fs_->GetAttr(node, &st), 0) << path;
    return st;
  }
  // The parent directory's node and the last name of `path`.
  std::pair<NodeId, std::string> Split(std::string_view path) {
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {kRootNode, std::string(path)};
    return {Node(path.substr(0, slash)), std::string(path.substr(slash + 1))};
  }
  void MakeFile(std::string_view path, std::string_view bytes) {
    auto [parent, name] = Split(path);
    Entry entry;
    OpenResult opened;
    ASSERT_EQ(fs_->Create(parent, name, 0644, O_WRONLY | O_CREAT | O_TRUNC, {}, &entry, &opened),
              0)
        << path;
    size_t written = 0;
    ASSERT_EQ(fs_->Write(opened.fh, 0, bytes, &written), 0);
    fs_->Release(opened.fh);
  }
  void MakeDir(std::string_view path) {
    auto [parent, name] = Split(path);
    Entry entry;
    ASSERT_EQ(fs_->Mkdir(parent, name, 0755, {}, &entry), 0) << path;
  }
  // Replaces the whole value of `path` through that name (open, write,
  // close: one commit).
  void WriteThrough(std::string_view path, std::string_view bytes) {
    OpenResult opened;
    ASSERT_EQ(fs_->Open(Node(path), O_WRONLY | O_TRUNC, &opened), 0) << path;
    size_t written = 0;
    ASSERT_EQ(fs_->Write(opened.fh, 0, bytes, &written), 0);
    fs_->Release(opened.fh);
  }
  std::string Read(std::string_view path) {
    ReadResult result;
    EXPECT_EQ(fs_->Read(Node(path), 0, 0, 1 << 20, &result), 0) << path;
    return std::string(result.data.view());
  }
  int Link(std::string_view from, std::string_view to, Entry* out = nullptr) {
    auto [parent, name] = Split(to);
    Entry entry;
    return fs_->Link(Node(from), parent, name, out ? out : &entry);
  }
  int Rename(std::string_view from, std::string_view to, unsigned flags = 0) {
    auto [parent, name] = Split(from);
    auto [new_parent, new_name] = Split(to);
    return fs_->Rename(parent, name, new_parent, new_name, flags);
  }
  int Unlink(std::string_view path) {
    auto [parent, name] = Split(path);
    return fs_->Unlink(parent, name);
  }

  std::string dir_;
  FilesystemOptions options_;
  RecordingKernelCache kernel_;
  std::unique_ptr<kv::Store> store_;
  std::unique_ptr<Filesystem> fs_;
};

// ---------------------------------------------------------------------------
// Special files.

TEST_F(LinksTest, MknodMakesEachSpecialTypeWithItsDeviceNumber) {
  struct Case {
    const char* name;
    mode_t mode;
    dev_t rdev;
    dev_t shown_rdev;  // only devices keep one
  };
  const Case cases[] = {
      {"fifo", S_IFIFO | 0640, 0, 0},
      {"null", S_IFCHR | 0666, makedev(1, 3), makedev(1, 3)},
      {"disk", S_IFBLK | 0660, makedev(8, 1), makedev(8, 1)},
      {"sock", S_IFSOCK | 0755, 0, 0},
      {"fifo-with-rdev", S_IFIFO | 0600, makedev(4, 4), 0},
      {"regular", S_IFREG | 0600, 0, 0},
  };
  for (const Case& c : cases) {
    Entry entry;
    ASSERT_EQ(fs_->Mknod(kRootNode, c.name, c.mode, c.rdev, {}, &entry), 0) << c.name;
    EXPECT_EQ(entry.attr.st_mode, c.mode) << c.name;
    EXPECT_EQ(entry.attr.st_rdev, c.shown_rdev) << c.name;
    EXPECT_EQ(entry.attr.st_size, 0) << c.name;
    // Other RocksDB programs see a key with an empty value.
    EXPECT_EQ(KvGet(c.name), "") << c.name;
    Entry again;
    EXPECT_EQ(fs_->Mknod(kRootNode, c.name, c.mode, c.rdev, {}, &again), EEXIST) << c.name;
  }
  Open();  // remount
  for (const Case& c : cases) {
    struct stat st = Stat(c.name);
    EXPECT_EQ(st.st_mode, c.mode) << c.name;
    EXPECT_EQ(st.st_rdev, c.shown_rdev) << c.name;
  }
  // Listings carry the type, and a special file renames like any key.
  uint64_t fh = 0;
  ASSERT_EQ(fs_->OpenDir(kRootNode, &fh), 0);
  std::map<std::string, mode_t> types;
  ASSERT_EQ(fs_->ReadDir(kRootNode, fh, 0, false,
                         [&](const DirEntry& e, off_t) {
                           types[e.name] = e.attr.st_mode & S_IFMT;
                           return true;
                         }),
            0);
  fs_->ReleaseDir(fh);
  EXPECT_EQ(types["fifo"], static_cast<mode_t>(S_IFIFO));
  EXPECT_EQ(types["null"], static_cast<mode_t>(S_IFCHR));
  EXPECT_EQ(types["disk"], static_cast<mode_t>(S_IFBLK));
  EXPECT_EQ(types["sock"], static_cast<mode_t>(S_IFSOCK));
  ASSERT_EQ(Rename("disk", "disk2"), 0);
  EXPECT_EQ(Stat("disk2").st_rdev, makedev(8, 1));
  EXPECT_TRUE(S_ISBLK(Stat("disk2").st_mode));
}

TEST_F(LinksTest, SpecialFilesFailWithEpermUnderNometa) {
  options_.nometa = true;
  Open();
  for (mode_t type : {S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK}) {
    Entry entry;
    EXPECT_EQ(fs_->Mknod(kRootNode, "x", type | 0644, makedev(1, 3), {}, &entry), EPERM) << type;
    EXPECT_EQ(KvGet("x"), std::nullopt);
  }
  Entry entry;
  ASSERT_EQ(fs_->Mknod(kRootNode, "plain", S_IFREG | 0644, 0, {}, &entry), 0);
  EXPECT_TRUE(S_ISREG(entry.attr.st_mode));
  EXPECT_EQ(store_->ListColumnFamilies(), std::vector<std::string>{"default"});
}

// ---------------------------------------------------------------------------
// Inode numbers.

TEST_F(LinksTest, InodeNumberSurvivesRenameAndRemount) {
  Seed("seeded", "s");          // written by another program: no record
  Seed("implied/x", "x");       // a directory only implied by a key
  MakeFile("made", "m");
  MakeDir("dir");
  MakeFile("dir/inner", "i");
  MakeDir("other");
  Entry entry;
  ASSERT_EQ(fs_->Symlink("target", kRootNode, "link", {}, &entry), 0);
  ASSERT_EQ(fs_->Mknod(kRootNode, "fifo", S_IFIFO | 0644, 0, {}, &entry), 0);
  struct Case {
    const char* from;
    const char* to;
  };
  const Case cases[] = {
      {"seeded", "seeded2"}, {"implied", "implied2"}, {"made", "other/made2"},
      {"dir", "dir2"},       {"link", "link2"},       {"fifo", "fifo2"},
  };
  std::map<std::string, ino_t> inos;
  for (const Case& c : cases) {
    ino_t before = Stat(c.from).st_ino;
    ASSERT_EQ(Find(c.from).attr.st_ino, before) << c.from;
    ASSERT_EQ(Rename(c.from, c.to), 0) << c.from;
    EXPECT_EQ(Stat(c.to).st_ino, before) << c.from << " -> " << c.to;
    inos[c.to] = before;
  }
  ino_t inner = Stat("dir2/inner").st_ino;  // a recorded key moved with its directory
  Open();
  for (const auto& [path, ino] : inos) EXPECT_EQ(Stat(path).st_ino, ino) << path;
  EXPECT_EQ(Stat("dir2/inner").st_ino, inner);
  // The listing shows the same numbers as stat.
  uint64_t fh = 0;
  ASSERT_EQ(fs_->OpenDir(kRootNode, &fh), 0);
  std::map<std::string, ino_t> listed;
  ASSERT_EQ(fs_->ReadDir(kRootNode, fh, 0, false,
                         [&](const DirEntry& e, off_t) {
                           listed[e.name] = e.attr.st_ino;
                           return true;
                         }),
            0);
  fs_->ReleaseDir(fh);
  for (const auto& [path, ino] : inos) {
    if (path.find('/') == std::string::npos) EXPECT_EQ(listed[path], ino) << path;
  }
}

TEST_F(LinksTest, InodeNumbersAreUniqueAndTaggedByOrigin) {
  Seed("seeded", "s");
  EXPECT_EQ(Stat("seeded").st_ino & kAllocatedInoBit, 0u);  // a hash: top bit clear
  EXPECT_EQ(Stat("").st_ino, kRootNode);
  std::set<ino_t> seen;
  for (int i = 0; i < 5; ++i) MakeFile("f" + std::to_string(i), "x");
  MakeDir("d");
  Open();  // a remount hands out numbers past those reserved before
  for (int i = 5; i < 10; ++i) MakeFile("f" + std::to_string(i), "x");
  for (int i = 0; i < 10; ++i) {
    ino_t ino = Stat("f" + std::to_string(i)).st_ino;
    EXPECT_NE(ino & kAllocatedInoBit, 0u) << i;
    EXPECT_TRUE(seen.insert(ino).second) << "duplicate st_ino for f" << i;
  }
  EXPECT_TRUE(seen.insert(Stat("d").st_ino).second);
  EXPECT_TRUE(seen.insert(Stat("seeded").st_ino).second);
}

TEST_F(LinksTest, NewFileAtARenamedFilesOldNameGetsItsOwnInode) {
  for (bool seeded : {true, false}) {
    SCOPED_TRACE(seeded ? "key without record" : "file made through the mount");
    std::string name = seeded ? "s" : "m";
    if (seeded) Seed(name, "old");
    else MakeFile(name, "old");
    ino_t old_ino = Stat(name).st_ino;
    ASSERT_EQ(Rename(name, name + ".moved"), 0);
    MakeFile(name, "new");
    EXPECT_NE(Stat(name).st_ino, old_ino);
    EXPECT_EQ(Stat(name + ".moved").st_ino, old_ino);
  }
}

// ---------------------------------------------------------------------------
// Directory times.

TEST_F(LinksTest, NamespaceOperationsChangeTheirDirectoriesTimes) {
  struct Case {
    const char* name;
    std::function<void(LinksTest*, const std::string& a, const std::string& b)> setup;
    std::function<int(LinksTest*, const std::string& a, const std::string& b)> op;
    bool both;  // b's times change too
  };
  using T = LinksTest;
  using S = const std::string&;
  auto none = [](T*, S, S) {};
  auto file_in_a = [](T* t, S a, S) { t->MakeFile(a + "/f", "v"); };
  const Case cases[] = {
      {"create", none,
       [](T* t, S a, S) {
         Entry e;
         OpenResult o;
         int err = t->fs_->Create(t->Node(a), "f", 0644, O_WRONLY | O_CREAT, {}, &e, &o);
         if (err == 0) t->fs_->Release(o.fh);
         return err;
       },
       false},
      {"mknod fifo", none,
       [](T* t, S a, S) {
         Entry e;
         return t->fs_->Mknod(t->Node(a), "p", S_IFIFO | 0644, 0, {}, &e);
       },
       false},
      {"mknod regular", none,
       [](T* t, S a, S) {
         Entry e;
         return t->fs_->Mknod(t->Node(a), "r", S_IFREG | 0644, 0, {}, &e);
       },
       false},
      {"unlink", file_in_a, [](T* t, S a, S) { return t->Unlink(a + "/f"); }, false},
      {"mkdir", none,
       [](T* t, S a, S) {
         Entry e;
         return t->fs_->Mkdir(t->Node(a), "sub", 0755, {}, &e);
       },
       false},
      {"rmdir", [](T* t, S a, S) { t->MakeDir(a + "/sub"); },
       [](T* t, S a, S) { return t->fs_->Rmdir(t->Node(a), "sub"); }, false},
      {"symlink", none,
       [](T* t, S a, S) {
         Entry e;
         return t->fs_->Symlink("x", t->Node(a), "l", {}, &e);
       },
       false},
      {"link", [](T* t, S, S b) { t->MakeFile(b + "/f", "v"); },
       [](T* t, S a, S b) { return t->Link(b + "/f", a + "/g"); }, false},
      {"rename in place", file_in_a, [](T* t, S a, S) { return t->Rename(a + "/f", a + "/g"); },
       false},
      {"rename across", file_in_a, [](T* t, S a, S b) { return t->Rename(a + "/f", b + "/g"); },
       true},
      {"rename exchange",
       [](T* t, S a, S b) {
         t->MakeFile(a + "/f", "1");
         t->MakeFile(b + "/f", "2");
       },
       [](T* t, S a, S b) { return t->Rename(a + "/f", b + "/f", RENAME_EXCHANGE); }, true},
      {"rename directory across", [](T* t, S a, S) { t->Seed(a + "/d/x", "v"); },
       [](T* t, S a, S b) { return t->Rename(a + "/d", b + "/d"); }, true},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i++);
    // a is made by mkdir; b is only implied by a key (it has no record).
    MakeDir(a);
    Seed(b + "/seed", "s");
    c.setup(this, a, b);
    struct stat a_before = Stat(a), b_before = Stat(b);
    Pause();
    ASSERT_EQ(c.op(this, a, b), 0);
    struct stat a_after = Stat(a), b_after = Stat(b);
    EXPECT_GT(MtimeOf(a_after), MtimeOf(a_before));
    EXPECT_GT(CtimeOf(a_after), CtimeOf(a_before));
    if (c.both) {
      EXPECT_GT(MtimeOf(b_after), MtimeOf(b_before));
      EXPECT_GT(CtimeOf(b_after), CtimeOf(b_before));
    } else {
      EXPECT_EQ(MtimeOf(b_after), MtimeOf(b_before));
    }
    EXPECT_EQ(a_after.st_ino, a_before.st_ino);
    EXPECT_EQ(b_after.st_ino, b_before.st_ino);  // a new record keeps the hash
  }
  // The times are stored: a remount shows them.
  TimeNs root_mtime = MtimeOf(Stat(""));
  struct stat a0 = Stat("a0");
  Open();
  EXPECT_EQ(MtimeOf(Stat("a0")), MtimeOf(a0));
  EXPECT_EQ(MtimeOf(Stat("")), root_mtime);
}

TEST_F(LinksTest, DirectoryTimesAreNotStoredUnderNometa) {
  options_.nometa = true;
  Open();
  Seed("d/seed", "s");
  struct stat before = Stat("d");
  Pause();
  MakeFile("d/f", "v");
  ASSERT_EQ(Unlink("d/seed"), 0);
  EXPECT_EQ(MtimeOf(Stat("d")), MtimeOf(before));
  EXPECT_EQ(store_->ListColumnFamilies(), std::vector<std::string>{"default"});
}

// ---------------------------------------------------------------------------
// Hard links.

TEST_F(LinksTest, LinkedNamesShareInodeLinkCountAndRecord) {
  MakeFile("f", "content");
  MakeDir("d");
  ino_t ino = Stat("f").st_ino;
  Entry entry;
  ASSERT_EQ(Link("f", "d/g", &entry), 0);
  EXPECT_NE(entry.node, 0u);
  EXPECT_EQ(entry.attr.st_ino, ino);
  EXPECT_EQ(entry.attr.st_nlink, 2u);
  EXPECT_EQ(entry.attr.st_size, 7);
  ASSERT_EQ(Link("d/g", "h"), 0);
  for (const char* path : {"f", "d/g", "h"}) {
    struct stat st = Stat(path);
    EXPECT_EQ(st.st_ino, ino) << path;
    EXPECT_EQ(st.st_nlink, 3u) << path;
    EXPECT_EQ(Read(path), "content") << path;
    // Other RocksDB programs: a plain, equal value under each key, and the
    // same record beside each.
    EXPECT_EQ(KvGet(path), "content") << path;
    EXPECT_EQ(KvRecord(path), KvRecord("f")) << path;
  }
  Metadata record;
  ASSERT_TRUE(DecodeMetadata(*KvRecord("h"), &record));
  EXPECT_EQ(record.links, (std::vector<std::string>{"d/g", "f", "h"}));
  Open();
  EXPECT_EQ(Stat("h").st_ino, ino);
  EXPECT_EQ(Stat("h").st_nlink, 3u);
}

TEST_F(LinksTest, AKeyWithoutRecordKeepsItsInodeWhenLinked) {
  Seed("seeded", "v");
  ino_t ino = Stat("seeded").st_ino;
  ASSERT_EQ(Link("seeded", "other"), 0);
  EXPECT_EQ(Stat("seeded").st_ino, ino);
  EXPECT_EQ(Stat("other").st_ino, ino);
}

TEST_F(LinksTest, LinkRefusals) {
  MakeFile("f", "v");
  MakeFile("g", "w");
  MakeDir("d");
  Entry entry;
  EXPECT_EQ(Link("d", "d2"), EPERM);   // a directory
  EXPECT_EQ(Link("f", "g"), EEXIST);   // a file there
  EXPECT_EQ(Link("f", "d"), EEXIST);   // a directory there
  EXPECT_EQ(KvGet("g"), "w");
  // Across views: another column family.
  Entry control, families, other;
  ASSERT_EQ(fs_->Lookup(kRootNode, kControlDirName, &control), 0);
  ASSERT_EQ(fs_->Lookup(control.node, "cf", &families), 0);
  ASSERT_EQ(fs_->Mkdir(families.node, "other", 0755, {}, &other), 0);
  EXPECT_EQ(fs_->Link(Node("f"), other.node, "f", &entry), EXDEV);
  EXPECT_EQ(fs_->Link(control.node, kRootNode, "c", &entry), EPERM);
}

TEST_F(LinksTest, WriteThroughOneNameReachesEveryKey) {
  MakeFile("f", "old");
  MakeDir("d");
  ASSERT_EQ(Link("f", "d/g"), 0);
  NodeId f = Node("f");
  kernel_.Clear();
  WriteThrough("d/g", "new value");
  EXPECT_EQ(KvGet("f"), "new value");
  EXPECT_EQ(KvGet("d/g"), "new value");
  EXPECT_EQ(Read("f"), "new value");
  EXPECT_EQ(Stat("f").st_size, 9);
  EXPECT_TRUE(kernel_.Dropped(f));  // the kernel's size of f is stale
  // truncate through the other name.
  SetAttrRequest truncate;
  truncate.size = 3;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(f, 0, truncate, &st), 0);
  EXPECT_EQ(KvGet("d/g"), "new");
  EXPECT_EQ(Stat("d/g").st_size, 3);
  EXPECT_EQ(KvRecord("f"), KvRecord("d/g"));
}

TEST_F(LinksTest, MetadataChangesThroughOneNameShowUnderEvery) {
  MakeFile("f", "v");
  ASSERT_EQ(Link("f", "g"), 0);
  NodeId f = Node("f");
  kernel_.Clear();
  SetAttrRequest chmod;
  chmod.mode = 0600;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(Node("g"), 0, chmod, &st), 0);
  EXPECT_EQ(Stat("f").st_mode & 07777, 0600u);
  EXPECT_TRUE(kernel_.Dropped(f));
  ASSERT_EQ(fs_->SetXattr(f, "user.k", "x", 0), 0);
  std::string value;
  ASSERT_EQ(fs_->GetXattr(Node("g"), "user.k", &value), 0);
  EXPECT_EQ(value, "x");
  EXPECT_EQ(KvRecord("f"), KvRecord("g"));
}

TEST_F(LinksTest, UnlinkOfOneNameLeavesTheOthers) {
  MakeFile("f", "v");
  ASSERT_EQ(Link("f", "g"), 0);
  ASSERT_EQ(Link("f", "h"), 0);
  ino_t ino = Stat("f").st_ino;
  TimeNs ctime = CtimeOf(Stat("g"));
  Pause();
  ASSERT_EQ(Unlink("f"), 0);
  EXPECT_EQ(KvGet("f"), std::nullopt);
  EXPECT_EQ(KvRecord("f"), std::nullopt);
  EXPECT_EQ(Stat("g").st_nlink, 2u);
  EXPECT_EQ(Stat("g").st_ino, ino);
  EXPECT_GT(CtimeOf(Stat("g")), ctime);
  ASSERT_EQ(Unlink("g"), 0);
  EXPECT_EQ(Stat("h").st_nlink, 1u);
  EXPECT_EQ(Stat("h").st_ino, ino);
  Metadata record;
  ASSERT_TRUE(DecodeMetadata(*KvRecord("h"), &record));
  EXPECT_TRUE(record.links.empty());  // a plain file again
  // A later write reaches only the one name left.
  WriteThrough("h", "alone");
  EXPECT_EQ(KvGet("g"), std::nullopt);
}

TEST_F(LinksTest, RenameOfALinkedNameUpdatesTheGroup) {
  MakeFile("f", "v");
  MakeDir("d");
  ASSERT_EQ(Link("f", "g"), 0);
  ino_t ino = Stat("f").st_ino;
  ASSERT_EQ(Rename("g", "d/g2"), 0);
  EXPECT_EQ(Stat("d/g2").st_ino, ino);
  EXPECT_EQ(Stat("f").st_nlink, 2u);
  WriteThrough("f", "both");
  EXPECT_EQ(KvGet("d/g2"), "both");
  EXPECT_EQ(KvGet("g"), std::nullopt);
  // Another file over a linked name: that name leaves the group.
  MakeFile("x", "x");
  ASSERT_EQ(Link("f", "h"), 0);
  ASSERT_EQ(Rename("x", "d/g2"), 0);
  EXPECT_EQ(Stat("f").st_nlink, 2u);
  EXPECT_NE(Stat("d/g2").st_ino, ino);
  WriteThrough("f", "f and h");
  EXPECT_EQ(KvGet("h"), "f and h");
  EXPECT_EQ(KvGet("d/g2"), "x");
}

TEST_F(LinksTest, RenameOntoAnotherNameOfTheSameFileRemovesTheFirst) {
  // rename(2) would do nothing, but the kernel holds a node per name and
  // moves the first over the second: the first name goes, as if unlinked.
  MakeFile("f", "v");
  ASSERT_EQ(Link("f", "g"), 0);
  ASSERT_EQ(Link("f", "h"), 0);
  NodeId f = Node("f");
  ino_t ino = Stat("f").st_ino;
  ASSERT_EQ(Rename("f", "g"), 0);
  EXPECT_EQ(KvGet("f"), std::nullopt);
  EXPECT_EQ(KvRecord("f"), std::nullopt);
  EXPECT_EQ(Find("g").node, f);  // the moved node
  EXPECT_EQ(Stat("g").st_ino, ino);
  EXPECT_EQ(Stat("g").st_nlink, 2u);
  EXPECT_EQ(Stat("h").st_nlink, 2u);
  // An exchange of two names of one file swaps their nodes and no data.
  NodeId g = Node("g"), h = Node("h");
  ASSERT_EQ(Rename("g", "h", RENAME_EXCHANGE), 0);
  EXPECT_EQ(Find("g").node, h);
  EXPECT_EQ(Find("h").node, g);
  EXPECT_EQ(KvGet("g"), "v");
  EXPECT_EQ(Stat("h").st_nlink, 2u);
}

TEST_F(LinksTest, RenameExchangeSwapsGroupsNames) {
  MakeFile("f", "group");
  ASSERT_EQ(Link("f", "g"), 0);
  MakeFile("x", "single");
  ino_t group = Stat("f").st_ino, single = Stat("x").st_ino;
  ASSERT_EQ(Rename("g", "x", RENAME_EXCHANGE), 0);
  EXPECT_EQ(Stat("x").st_ino, group);
  EXPECT_EQ(Stat("g").st_ino, single);
  EXPECT_EQ(Stat("g").st_nlink, 1u);
  WriteThrough("f", "changed");
  EXPECT_EQ(KvGet("x"), "changed");
  EXPECT_EQ(KvGet("g"), "single");
}

TEST_F(LinksTest, DirectoryRenameMovesLinkedNamesInAndOutOfTheSubtree) {
  MakeDir("a");
  MakeDir("b");
  MakeFile("a/f", "v");
  ASSERT_EQ(Link("a/f", "b/g"), 0);  // outside the subtree renamed below
  ASSERT_EQ(Link("a/f", "a/h"), 0);  // inside it
  ino_t ino = Stat("a/f").st_ino;
  ASSERT_EQ(Rename("a", "c"), 0);
  for (const char* path : {"c/f", "c/h", "b/g"}) {
    EXPECT_EQ(Stat(path).st_ino, ino) << path;
    EXPECT_EQ(Stat(path).st_nlink, 3u) << path;
  }
  Metadata record;
  ASSERT_TRUE(DecodeMetadata(*KvRecord("b/g"), &record));
  EXPECT_EQ(record.links, (std::vector<std::string>{"b/g", "c/f", "c/h"}));
  WriteThrough("b/g", "through b");
  EXPECT_EQ(KvGet("c/f"), "through b");
  EXPECT_EQ(KvGet("c/h"), "through b");
  EXPECT_EQ(KvGet("a/f"), std::nullopt);
  ASSERT_EQ(Unlink("b/g"), 0);
  EXPECT_EQ(Stat("c/f").st_nlink, 2u);
}

TEST_F(LinksTest, SymlinksAndSpecialFilesLinkToo) {
  Entry entry;
  ASSERT_EQ(fs_->Symlink("target", kRootNode, "l", {}, &entry), 0);
  ASSERT_EQ(Link("l", "l2", &entry), 0);
  EXPECT_TRUE(S_ISLNK(entry.attr.st_mode));
  std::string target;
  ASSERT_EQ(fs_->Readlink(Node("l2"), &target), 0);
  EXPECT_EQ(target, "target");
  ASSERT_EQ(fs_->Mknod(kRootNode, "p", S_IFIFO | 0644, 0, {}, &entry), 0);
  ASSERT_EQ(Link("p", "p2", &entry), 0);
  EXPECT_TRUE(S_ISFIFO(entry.attr.st_mode));
  EXPECT_EQ(entry.attr.st_nlink, 2u);
}

}  // namespace
}  // namespace rocksfs::fs
