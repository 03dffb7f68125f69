// Tests of the fs core (Filesystem) without a kernel: every operation is
// called directly with nodeids and names, on a real RocksDB in a temporary
// directory. Keys are seeded with kv::Batch as another RocksDB program would
// write them, and results are checked both through the Filesystem and in the
// store itself.

#include "fs/filesystem.h"

#include <fcntl.h>
#include <linux/fs.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "fs/metadata.h"
#include "fs/path_codec.h"
#include "kv/rocks_store.h"
#include "kv/store.h"

namespace rocksfs::fs {
namespace {

namespace stdfs = std::filesystem;
using namespace std::string_literals;

using KeyValues = std::vector<std::pair<std::string, std::string>>;
using Names = std::vector<std::string>;

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02X", c);
      out += buffer;
    }
  }
  return out;
}


Names Sorted(Names names) {
  std::sort(names.begin(), names.end());
  return names;
}

// "." and ".." followed by `names`, sorted: what a full listing should hold.
Names WithDots(Names names) {
  names.push_back(".");
  names.push_back("..");
  return Sorted(std::move(names));
}

// A fresh directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (stdfs::temp_directory_path() / "filesystem_test-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class FilesystemTest : public ::testing::Test {
 protected:
  FilesystemTest() {
    options_.delimiter = '/';
    options_.defaults.uid = 0;
    options_.defaults.gid = 0;
  }

  void SetUp() override { OpenStore(kv::OpenMode::kReadWrite); }
  void TearDown() override { CloseStore(); }

  // Opens the store at dir_ and a Filesystem on it with options_.
  void OpenStore(kv::OpenMode mode) {
    kv::RocksOpenOptions open;
    open.path = dir_.path() + "/db";
    open.mode = mode;
    open.create_if_missing = mode == kv::OpenMode::kReadWrite;
    open.block_cache_bytes = 8 << 20;
    open.statistics = false;
    kv::Status s = kv::OpenRocksStore(open, &store_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    RecreateFilesystem();
  }
  void CloseStore() {
    fs_.reset();
    store_.reset();
  }
  // Closes and reopens the store and the Filesystem: what a remount does.
  void Reopen(kv::OpenMode mode = kv::OpenMode::kReadWrite) {
    CloseStore();
    OpenStore(mode);
  }
  // A new Filesystem (with the current options_) on the same store.
  void RecreateFilesystem() {
    fs_.reset();
    std::string error;
    ASSERT_EQ(Filesystem::Create(store_.get(), options_, &fs_, &error), 0) << error;
  }

  // Writes keys directly, as another RocksDB program would.
  void Seed(const KeyValues& pairs) {
    kv::Batch batch;
    for (const auto& [key, value] : pairs) batch.Put(store_->DefaultColumnFamily(), key, value);
    kv::Status s = store_->Write({}, batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // The value of `key` in the data column family, read past the Filesystem.
  std::optional<std::string> KvGet(std::string_view key) {
    kv::Value value;
    kv::Status s = store_->Get({}, store_->DefaultColumnFamily(), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::string(value.view());
  }
  // The directory marker of `prefix` (with its delimiter) in the metadata
  // column family, read past the Filesystem.
  std::optional<std::string> KvGetMeta(std::string_view prefix) {
    kv::ColumnFamily* cf = nullptr;
    if (!store_->GetColumnFamily(MetaColumnFamilyName("default"), false, &cf).ok()) {
      return std::nullopt;
    }
    kv::Value value;
    kv::Status s = store_->Get({}, cf, DirMetaKey(prefix), &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::string(value.view());
  }
  // Every key under `prefix` in the data column family, with its value.
  std::map<std::string, std::string> KvScan(const std::string& prefix) {
    std::map<std::string, std::string> out;
    kv::ScanOptions scan;
    scan.lower_bound = prefix;
    scan.upper_bound = kv::PrefixSuccessor(prefix);
    auto it = store_->NewIterator(store_->DefaultColumnFamily(), scan);
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      out.emplace(std::string(it->key()), std::string(it->value()));
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  // Walks `path` (names separated by '/', as a user would type them) from
  // the root. Returns an Entry with node 0 when a name is missing.
  Entry LookupPath(std::string_view path) {
    Entry entry;
    entry.node = kRootNode;
    while (!path.empty()) {
      size_t slash = path.find('/');
      std::string_view name = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
      Entry next;
      int err = fs_->Lookup(entry.node, name, &next);
      EXPECT_EQ(err, 0) << "lookup of '" << Printable(name) << "'";
      if (err != 0 || next.node == 0) return Entry{};
      entry = next;
    }
    if (entry.node == kRootNode) { EXPECT_EQ(fs_->GetAttr(kRootNode, &entry.attr), 0); }
    return entry;
  }
  NodeId Dir(std::string_view path) {
    Entry entry = LookupPath(path);
    EXPECT_NE(entry.node, 0u) << path;
    EXPECT_TRUE(S_ISDIR(entry.attr.st_mode)) << path;
    return entry.node;
  }

  // Lists `dir` in calls to ReadDir that each accept at most `per_call`
  // entries, resuming at the next_offset of the last accepted entry, starting
  // at `offset`. Includes "." and ".." when the listing reaches them.
  Names ListFrom(NodeId dir, bool plus, size_t per_call, off_t offset, uint64_t fh = 0) {
    bool own_handle = fh == 0;
    if (own_handle) { EXPECT_EQ(fs_->OpenDir(dir, &fh), 0); }
    Names names;
    for (int calls = 0; calls < 1000000; ++calls) {
      size_t accepted = 0;
      off_t last_offset = offset;
      int err = fs_->ReadDir(dir, fh, offset, plus, [&](const DirEntry& entry, off_t next) {
        if (accepted == per_call) return false;
        ++accepted;
        names.push_back(entry.name);
        last_offset = next;
        if (plus && entry.node != 0) fs_->Forget(entry.node, 1);
        return true;
      });
      EXPECT_EQ(err, 0);
      if (err != 0 || accepted == 0) break;
      offset = last_offset;
    }
    if (own_handle) fs_->ReleaseDir(fh);
    return names;
  }
  Names List(NodeId dir, bool plus = false) { return ListFrom(dir, plus, SIZE_MAX, 0); }
  Names ListChunked(NodeId dir, bool plus, size_t per_call) {
    return ListFrom(dir, plus, per_call, 0);
  }
  Names ListPath(std::string_view path, bool plus = false) { return List(Dir(path), plus); }

  // Creates (or truncates) `name` under `parent` with `bytes` and closes it.
  int WriteFile(NodeId parent, std::string_view name, std::string_view bytes,
                const Caller& caller = {}) {
    Entry entry;
    OpenResult opened;
    if (int err = fs_->Create(parent, name, 0644, O_WRONLY | O_CREAT | O_TRUNC, caller, &entry,
                              &opened)) {
      return err;
    }
    size_t written = 0;
    int err = fs_->Write(opened.fh, 0, bytes, &written);
    if (err == 0) { EXPECT_EQ(written, bytes.size()); }
    int flush_err = fs_->Flush(opened.fh);
    fs_->Release(opened.fh);
    fs_->Forget(entry.node, 1);
    return err ? err : flush_err;
  }
  // Reads a whole file through a fresh read-only handle.
  std::string ReadAll(NodeId node) {
    OpenResult opened;
    int err = fs_->Open(node, O_RDONLY, &opened);
    EXPECT_EQ(err, 0);
    if (err) return "<open failed>";
    std::string out = ReadHandle(node, opened.fh);
    fs_->Release(opened.fh);
    return out;
  }
  // Reads a whole file through `fh` (0: the committed value).
  std::string ReadHandle(NodeId node, uint64_t fh) {
    std::string out;
    while (true) {
      ReadResult result;
      int err = fs_->Read(node, fh, out.size(), 4096, &result);
      EXPECT_EQ(err, 0);
      if (err || result.data.size() == 0) break;
      out.append(result.data.view());
    }
    return out;
  }
  std::string ReadPath(std::string_view path) {
    Entry entry = LookupPath(path);
    if (entry.node == 0) return "<missing>";
    return ReadAll(entry.node);
  }
  // True when Lookup finds `name` (a positive entry); its lookup is leaked,
  // which only keeps the node in memory.
  bool Exists(NodeId parent, std::string_view name) {
    Entry entry;
    EXPECT_EQ(fs_->Lookup(parent, name, &entry), 0) << name;
    return entry.node != 0;
  }
  struct stat Stat(NodeId node) {
    struct stat st {};
    EXPECT_EQ(fs_->GetAttr(node, &st), 0);
    return st;
  }

  TempDir dir_;
  FilesystemOptions options_;
  std::unique_ptr<kv::Store> store_;
  std::unique_ptr<Filesystem> fs_;
  PathCodec codec_{'/'};
};

// ---------------------------------------------------------------------------
// 1. Listing: the key/path mapping.

TEST_F(FilesystemTest, ListingShowsFirstComponentsOnce) {
  Seed({{"user/alice", "A"}, {"user/bob", "B"}, {"top", "T"}});
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"top", "user"}));
  EXPECT_EQ(Sorted(ListPath("user")), WithDots({"alice", "bob"}));
  EXPECT_EQ(ReadPath("user/alice"), "A");
  EXPECT_EQ(ReadPath("top"), "T");
  EXPECT_TRUE(S_ISDIR(LookupPath("user").attr.st_mode));
  EXPECT_TRUE(S_ISREG(LookupPath("top").attr.st_mode));
}

TEST_F(FilesystemTest, ListingPlusCarriesTypesAndSizes) {
  Seed({{"user/alice", "AAAA"}, {"top", "TT"}});
  NodeId root = kRootNode;
  uint64_t fh = 0;
  ASSERT_EQ(fs_->OpenDir(root, &fh), 0);
  std::map<std::string, struct stat> seen;
  ASSERT_EQ(fs_->ReadDir(root, fh, 0, true,
                         [&](const DirEntry& entry, off_t) {
                           seen[entry.name] = entry.attr;
                           if (entry.node) fs_->Forget(entry.node, 1);
                           return true;
                         }),
            0);
  fs_->ReleaseDir(fh);
  ASSERT_TRUE(seen.count("top") && seen.count("user"));
  EXPECT_TRUE(S_ISREG(seen["top"].st_mode));
  EXPECT_EQ(seen["top"].st_size, 2);
  EXPECT_TRUE(S_ISDIR(seen["user"].st_mode));
  EXPECT_EQ(seen["top"].st_ino, LookupPath("top").attr.st_ino);
}

TEST_F(FilesystemTest, KeyThatIsAlsoAPrefixShowsDirectoryAndValueName) {
  Seed({{"blue", "the value of blue"}, {"blue/x", "X"}});
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"blue", "blue%{@}"}));
  EXPECT_EQ(Sorted(List(kRootNode, true)), WithDots({"blue", "blue%{@}"}));
  Entry dir = LookupPath("blue");
  EXPECT_TRUE(S_ISDIR(dir.attr.st_mode));
  Entry value = LookupPath("blue%{@}");
  EXPECT_TRUE(S_ISREG(value.attr.st_mode));
  EXPECT_EQ(value.attr.st_size, 17);
  EXPECT_EQ(ReadAll(value.node), "the value of blue");
  EXPECT_EQ(ReadPath("blue/x"), "X");
}

TEST_F(FilesystemTest, SiblingsSharingAPrefixNeverHideOneAnother) {
  Seed({{"config", "C"}, {"config.json", "J"}, {"config/x", "X"}, {"config\x01", "1"}});
  EXPECT_EQ(Sorted(List(kRootNode)),
            WithDots({"config", "config%{@}", "config.json", "config\x01"}));
  EXPECT_EQ(Sorted(List(kRootNode, true)),
            WithDots({"config", "config%{@}", "config.json", "config\x01"}));
  EXPECT_EQ(ReadPath("config%{@}"), "C");
  EXPECT_EQ(ReadPath("config.json"), "J");
  EXPECT_EQ(ReadPath("config/x"), "X");
  EXPECT_EQ(ReadPath("config\x01"), "1");
  EXPECT_TRUE(S_ISDIR(LookupPath("config").attr.st_mode));
}

TEST_F(FilesystemTest, TrailingDelimiterAndEmptyComponentsAreListedAndReadable) {
  struct Case {
    std::string key;
    std::string path;  // names from the root
  };
  const std::vector<Case> cases = {
      {"a/", "a/%{}%{@}"},  // the empty component is also a directory ("a//b")
      {"a//b", "a/%{}/b"},
      {"/x", "%{}/x"},
      {"c//", "c/%{}/%{}"},
  };
  KeyValues pairs;
  for (const Case& c : cases) pairs.emplace_back(c.key, "value of " + c.key);
  Seed(pairs);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"%{}", "a", "c"}));
  EXPECT_EQ(Sorted(ListPath("a")), WithDots({"%{}", "%{}%{@}"}));
  EXPECT_EQ(Sorted(ListPath("a/%{}")), WithDots({"b"}));
  EXPECT_EQ(Sorted(ListPath("%{}")), WithDots({"x"}));
  EXPECT_EQ(Sorted(ListPath("c")), WithDots({"%{}"}));
  EXPECT_EQ(Sorted(ListPath("c/%{}")), WithDots({"%{}"}));
  EXPECT_TRUE(S_ISDIR(LookupPath("a/%{}").attr.st_mode));
  for (const Case& c : cases) {
    EXPECT_EQ(ReadPath(c.path), "value of " + c.key) << c.path;
  }
}

TEST_F(FilesystemTest, BinaryKeyRoundTrips) {
  const std::string key = "bin\0\xff\x80 x%41%{"s;
  const std::string value = "\0\xff value \0"s;
  Seed({{key, value}, {"plain", "p"}});
  Names names = List(kRootNode);
  std::vector<std::string> matches;
  for (const std::string& name : names) {
    if (name == "." || name == ".." || name == "plain") continue;
    matches.push_back(name);
  }
  ASSERT_EQ(matches.size(), 1u);
  const std::string& name = matches[0];
  EXPECT_EQ(name.find('\0'), std::string::npos);
  DecodedName decoded;
  ASSERT_EQ(codec_.Decode(name, true, &decoded), 0) << Printable(name);
  EXPECT_EQ(decoded.role, NameRole::kPlain);
  EXPECT_EQ(decoded.component, key) << Printable(name);
  Entry entry;
  ASSERT_EQ(fs_->Lookup(kRootNode, name, &entry), 0);
  ASSERT_NE(entry.node, 0u);
  EXPECT_EQ(entry.attr.st_size, static_cast<off_t>(value.size()));
  EXPECT_EQ(ReadAll(entry.node), value);
}

TEST_F(FilesystemTest, RealRocksfsKeyAtRootIsEscaped) {
  Seed({{".rocksfs", "real key"}, {"sub/.rocksfs", "nested"}});
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"%{2E}rocksfs", "sub"}));
  EXPECT_EQ(ReadPath("%{2E}rocksfs"), "real key");
  // Only the root level is reserved.
  EXPECT_EQ(Sorted(ListPath("sub")), WithDots({".rocksfs"}));
  EXPECT_EQ(ReadPath("sub/.rocksfs"), "nested");
}

TEST_F(FilesystemTest, LongComponentListsAsHashedNameThatLooksUp) {
  const std::string long_a(300, 'x');
  const std::string long_b = std::string(299, 'x') + "y";  // same 235-byte prefix
  Seed({{"long/" + long_a, "value a"},
        {"long/" + long_b, "value b"},
        {long_a + "/in", "dir"},
        {long_a, "root value"}});
  Names names = List(Dir("long"));
  std::vector<std::string> hashed;
  for (const std::string& name : names) {
    if (name == "." || name == "..") continue;
    EXPECT_LE(name.size(), kNameMax);
    EXPECT_TRUE(PathCodec::IsHashed(name)) << name;
    hashed.push_back(name);
  }
  ASSERT_EQ(hashed.size(), 2u);
  EXPECT_NE(hashed[0], hashed[1]);
  std::set<std::string> values;
  for (const std::string& name : hashed) {
    Entry entry;
    ASSERT_EQ(fs_->Lookup(Dir("long"), name, &entry), 0);
    ASSERT_NE(entry.node, 0u) << name;
    values.insert(ReadAll(entry.node));
  }
  EXPECT_EQ(values, (std::set<std::string>{"value a", "value b"}));
  EXPECT_EQ(Sorted(hashed), Sorted({codec_.Encode(long_a, NameRole::kPlain, false),
                                    codec_.Encode(long_b, NameRole::kPlain, false)}));
  // A hashed directory name at the root resolves too.
  Names root = List(kRootNode);
  std::string dir_name = codec_.Encode(long_a, NameRole::kPlain, true);
  EXPECT_NE(std::find(root.begin(), root.end(), dir_name), root.end());
  EXPECT_EQ(ReadPath(dir_name + "/in"), "dir");
  std::string value_name = codec_.Encode(long_a, NameRole::kDirValue, true);
  EXPECT_LE(value_name.size(), kNameMax);
  EXPECT_EQ(Sorted(root), WithDots({dir_name, value_name, "long"}));
  EXPECT_EQ(ReadPath(value_name), "root value");
  // A hashed name that no key has is a miss.
  std::string missing = codec_.Encode(std::string(300, 'q'), NameRole::kPlain, true);
  Entry entry;
  int err = fs_->Lookup(kRootNode, missing, &entry);
  EXPECT_TRUE(err == ENOENT || (err == 0 && entry.node == 0)) << err;
}

TEST_F(FilesystemTest, HashedDirectoryKeptByMarkerStillLooksUp) {
  const std::string long_name(300, 'h');
  Seed({{long_name + "/only", "v"}});
  const std::string name = codec_.Encode(long_name, NameRole::kPlain, true);
  NodeId dir = Dir(name);
  ASSERT_EQ(fs_->Unlink(dir, "only"), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({name}));
  Entry entry;
  ASSERT_EQ(fs_->Lookup(kRootNode, name, &entry), 0);
  EXPECT_NE(entry.node, 0u);
  EXPECT_TRUE(S_ISDIR(entry.attr.st_mode));
  EXPECT_EQ(fs_->Rmdir(kRootNode, name), 0);
}

// ---------------------------------------------------------------------------
// 2. Every key appears exactly once.

class TreeWalker {
 public:
  TreeWalker(Filesystem* fs, const PathCodec& codec) : fs_(fs), codec_(codec) {}

  // Lists `dir` (whose key prefix is `prefix`, when known) and everything
  // below it, appending each file's contents to found().
  void Walk(NodeId dir, const std::optional<std::string>& prefix, bool at_root) {
    Names names = List(dir);
    std::set<std::string> unique(names.begin(), names.end());
    EXPECT_EQ(unique.size(), names.size()) << "duplicate names under " << Printable(prefix.value_or("?"));
    for (const std::string& name : names) {
      if (name == "." || name == "..") continue;
      Entry entry;
      ASSERT_EQ(fs_->Lookup(dir, name, &entry), 0) << Printable(name);
      ASSERT_NE(entry.node, 0u) << "listed name does not look up: " << Printable(name);
      DecodedName decoded;
      ASSERT_EQ(codec_.Decode(name, at_root, &decoded), 0) << Printable(name);
      std::optional<std::string> key;
      if (prefix && !decoded.hashed) key = *prefix + decoded.component;
      if (S_ISDIR(entry.attr.st_mode)) {
        EXPECT_EQ(decoded.role, NameRole::kPlain) << Printable(name);
        std::optional<std::string> child_prefix;
        if (key) child_prefix = *key + '/';
        Walk(entry.node, child_prefix, false);
      } else {
        std::string value = Read(entry.node);
        if (key) { EXPECT_EQ(value, *key) << "name " << Printable(name) << " holds another key"; }
        found_.push_back(value);
      }
      fs_->Forget(entry.node, 1);
    }
  }
  const std::vector<std::string>& found() const { return found_; }

 private:
  Names List(NodeId dir) {
    Names names;
    uint64_t fh = 0;
    EXPECT_EQ(fs_->OpenDir(dir, &fh), 0);
    EXPECT_EQ(fs_->ReadDir(dir, fh, 0, false,
                           [&](const DirEntry& entry, off_t) {
                             names.push_back(entry.name);
                             return true;
                           }),
              0);
    fs_->ReleaseDir(fh);
    return names;
  }
  std::string Read(NodeId node) {
    ReadResult result;
    EXPECT_EQ(fs_->Read(node, 0, 0, 1 << 20, &result), 0);
    return std::string(result.data.view());
  }

  Filesystem* fs_;
  const PathCodec& codec_;
  std::vector<std::string> found_;
};

TEST_F(FilesystemTest, EveryRandomKeyAppearsExactlyOnce) {
  std::mt19937_64 rng(20240611);
  const std::string alphabet = "ab.%{}@#2EF/\0\xff\xc3\xa9"s;
  auto uniform = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  std::set<std::string> keys = {""s,     "/"s,       "//"s,        "."s,     "./.."s,
                                "%@"s,   "x%@/y"s,   "%{}"s,       "%{"s,    "x%{@}/y"s,
                                "%{25}", "%{2E}/."s, "a%{#0}/b"s,  "%20"s,   "caf%C3%A9"s};
  while (keys.size() < 1980) {
    std::string key;
    size_t length = uniform(1, 12);
    for (size_t i = 0; i < length; ++i) key.push_back(alphabet[uniform(0, alphabet.size() - 1)]);
    keys.insert(key);
  }
  // A few components too long for a name, some sharing their hashed prefix.
  while (keys.size() < 2000) {
    std::string key = std::string(uniform(0, 1) ? "a/" : "") + std::string(uniform(250, 260), 'l');
    key.push_back(alphabet[uniform(0, alphabet.size() - 1)]);
    if (uniform(0, 1)) key += "/t" + std::to_string(uniform(0, 3));
    keys.insert(key);
  }
  KeyValues pairs;
  for (const std::string& key : keys) pairs.emplace_back(key, key);
  Seed(pairs);

  TreeWalker walker(fs_.get(), codec_);
  walker.Walk(kRootNode, ""s, true);
  std::map<std::string, int> counts;
  for (const std::string& value : walker.found()) counts[value]++;
  std::vector<std::string> missing, duplicated, unknown;
  for (const std::string& key : keys) {
    if (!counts.count(key)) missing.push_back(Printable(key));
  }
  for (const auto& [value, count] : counts) {
    if (count > 1) duplicated.push_back(Printable(value));
    if (!keys.count(value)) unknown.push_back(Printable(value));
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first: " << missing.front();
  EXPECT_TRUE(duplicated.empty()) << duplicated.size() << " duplicated, first: " << duplicated.front();
  EXPECT_TRUE(unknown.empty()) << unknown.size() << " unknown, first: " << unknown.front();
  EXPECT_EQ(walker.found().size(), keys.size());
}

// ---------------------------------------------------------------------------
// 3, 4. Readdir resumption and skip-over.

class FilesystemReaddirTest : public FilesystemTest {
 protected:
  void SetUp() override {
    FilesystemTest::SetUp();
    KeyValues pairs;
    for (int i = 0; i < 1000; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "f%04d", i);
      names_.push_back(name);
      pairs.emplace_back("dir/"s + name, name);
    }
    pairs.emplace_back("dir0", "a sibling after the directory");
    Seed(pairs);
    dir_node_ = Dir("dir");
  }
  // The entries after "." and "..", in listing order.
  static Names WithoutDots(const Names& names) {
    Names out;
    for (const std::string& n : names) {
      if (n != "." && n != "..") out.push_back(n);
    }
    return out;
  }

  // One ReadDir call on handle fh from `offset` that takes at most `count`
  // entries; *next is the offset after the last one taken.
  Names ReadSome(uint64_t fh, off_t offset, size_t count, off_t* next) {
    Names taken;
    EXPECT_EQ(fs_->ReadDir(dir_node_, fh, offset, false,
                           [&](const DirEntry& entry, off_t after) {
                             if (taken.size() == count) return false;
                             taken.push_back(entry.name);
                             *next = after;
                             return true;
                           }),
              0);
    return taken;
  }

  Names names_;  // sorted, as listed
  NodeId dir_node_ = 0;
};

TEST_F(FilesystemReaddirTest, ListingResumesFromEveryOffsetHandedOut) {
  for (bool plus : {false, true}) {
    SCOPED_TRACE(plus ? "readdirplus" : "readdir");
    Names all = ListChunked(dir_node_, plus, 7);
    ASSERT_EQ(all.size(), 1002u);
    EXPECT_EQ(all[0], ".");
    EXPECT_EQ(all[1], "..");
    EXPECT_EQ(WithoutDots(all), names_);
    EXPECT_EQ(Sorted(all), WithDots(names_));
  }
}

TEST_F(FilesystemReaddirTest, OffsetsResumeThroughAnyHandleOfTheDirectory) {
  // The kernel's readdir cache hands a reader offsets that another handle
  // gave out, and resumes it through its own handle.
  uint64_t first = 0;
  ASSERT_EQ(fs_->OpenDir(dir_node_, &first), 0);
  off_t resume_at = 0;
  ASSERT_EQ(ReadSome(first, 0, 102, &resume_at).size(), 102u);  // ".", ".." and 100
  fs_->ReleaseDir(first);

  uint64_t second = 0;
  ASSERT_EQ(fs_->OpenDir(dir_node_, &second), 0);
  EXPECT_EQ(ListFrom(dir_node_, false, 7, resume_at, second),
            Names(names_.begin() + 100, names_.end()));
  // Again from the start on the same handle, and again from the old offset.
  EXPECT_EQ(WithoutDots(ListFrom(dir_node_, false, 7, 0, second)), names_);
  EXPECT_EQ(ListFrom(dir_node_, false, 7, resume_at, second),
            Names(names_.begin() + 100, names_.end()));
  // Offsets 1 and 2 skip only the dots.
  Names from_one = ListFrom(dir_node_, false, 7, 1, second);
  ASSERT_FALSE(from_one.empty());
  EXPECT_EQ(from_one[0], "..");
  EXPECT_EQ(ListFrom(dir_node_, false, 7, 2, second), names_);
  // An offset never handed out names no place: the listing ends there.
  EXPECT_TRUE(ListFrom(dir_node_, false, 7, off_t{1} << 40, second).empty());
  fs_->ReleaseDir(second);
}

TEST_F(FilesystemReaddirTest, OffsetResumesAtItsKeyWhileNamesAroundItChange) {
  // An offset stands for a place in key order, not for a count of entries:
  // names created or removed before it neither repeat nor hide the rest.
  uint64_t fh = 0;
  ASSERT_EQ(fs_->OpenDir(dir_node_, &fh), 0);
  off_t resume_at = 0;
  ASSERT_EQ(ReadSome(fh, 2, 50, &resume_at), Names(names_.begin(), names_.begin() + 50));
  ASSERT_EQ(fs_->Unlink(dir_node_, names_[0]), 0);
  ASSERT_EQ(fs_->Unlink(dir_node_, names_[49]), 0);
  Entry created;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(dir_node_, names_[10] + "0", 0644, O_WRONLY, Caller{}, &created, &opened),
            0);
  fs_->Release(opened.fh);
  fs_->Forget(created.node, 1);
  EXPECT_EQ(ListFrom(dir_node_, false, 7, resume_at, fh),
            Names(names_.begin() + 50, names_.end()));
  fs_->ReleaseDir(fh);
}

TEST_F(FilesystemReaddirTest, RejectedEntryIsOfferedAgainAtTheSameOffset) {
  // The DirFiller contract: an entry the filler refuses is offered again by
  // the next ReadDir at the same offset.
  uint64_t fh = 0;
  ASSERT_EQ(fs_->OpenDir(dir_node_, &fh), 0);
  off_t next_offset = 0;
  ASSERT_EQ(ReadSome(fh, 0, 5, &next_offset).size(), 5u);
  ASSERT_EQ(fs_->ReadDir(dir_node_, fh, next_offset, false,
                         [&](const DirEntry&, off_t) { return false; }),
            0);
  Names after = ListFrom(dir_node_, false, 11, next_offset, fh);
  EXPECT_EQ(after, Names(names_.begin() + 3, names_.end()));
  fs_->ReleaseDir(fh);
}

TEST_F(FilesystemTest, ListingSkipsOverLargeSubtrees) {
  Names expected;
  for (int child = 0; child < 10; ++child) {
    std::string name = "c" + std::to_string(child);
    expected.push_back(name);
    KeyValues pairs;
    pairs.reserve(20000);
    for (int i = 0; i < 20000; ++i) {
      char suffix[32];
      std::snprintf(suffix, sizeof(suffix), "/d%02d/k%05d", i % 7, i);
      pairs.emplace_back(name + suffix, "");
    }
    Seed(pairs);
  }
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots(expected));
  EXPECT_EQ(Sorted(ListChunked(kRootNode, true, 3)), WithDots(expected));
  EXPECT_EQ(ListPath("c3").size(), 2u + 7u);
}

// ---------------------------------------------------------------------------
// 5. Files.

TEST_F(FilesystemTest, WrittenFileReadsBack) {
  ASSERT_EQ(WriteFile(kRootNode, "hello.txt", "hello world"), 0);
  EXPECT_EQ(ReadPath("hello.txt"), "hello world");
  EXPECT_EQ(KvGet("hello.txt"), "hello world");
  EXPECT_EQ(LookupPath("hello.txt").attr.st_size, 11);
  // Rewriting through O_TRUNC replaces the value.
  ASSERT_EQ(WriteFile(kRootNode, "hello.txt", "bye"), 0);
  EXPECT_EQ(KvGet("hello.txt"), "bye");
}

TEST_F(FilesystemTest, PwriteBeyondEndLeavesZeroFilledHole) {
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "holes", 0644, O_RDWR | O_CREAT, {}, &entry, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 10, "data", &written), 0);
  EXPECT_EQ(written, 4u);
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), std::string(10, '\0') + "data");
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(ReadAll(entry.node), std::string(10, '\0') + "data");
  EXPECT_EQ(KvGet("holes"), std::string(10, '\0') + "data");
}

TEST_F(FilesystemTest, WriteAcrossTheEndOverwritesThenExtends) {
  Seed({{"f", "abcdef"}});
  Entry entry = LookupPath("f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_RDWR, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 4, "XYZ12", &written), 0);
  EXPECT_EQ(written, 5u);
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "abcdXYZ12");
  EXPECT_EQ(Stat(entry.node).st_size, 9);
  ASSERT_EQ(fs_->Write(opened.fh, 1, "B", &written), 0);  // inside: the size stays
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "aBcdXYZ12");
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "aBcdXYZ12");
}

TEST_F(FilesystemTest, AppendingDescriptorsWriteWhereTheKernelSays) {
  // The kernel resolves O_APPEND offsets from the size it shares with us:
  // two descriptors appending in turn both land.
  Seed({{"log", "first\n"}});
  Entry entry = LookupPath("log");
  OpenResult a, b;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY | O_APPEND, &a), 0);
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY | O_APPEND, &b), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(a.fh, Stat(entry.node).st_size, "second\n", &written), 0);
  ASSERT_EQ(fs_->Write(b.fh, Stat(entry.node).st_size, "third\n", &written), 0);
  ASSERT_EQ(fs_->Flush(a.fh), 0);
  fs_->Release(a.fh);
  EXPECT_EQ(KvGet("log"), "first\nsecond\nthird\n");
  fs_->Release(b.fh);
  EXPECT_EQ(KvGet("log"), "first\nsecond\nthird\n");
}

TEST_F(FilesystemTest, TruncatingOpenWithoutWritesEmptiesTheFile) {
  Seed({{"f", "old contents"}});
  Entry entry = LookupPath("f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY | O_TRUNC, &opened), 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "");
  EXPECT_EQ(Stat(entry.node).st_size, 0);
}

TEST_F(FilesystemTest, TruncatingCreateOfExistingFileEmptiesIt) {
  Seed({{"f", "old contents"}});
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "f", 0644, O_WRONLY | O_CREAT | O_TRUNC, {}, &entry, &opened),
            0);
  EXPECT_EQ(entry.attr.st_size, 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "");
}

TEST_F(FilesystemTest, SetAttrSizeTruncatesAndExtendsWithZeros) {
  Seed({{"f", "0123456789"}});
  Entry entry = LookupPath("f");
  struct stat st;
  SetAttrRequest shrink;
  shrink.size = 4;
  ASSERT_EQ(fs_->SetAttr(entry.node, 0, shrink, &st), 0);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(KvGet("f"), "0123");
  SetAttrRequest grow;
  grow.size = 8;
  ASSERT_EQ(fs_->SetAttr(entry.node, 0, grow, &st), 0);
  EXPECT_EQ(st.st_size, 8);
  EXPECT_EQ(KvGet("f"), "0123"s + std::string(4, '\0'));
  // With a writer open: every descriptor sees the new size at once; the
  // store gets it with the writer's commit.
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_RDWR, &opened), 0);
  SetAttrRequest handle_shrink;
  handle_shrink.size = 2;
  ASSERT_EQ(fs_->SetAttr(entry.node, opened.fh, handle_shrink, &st), 0);
  EXPECT_EQ(st.st_size, 2);
  EXPECT_EQ(Stat(entry.node).st_size, 2);
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "01");
  EXPECT_EQ(KvGet("f"), "0123"s + std::string(4, '\0'));
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "01");
  EXPECT_EQ(Stat(entry.node).st_size, 2);
}

TEST_F(FilesystemTest, OpenTruncateEmptiesTheFileForEveryDescriptorAtOnce) {
  Seed({{"f", "old value"}});
  Entry entry = LookupPath("f");
  OpenResult reader, writer;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "old value");
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY | O_TRUNC, &writer), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "");
  EXPECT_EQ(Stat(entry.node).st_size, 0);
  EXPECT_EQ(KvGet("f"), "old value");  // the store changes at commit
  size_t written = 0;
  ASSERT_EQ(fs_->Write(writer.fh, 0, "new", &written), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "new");
  ASSERT_EQ(fs_->Flush(writer.fh), 0);
  EXPECT_EQ(KvGet("f"), "new");
  fs_->Release(writer.fh);
  fs_->Release(reader.fh);
  EXPECT_EQ(KvGet("f"), "new");
}

TEST_F(FilesystemTest, TruncateWithOnlyReadersOpenIsCommittedAtOnce) {
  Seed({{"f", "old value"}});
  Entry entry = LookupPath("f");
  OpenResult reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);
  SetAttrRequest truncate;
  truncate.size = 3;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(entry.node, 0, truncate, &st), 0);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(KvGet("f"), "old");
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "old");
  fs_->Release(reader.fh);
  EXPECT_EQ(KvGet("f"), "old");
}

TEST_F(FilesystemTest, WritesAreSeenThroughEveryDescriptorAtOnceAndReachTheStoreAtFlush) {
  Seed({{"f", "committed"}});
  Entry entry = LookupPath("f");
  OpenResult writer, reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDWR, &writer), 0);
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(writer.fh, 0, "PENDING!!", &written), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "PENDING!!");
  EXPECT_EQ(ReadHandle(entry.node, writer.fh), "PENDING!!");
  OpenResult late_reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &late_reader), 0);
  EXPECT_EQ(ReadHandle(entry.node, late_reader.fh), "PENDING!!");
  EXPECT_EQ(KvGet("f"), "committed");  // other readers of the store: old value
  ASSERT_EQ(fs_->Flush(writer.fh), 0);
  EXPECT_EQ(KvGet("f"), "PENDING!!");
  fs_->Release(writer.fh);
  fs_->Release(reader.fh);
  fs_->Release(late_reader.fh);
}

TEST_F(FilesystemTest, ReaderSeesAnotherDescriptorsTruncateAndWrite) {
  Seed({{"f", "old"}});
  Entry entry = LookupPath("f");
  OpenResult reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);
  ASSERT_EQ(WriteFile(kRootNode, "f", "new value"), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "new value");
  fs_->Release(reader.fh);
  EXPECT_EQ(ReadAll(entry.node), "new value");
}

TEST_F(FilesystemTest, DisjointWritesFromTwoDescriptorsBothLand) {
  Seed({{"f", std::string(8, '.')}});
  Entry entry = LookupPath("f");
  OpenResult first, second;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &first), 0);
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &second), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(first.fh, 0, "AAAA", &written), 0);
  ASSERT_EQ(fs_->Write(second.fh, 4, "BBBB", &written), 0);
  ASSERT_EQ(fs_->Flush(second.fh), 0);
  EXPECT_EQ(KvGet("f"), "AAAABBBB");  // a close commits the file, not the descriptor
  fs_->Release(second.fh);
  ASSERT_EQ(fs_->Write(first.fh, 8, "CC", &written), 0);
  fs_->Release(first.fh);
  EXPECT_EQ(KvGet("f"), "AAAABBBBCC");
}

TEST_F(FilesystemTest, FileKeptOpenForWritingIsCommittedEveryCommitInterval) {
  options_.commit_interval_ns = 50'000'000;  // 50 ms
  RecreateFilesystem();
  Seed({{"log", ""}});
  Entry entry = LookupPath("log");
  OpenResult writer;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &writer), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(writer.fh, 0, "line 1\n", &written), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (KvGet("log") != "line 1\n" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(KvGet("log"), "line 1\n") << "not committed while the writer stays open";
  fs_->Release(writer.fh);
}

TEST_F(FilesystemTest, NoCommitIntervalMeansOnlyCloseCommits) {
  options_.commit_interval_ns = 0;
  RecreateFilesystem();
  Seed({{"f", "old"}});
  Entry entry = LookupPath("f");
  OpenResult writer;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &writer), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(writer.fh, 0, "new", &written), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(KvGet("f"), "old");
  ASSERT_EQ(fs_->Flush(writer.fh), 0);
  EXPECT_EQ(KvGet("f"), "new");
  fs_->Release(writer.fh);
}

TEST_F(FilesystemTest, WriteBeyondMaxValueSizeFailsWithEfbigAndCommitsNothing) {
  options_.max_value_size = 1 << 20;
  RecreateFilesystem();
  Seed({{"big", "old"}});
  Entry entry = LookupPath("big");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &opened), 0);
  size_t written = 0;
  std::string chunk((1 << 20) - 10, 'z');
  EXPECT_EQ(fs_->Write(opened.fh, 20, chunk, &written), EFBIG);
  EXPECT_EQ(fs_->Write(opened.fh, 1 << 20, "x", &written), EFBIG);
  EXPECT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("big"), "old");
  // Exactly max_value_size fits.
  ASSERT_EQ(WriteFile(kRootNode, "big", std::string(1 << 20, 'q')), 0);
  EXPECT_EQ(KvGet("big")->size(), size_t{1} << 20);
  // Growing past it with truncate fails too.
  SetAttrRequest grow;
  grow.size = (1 << 20) + 1;
  struct stat st;
  EXPECT_EQ(fs_->SetAttr(entry.node, 0, grow, &st), EFBIG);
  EXPECT_EQ(KvGet("big")->size(), size_t{1} << 20);
}

TEST_F(FilesystemTest, FileUnlinkedWhileOpenStaysReadableAndIsNotResurrected) {
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "tmp", 0644, O_RDWR | O_CREAT, {}, &entry, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "scratch", &written), 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  EXPECT_EQ(KvGet("tmp"), "scratch");
  OpenResult reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);

  ASSERT_EQ(fs_->Unlink(kRootNode, "tmp"), 0);
  EXPECT_EQ(KvGet("tmp"), std::nullopt);
  EXPECT_FALSE(Exists(kRootNode, "tmp"));
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "scratch");
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "scratch");
  ASSERT_EQ(fs_->Write(opened.fh, 7, " more", &written), 0);
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "scratch more");
  struct stat st = Stat(entry.node);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(fs_->Flush(opened.fh), 0);
  EXPECT_EQ(fs_->Fsync(opened.fh, false), 0);
  EXPECT_EQ(KvGet("tmp"), std::nullopt);
  fs_->Release(opened.fh);
  fs_->Release(reader.fh);
  EXPECT_EQ(KvGet("tmp"), std::nullopt);
  EXPECT_FALSE(Exists(kRootNode, "tmp"));
  fs_->Forget(entry.node, 1);
}

TEST_F(FilesystemTest, UnlinkedFileDoesNotOverwriteARecreatedOne) {
  ASSERT_EQ(WriteFile(kRootNode, "f", "v1"), 0);
  Entry entry = LookupPath("f");
  OpenResult old_handle;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &old_handle), 0);
  ASSERT_EQ(fs_->Unlink(kRootNode, "f"), 0);
  ASSERT_EQ(WriteFile(kRootNode, "f", "recreated"), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(old_handle.fh, 0, "stale", &written), 0);
  EXPECT_EQ(fs_->Flush(old_handle.fh), 0);
  fs_->Release(old_handle.fh);
  EXPECT_EQ(KvGet("f"), "recreated");
}

TEST_F(FilesystemTest, UnlinkedFileOpenForReadingKeepsItsSize) {
  Seed({{"f", "1234567"}});
  Entry entry = LookupPath("f");
  OpenResult reader;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &reader), 0);
  ASSERT_EQ(fs_->Unlink(kRootNode, "f"), 0);
  EXPECT_EQ(ReadHandle(entry.node, reader.fh), "1234567");
  EXPECT_EQ(Stat(entry.node).st_size, 7);
  fs_->Release(reader.fh);
}

TEST_F(FilesystemTest, FsyncAndReleaseCommitPendingWrites) {
  Seed({{"f", "old"}});
  Entry entry = LookupPath("f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "synced", &written), 0);
  ASSERT_EQ(fs_->Fsync(opened.fh, false), 0);
  EXPECT_EQ(KvGet("f"), "synced");
  // Writes after the last flush (mmap) are committed at release.
  ASSERT_EQ(fs_->Write(opened.fh, 0, "SYNCED", &written), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "SYNCED");
  Reopen();
  EXPECT_EQ(KvGet("f"), "SYNCED");
}

TEST_F(FilesystemTest, CreateOfExistingFileWithoutTruncKeepsItsContents) {
  Seed({{"f", "keep me"}});
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "f", 0644, O_RDWR | O_CREAT, {}, &entry, &opened), 0);
  EXPECT_EQ(entry.attr.st_size, 7);
  EXPECT_EQ(ReadHandle(entry.node, opened.fh), "keep me");
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "keep me");
}

TEST_F(FilesystemTest, GetAttrAndLookupShowTheSizeOfUncommittedWrites) {
  Seed({{"f", "12345"}});
  Entry entry = LookupPath("f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &opened), 0);
  EXPECT_FALSE(opened.direct_io);  // writers share the page cache too
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 100, "x", &written), 0);
  EXPECT_EQ(Stat(entry.node).st_size, 101);
  EXPECT_EQ(LookupPath("f").attr.st_size, 101);
  fs_->Forget(entry.node, 1);
  EXPECT_EQ(KvGet("f")->size(), 5u);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(Stat(entry.node).st_size, 101);
  EXPECT_EQ(KvGet("f")->size(), 101u);
}

TEST_F(FilesystemTest, WriteOnReadOnlyHandleFailsWithEbadf) {
  Seed({{"f", "x"}});
  Entry entry = LookupPath("f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_RDONLY, &opened), 0);
  EXPECT_TRUE(opened.noflush);
  size_t written = 0;
  EXPECT_EQ(fs_->Write(opened.fh, 0, "y", &written), EBADF);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("f"), "x");
}

TEST_F(FilesystemTest, OpeningADirectoryAsAFileFailsWithEisdir) {
  Seed({{"d/x", "x"}});
  OpenResult opened;
  EXPECT_EQ(fs_->Open(Dir("d"), O_RDONLY, &opened), EISDIR);
  ReadResult result;
  EXPECT_EQ(fs_->Read(Dir("d"), 0, 0, 10, &result), EISDIR);
}

// ---------------------------------------------------------------------------
// 6. Create.

TEST_F(FilesystemTest, CreateRejectsBadNamesAndExistingFiles) {
  Seed({{"exists", "v"}, {"dir/x", "x"}});
  struct Case {
    std::string name;
    int flags;
    int expected;
  };
  const std::vector<Case> cases = {
      {"exists", O_WRONLY | O_CREAT | O_EXCL, EEXIST},
      {"dir", O_WRONLY | O_CREAT | O_EXCL, EEXIST},
      {"dir", O_WRONLY | O_CREAT, EISDIR},
      {std::string(256, 'n'), O_WRONLY | O_CREAT, ENAMETOOLONG},
      {"%{41}", O_WRONLY | O_CREAT, EINVAL},  // "A" has one spelling
      {"a%{2F}b", O_WRONLY | O_CREAT, EINVAL},  // would hold the delimiter
      {"lonely%{@}", O_WRONLY | O_CREAT, EINVAL},  // no directory "lonely"
      {"%{}%{}", O_WRONLY | O_CREAT, EINVAL},
      {"x%{y}", O_WRONLY | O_CREAT, EINVAL},  // "%{" opens no escape: "x%{25}{y}"
      // A hashed name stands for a component too long to name: no key has
      // this one, and creating it could not give it one.
      {codec_.Encode(std::string(300, 'q'), NameRole::kPlain, true), O_WRONLY | O_CREAT, EINVAL},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name.substr(0, 20));
    Entry entry;
    OpenResult opened;
    EXPECT_EQ(fs_->Create(kRootNode, c.name, 0644, c.flags, {}, &entry, &opened), c.expected);
  }
  EXPECT_EQ(KvGet("exists"), "v");
  EXPECT_EQ(KvGet("A"), std::nullopt);
  EXPECT_EQ(KvGet("lonely"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"dir", "exists"}));
}

TEST_F(FilesystemTest, NamesPeopleUseWithPercentAreLiteral) {
  const std::vector<std::string> names = {"My%20File.pdf", "caf%C3%A9.txt", "a%2Bb", "100%",
                                          "50%off.txt", "%", "%}", "{}"};
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    ASSERT_EQ(WriteFile(kRootNode, name, "value of " + name), 0);
  }
  EXPECT_EQ(KvGet("My%20File.pdf"), "value of My%20File.pdf");
  EXPECT_EQ(KvGet("caf%C3%A9.txt"), "value of caf%C3%A9.txt");
  EXPECT_EQ(KvGet("a%2Bb"), "value of a%2Bb");
  EXPECT_EQ(KvGet("100%"), "value of 100%");
  EXPECT_EQ(KvGet("50%off.txt"), "value of 50%off.txt");
  EXPECT_EQ(KvGet("%"), "value of %");
  EXPECT_EQ(KvGet("%}"), "value of %}");
  EXPECT_EQ(KvGet("{}"), "value of {}");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"My%20File.pdf", "caf%C3%A9.txt", "a%2Bb",
                                               "100%", "50%off.txt", "%", "%}", "{}"}));
  ASSERT_EQ(fs_->Rename(kRootNode, "My%20File.pdf", kRootNode, "My%2520File.pdf", 0), 0);
  EXPECT_EQ(KvGet("My%2520File.pdf"), "value of My%20File.pdf");
  EXPECT_EQ(ReadPath("My%2520File.pdf"), "value of My%20File.pdf");
}

TEST_F(FilesystemTest, CreateRejectsPercentBraceThatOpensNoEscape) {
  // The one '%' rocksfs escapes in a name is a '%' before '{'.
  Entry entry;
  OpenResult opened;
  for (const std::string name : {"%{", "%%{", "x%{y}", "%{41}", "%{2f}", "%{FF}%{FE}"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(fs_->Create(kRootNode, name, 0644, O_WRONLY | O_CREAT, {}, &entry, &opened), EINVAL);
  }
  ASSERT_EQ(WriteFile(kRootNode, "%{25}{", "v"), 0);
  ASSERT_EQ(WriteFile(kRootNode, "x%{25}{y}", "w"), 0);
  EXPECT_EQ(KvGet("%{"), "v");
  EXPECT_EQ(KvGet("x%{y}"), "w");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"%{25}{", "x%{25}{y}"}));
}

TEST_F(FilesystemTest, CreateOfExactly255ByteNameWorks) {
  std::string name(255, 'n');
  ASSERT_EQ(WriteFile(kRootNode, name, "v"), 0);
  EXPECT_EQ(KvGet(name), "v");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({name}));
}

TEST_F(FilesystemTest, CreateOfDirValueNameWritesTheDirectorysKey) {
  Seed({{"blue/x", "X"}});
  ASSERT_EQ(WriteFile(kRootNode, "blue%{@}", "value of blue"), 0);
  EXPECT_EQ(KvGet("blue"), "value of blue");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"blue", "blue%{@}"}));
}

TEST_F(FilesystemTest, CreateInReadOnlyStoreFailsWithErofs) {
  Seed({{"f", "v"}, {"d/x", "x"}});
  Reopen(kv::OpenMode::kReadOnly);
  ASSERT_TRUE(fs_->read_only());
  Entry entry;
  OpenResult opened;
  EXPECT_EQ(fs_->Create(kRootNode, "new", 0644, O_WRONLY | O_CREAT, {}, &entry, &opened), EROFS);
  EXPECT_EQ(fs_->Mkdir(kRootNode, "nd", 0755, {}, &entry), EROFS);
  EXPECT_EQ(fs_->Unlink(kRootNode, "f"), EROFS);
  EXPECT_EQ(fs_->Rename(kRootNode, "f", kRootNode, "g", 0), EROFS);
  Entry f = LookupPath("f");
  EXPECT_EQ(fs_->Open(f.node, O_WRONLY, &opened), EROFS);
  EXPECT_EQ(fs_->SetXattr(f.node, "user.a", "b", 0), EROFS);
  // Reading still works.
  EXPECT_EQ(ReadAll(f.node), "v");
  EXPECT_EQ(ReadPath("d/x"), "x");
  struct statvfs sv;
  ASSERT_EQ(fs_->StatFs(&sv), 0);
  EXPECT_TRUE(sv.f_flag & ST_RDONLY);
}

// ---------------------------------------------------------------------------
// 7. Directories.

TEST_F(FilesystemTest, MkdirIsListedAndSurvivesReopen) {
  Entry entry;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "empty", 0750, {}, &entry), 0);
  EXPECT_TRUE(S_ISDIR(entry.attr.st_mode));
  EXPECT_EQ(entry.attr.st_mode & 07777, 0750u);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"empty"}));
  EXPECT_EQ(Sorted(List(entry.node)), WithDots({}));
  Entry nested;
  ASSERT_EQ(fs_->Mkdir(entry.node, "nested", 0755, {}, &nested), 0);
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"empty"}));
  Entry again = LookupPath("empty");
  ASSERT_NE(again.node, 0u);
  EXPECT_TRUE(S_ISDIR(again.attr.st_mode));
  EXPECT_EQ(again.attr.st_mode & 07777, 0750u);
  EXPECT_EQ(Sorted(ListPath("empty")), WithDots({"nested"}));
  // No data key was written for a directory.
  EXPECT_TRUE(KvScan("").empty());
}

TEST_F(FilesystemTest, CreateInARemovedDirectoryFailsWithEnoent) {
  Entry made;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "m", 0755, {}, &made), 0);
  ASSERT_EQ(fs_->Rmdir(kRootNode, "m"), 0);
  Entry entry;
  OpenResult opened;
  int err = fs_->Create(made.node, "f", 0644, O_WRONLY | O_CREAT, {}, &entry, &opened);
  if (err == 0) fs_->Release(opened.fh);
  EXPECT_EQ(err, ENOENT);
  EXPECT_EQ(fs_->Mkdir(made.node, "sub", 0755, {}, &entry), ENOENT);
  EXPECT_EQ(KvGet("m/f"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
}

TEST_F(FilesystemTest, MkdirOfAnExistingNameFailsWithEexist) {
  Seed({{"file", "v"}, {"implied/x", "x"}});
  Entry entry;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "made", 0755, {}, &entry), 0);
  for (const char* name : {"made", "file", "implied"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(fs_->Mkdir(kRootNode, name, 0755, {}, &entry), EEXIST);
  }
  EXPECT_EQ(KvGet("file"), "v");
}

TEST_F(FilesystemTest, RmdirOfNonEmptyDirectoryFailsAndChangesNothing) {
  Seed({{"d/x", "x"}});
  Entry made, sub;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "m", 0755, {}, &made), 0);
  ASSERT_EQ(fs_->Mkdir(made.node, "sub", 0755, {}, &sub), 0);
  EXPECT_EQ(fs_->Rmdir(kRootNode, "d"), ENOTEMPTY);
  EXPECT_EQ(fs_->Rmdir(kRootNode, "m"), ENOTEMPTY);
  EXPECT_EQ(KvGet("d/x"), "x");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d", "m"}));
  EXPECT_EQ(Sorted(ListPath("m")), WithDots({"sub"}));
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d", "m"}));
  EXPECT_EQ(Sorted(ListPath("m")), WithDots({"sub"}));
}

TEST_F(FilesystemTest, RmdirOfEmptyDirectoryRemovesIt) {
  Entry made;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "m", 0755, {}, &made), 0);
  ASSERT_EQ(fs_->Rmdir(kRootNode, "m"), 0);
  EXPECT_FALSE(Exists(kRootNode, "m"));
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
  EXPECT_EQ(fs_->Rmdir(kRootNode, "m"), ENOENT);
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
}

TEST_F(FilesystemTest, RemovalOfTheWrongTypeFails) {
  Seed({{"file", "v"}, {"dir/x", "x"}});
  EXPECT_EQ(fs_->Rmdir(kRootNode, "file"), ENOTDIR);
  EXPECT_EQ(fs_->Unlink(kRootNode, "dir"), EISDIR);
  EXPECT_EQ(fs_->Unlink(kRootNode, "missing"), ENOENT);
  EXPECT_EQ(fs_->Rmdir(kRootNode, "missing"), ENOENT);
  EXPECT_EQ(KvGet("file"), "v");
  EXPECT_EQ(KvGet("dir/x"), "x");
}

TEST_F(FilesystemTest, RemovingLastFileOfImpliedDirectoryKeepsTheDirectory) {
  Seed({{"d/only", "v"}});
  ASSERT_EQ(fs_->Unlink(Dir("d"), "only"), 0);
  EXPECT_EQ(KvGet("d/only"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d"}));
  EXPECT_TRUE(S_ISDIR(LookupPath("d").attr.st_mode));
  EXPECT_EQ(Sorted(ListPath("d")), WithDots({}));
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d"}));
  EXPECT_TRUE(S_ISDIR(LookupPath("d").attr.st_mode));
  ASSERT_EQ(fs_->Rmdir(kRootNode, "d"), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
}

TEST_F(FilesystemTest, RemovingLastFileOfNestedImpliedDirectoryKeepsItsAncestors) {
  Seed({{"a/b/only", "v"}});
  NodeId b = Dir("a/b");
  ASSERT_EQ(fs_->Unlink(b, "only"), 0);
  EXPECT_EQ(KvGet("a/b/only"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"a"}));
  EXPECT_EQ(Sorted(ListPath("a")), WithDots({"b"}));
  EXPECT_EQ(Sorted(ListPath("a/b")), WithDots({}));
  Reopen();
  EXPECT_EQ(Sorted(ListPath("a")), WithDots({"b"}));
  EXPECT_TRUE(S_ISDIR(LookupPath("a/b").attr.st_mode));
  // And it can be removed like any empty directory, leaving "a" behind.
  ASSERT_EQ(fs_->Rmdir(Dir("a"), "b"), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"a"}));
  EXPECT_EQ(Sorted(ListPath("a")), WithDots({}));
}

TEST_F(FilesystemTest, RemovingSiblingsInEitherOrderKeepsTheDirectory) {
  // Every removal writes the directory's record (its new mtime and ctime),
  // which also keeps it alive after the last one.
  for (bool forward : {true, false}) {
    SCOPED_TRACE(forward ? "in key order" : "in reverse key order");
    KeyValues pairs;
    Names names;
    for (int i = 0; i < 20; ++i) {
      std::string name = "f" + std::to_string(100 + i);
      pairs.emplace_back("d/" + name, "v");
      names.push_back(name);
    }
    Seed(pairs);
    if (!forward) std::reverse(names.begin(), names.end());
    NodeId d = Dir("d");
    for (size_t i = 0; i < names.size(); ++i) {
      ASSERT_EQ(fs_->Unlink(d, names[i]), 0);
      EXPECT_EQ(ListPath("d").size(), 2 + names.size() - i - 1);
      EXPECT_TRUE(KvGetMeta("d/").has_value()) << "after " << names[i];
    }
    EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d"}));
    ASSERT_EQ(fs_->Rmdir(kRootNode, "d"), 0);
    EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
  }
}

TEST_F(FilesystemTest, FileAndDirectoryKeptByADeeperMarkerAreListedOnce) {
  Seed({{"a", "value of a"}, {"a/b/only", "v"}});
  ASSERT_EQ(fs_->Unlink(Dir("a/b"), "only"), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"a", "a%{@}"}));
  EXPECT_EQ(Sorted(List(kRootNode, true)), WithDots({"a", "a%{@}"}));
  EXPECT_EQ(ReadPath("a%{@}"), "value of a");
}

TEST_F(FilesystemTest, UnlinkingADirectoryValueKeepsTheDirectory) {
  Seed({{"blue", "v"}, {"blue/x", "x"}});
  ASSERT_EQ(fs_->Unlink(kRootNode, "blue%{@}"), 0);
  EXPECT_EQ(KvGet("blue"), std::nullopt);
  EXPECT_EQ(KvGet("blue/x"), "x");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"blue"}));
}

// ---------------------------------------------------------------------------
// 8. Rename.

TEST_F(FilesystemTest, RenameOfFileMovesItsValue) {
  Seed({{"src", "payload"}, {"d/other", "o"}});
  ASSERT_EQ(fs_->Rename(kRootNode, "src", Dir("d"), "dst", 0), 0);
  EXPECT_EQ(KvGet("src"), std::nullopt);
  EXPECT_EQ(KvGet("d/dst"), "payload");
  EXPECT_FALSE(Exists(kRootNode, "src"));
  EXPECT_EQ(ReadPath("d/dst"), "payload");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d"}));
}

TEST_F(FilesystemTest, RenameOverExistingFileReplacesIt) {
  Seed({{"a", "A"}, {"b", "B"}});
  ASSERT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "b", 0), 0);
  EXPECT_EQ(KvGet("a"), std::nullopt);
  EXPECT_EQ(KvGet("b"), "A");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"b"}));
}

TEST_F(FilesystemTest, RenameNoReplaceOntoExistingFileFailsWithEexist) {
  Seed({{"a", "A"}, {"b", "B"}});
  EXPECT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "b", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(KvGet("a"), "A");
  EXPECT_EQ(KvGet("b"), "B");
  ASSERT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "c", RENAME_NOREPLACE), 0);
  EXPECT_EQ(KvGet("c"), "A");
}

TEST_F(FilesystemTest, RenameExchangeSwapsTwoFiles) {
  Seed({{"a", "A"}, {"d/b", "BB"}});
  Entry a = LookupPath("a");
  Entry b = LookupPath("d/b");
  ASSERT_EQ(fs_->Rename(kRootNode, "a", Dir("d"), "b", RENAME_EXCHANGE), 0);
  EXPECT_EQ(KvGet("a"), "BB");
  EXPECT_EQ(KvGet("d/b"), "A");
  EXPECT_EQ(ReadPath("a"), "BB");
  EXPECT_EQ(ReadPath("d/b"), "A");
  // The nodes moved with their files.
  EXPECT_EQ(ReadAll(a.node), "A");
  EXPECT_EQ(ReadAll(b.node), "BB");
  EXPECT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "missing", RENAME_EXCHANGE), ENOENT);
}

TEST_F(FilesystemTest, RenameOfDirectoryMovesEveryKeyWithItsValue) {
  KeyValues pairs;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 100; ++i) {
    std::string rest = (i % 3 ? "sub" + std::to_string(i % 5) + "/" : ""s) + "k" + std::to_string(i);
    std::string value = "value\0"s + std::to_string(i * 7919);
    pairs.emplace_back("old/" + rest, value);
    expected["new/" + rest] = value;
  }
  pairs.emplace_back("old", "the value of old stays");
  pairs.emplace_back("old.txt", "sibling");
  Seed(pairs);
  Entry made;
  ASSERT_EQ(fs_->Mkdir(Dir("old"), "emptysub", 0700, {}, &made), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "old", kRootNode, "new", 0), 0);
  EXPECT_EQ(KvScan("old/"), (std::map<std::string, std::string>{}));
  EXPECT_EQ(KvScan("new/"), expected);
  EXPECT_EQ(KvGet("old.txt"), "sibling");
  EXPECT_EQ(KvGet("old"), "the value of old stays");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"new", "old", "old.txt"}));
  // 34 files k0, k3, ..., k99; sub0..sub4 and emptysub.
  EXPECT_EQ(ListPath("new").size(), 2u + 6u + 34u);
  EXPECT_TRUE(Exists(Dir("new"), "emptysub"));
  EXPECT_EQ(LookupPath("new/emptysub").attr.st_mode & 07777, 0700u);
  EXPECT_EQ(ReadPath("new/sub1/k1"), expected["new/sub1/k1"]);
  Reopen();
  EXPECT_TRUE(Exists(Dir("new"), "emptysub"));
  EXPECT_EQ(Sorted(ListPath("new/emptysub")), WithDots({}));
}

TEST_F(FilesystemTest, RenameOfDirectoryIntoItsOwnSubtreeFailsWithEinval) {
  Seed({{"d/sub/x", "x"}});
  EXPECT_EQ(fs_->Rename(kRootNode, "d", Dir("d/sub"), "inside", 0), EINVAL);
  EXPECT_EQ(fs_->Rename(kRootNode, "d", Dir("d"), "d2", 0), EINVAL);
  EXPECT_EQ(KvGet("d/sub/x"), "x");
  // Renaming onto itself changes nothing.
  EXPECT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "d", 0), 0);
  EXPECT_EQ(KvGet("d/sub/x"), "x");
}

TEST_F(FilesystemTest, RenameOfDirectoryOverNonEmptyDirectoryFailsWithEnotempty) {
  Seed({{"a/x", "x"}, {"b/y", "y"}});
  EXPECT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "b", 0), ENOTEMPTY);
  EXPECT_EQ(KvGet("a/x"), "x");
  EXPECT_EQ(KvGet("b/y"), "y");
  EXPECT_EQ(KvGet("b/x"), std::nullopt);
}

TEST_F(FilesystemTest, RenameOfDirectoryOverEmptyDirectoryReplacesIt) {
  Seed({{"a/x", "x"}});
  Entry made;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "b", 0755, {}, &made), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "b", 0), 0);
  EXPECT_EQ(KvGet("a/x"), std::nullopt);
  EXPECT_EQ(KvGet("b/x"), "x");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"b"}));
  EXPECT_EQ(Sorted(ListPath("b")), WithDots({"x"}));
  // An empty (mkdir'd) directory over another empty one.
  Entry c, e;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "c", 0755, {}, &c), 0);
  ASSERT_EQ(fs_->Mkdir(kRootNode, "e", 0755, {}, &e), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "c", kRootNode, "e", 0), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"b", "e"}));
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"b", "e"}));
}

TEST_F(FilesystemTest, RenameOfDirectoryOntoAValueNameFailsAndMovesNothing) {
  // "x%{@}" names the value of key "x", a file slot: a directory cannot go
  // there, and must never be merged into directory "x".
  Seed({{"d/k", "from d"}, {"x/k", "from x"}, {"x/other", "o"}});
  EXPECT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "x%{@}", 0), EINVAL);
  EXPECT_EQ(KvGet("d/k"), "from d");
  EXPECT_EQ(KvGet("x/k"), "from x");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"d", "x"}));
}

TEST_F(FilesystemTest, RenameOfFileIntoAndOutOfAValueName) {
  Seed({{"blue/x", "X"}, {"src", "value"}});
  ASSERT_EQ(fs_->Rename(kRootNode, "src", kRootNode, "blue%{@}", 0), 0);
  EXPECT_EQ(KvGet("blue"), "value");
  EXPECT_EQ(KvGet("src"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"blue", "blue%{@}"}));
  ASSERT_EQ(fs_->Rename(kRootNode, "blue%{@}", Dir("blue"), "y", 0), 0);
  EXPECT_EQ(KvGet("blue"), std::nullopt);
  EXPECT_EQ(KvGet("blue/y"), "value");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"blue"}));
  // No directory "none": "none%{@}" names no file slot.
  EXPECT_EQ(fs_->Rename(Dir("blue"), "y", kRootNode, "none%{@}", 0), EINVAL);
  EXPECT_EQ(KvGet("blue/y"), "value");
}

TEST_F(FilesystemTest, RenameOverAnOpenFileDetachesItsHandle) {
  Seed({{"a", "A"}, {"b", "B"}});
  Entry b = LookupPath("b");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(b.node, O_WRONLY, &opened), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "a", kRootNode, "b", 0), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "stale writer", &written), 0);
  EXPECT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("b"), "A");
  EXPECT_EQ(KvGet("a"), std::nullopt);
}

TEST_F(FilesystemTest, RenameBetweenFileAndDirectoryFails) {
  Seed({{"file", "f"}, {"dir/x", "x"}, {"other/y", "y"}});
  EXPECT_EQ(fs_->Rename(kRootNode, "file", kRootNode, "dir", 0), EISDIR);
  EXPECT_EQ(fs_->Rename(kRootNode, "dir", kRootNode, "file", 0), ENOTDIR);
  EXPECT_EQ(fs_->Rename(kRootNode, "dir", kRootNode, "other", RENAME_EXCHANGE), EINVAL);
  EXPECT_EQ(fs_->Rename(kRootNode, "missing", kRootNode, "x", 0), ENOENT);
  EXPECT_EQ(KvGet("file"), "f");
  EXPECT_EQ(KvGet("dir/x"), "x");
}

TEST_F(FilesystemTest, RenameOfDirectoryPastMaxRenameKeysFailsWithExdev) {
  options_.max_rename_keys = 50;
  RecreateFilesystem();
  KeyValues pairs;
  for (int i = 0; i < 100; ++i) pairs.emplace_back("big/k" + std::to_string(i), "v");
  for (int i = 0; i < 50; ++i) pairs.emplace_back("fits/k" + std::to_string(i), "v");
  Seed(pairs);
  EXPECT_EQ(fs_->Rename(kRootNode, "big", kRootNode, "moved", 0), EXDEV);
  EXPECT_EQ(KvScan("big/").size(), 100u);
  EXPECT_TRUE(KvScan("moved/").empty());
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"big", "fits"}));
  ASSERT_EQ(fs_->Rename(kRootNode, "fits", kRootNode, "moved", 0), 0);
  EXPECT_EQ(KvScan("moved/").size(), 50u);
}

TEST_F(FilesystemTest, RenamedOpenFileCommitsToItsNewKey) {
  Seed({{"old", "v1"}});
  Entry entry = LookupPath("old");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "v2", &written), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "old", kRootNode, "new", 0), 0);
  EXPECT_EQ(KvGet("new"), "v1");
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("new"), "v2");
  EXPECT_EQ(KvGet("old"), std::nullopt);
}

TEST_F(FilesystemTest, OpenFileInRenamedDirectoryCommitsUnderTheNewPrefix) {
  Seed({{"d/f", "v1"}});
  Entry entry = LookupPath("d/f");
  OpenResult opened;
  ASSERT_EQ(fs_->Open(entry.node, O_WRONLY, &opened), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "v2", &written), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "e", 0), 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  EXPECT_EQ(KvGet("e/f"), "v2");
  EXPECT_EQ(KvGet("d/f"), std::nullopt);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"e"}));
}

TEST_F(FilesystemTest, RenamingLastFileOutOfImpliedDirectoryKeepsIt) {
  Seed({{"a/f", "v"}});
  ASSERT_EQ(fs_->Rename(Dir("a"), "f", kRootNode, "f", 0), 0);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"a", "f"}));
  Reopen();
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"a", "f"}));
}

// ---------------------------------------------------------------------------
// 9. Symlinks, links, device nodes.

TEST_F(FilesystemTest, SymlinkReadsBackItsTarget) {
  Entry entry;
  ASSERT_EQ(fs_->Symlink("../some/target", kRootNode, "link", {}, &entry), 0);
  EXPECT_TRUE(S_ISLNK(entry.attr.st_mode));
  std::string target;
  ASSERT_EQ(fs_->Readlink(entry.node, &target), 0);
  EXPECT_EQ(target, "../some/target");
  EXPECT_EQ(KvGet("link"), "../some/target");
  Reopen();
  Entry again = LookupPath("link");
  EXPECT_TRUE(S_ISLNK(again.attr.st_mode));
  ASSERT_EQ(fs_->Readlink(again.node, &target), 0);
  EXPECT_EQ(target, "../some/target");
  // A plain file is not a link.
  Seed({{"plain", "x"}});
  EXPECT_EQ(fs_->Readlink(LookupPath("plain").node, &target), EINVAL);
  EXPECT_EQ(fs_->Symlink("t", kRootNode, "plain", {}, &entry), EEXIST);
}

TEST_F(FilesystemTest, MknodOfARegularFileMakesAnEmptyKey) {
  // Special files and hard links: tests/fs/links_test.cc.
  Entry entry;
  ASSERT_EQ(fs_->Mknod(kRootNode, "reg", S_IFREG | 0600, 0, {}, &entry), 0);
  EXPECT_EQ(KvGet("reg"), "");
  EXPECT_EQ(entry.attr.st_mode & 07777, 0600u);
}

// ---------------------------------------------------------------------------
// 10. Extended attributes and nometa.

TEST_F(FilesystemTest, XattrsSetGetListRemove) {
  Seed({{"f", "v"}});
  NodeId f = LookupPath("f").node;
  ASSERT_EQ(fs_->SetXattr(f, "user.color", "blue", 0), 0);
  ASSERT_EQ(fs_->SetXattr(f, "user.bin", "\0\xff"s, 0), 0);
  std::string value;
  ASSERT_EQ(fs_->GetXattr(f, "user.color", &value), 0);
  EXPECT_EQ(value, "blue");
  ASSERT_EQ(fs_->GetXattr(f, "user.bin", &value), 0);
  EXPECT_EQ(value, "\0\xff"s);
  std::string names;
  ASSERT_EQ(fs_->ListXattr(f, &names), 0);
  EXPECT_EQ(names, "user.bin\0user.color\0"s);
  ASSERT_EQ(fs_->RemoveXattr(f, "user.color"), 0);
  EXPECT_EQ(fs_->GetXattr(f, "user.color", &value), ENODATA);
  EXPECT_EQ(fs_->RemoveXattr(f, "user.color"), ENODATA);
  ASSERT_EQ(fs_->ListXattr(f, &names), 0);
  EXPECT_EQ(names, "user.bin\0"s);
  // The data is untouched.
  EXPECT_EQ(KvGet("f"), "v");
  Reopen();
  f = LookupPath("f").node;
  ASSERT_EQ(fs_->GetXattr(f, "user.bin", &value), 0);
  EXPECT_EQ(value, "\0\xff"s);
}

TEST_F(FilesystemTest, XattrFlagsAndNamespacesGiveTheirErrnos) {
  Seed({{"f", "v"}});
  NodeId f = LookupPath("f").node;
  std::string value;
  EXPECT_EQ(fs_->GetXattr(f, "user.missing", &value), ENODATA);
  EXPECT_EQ(fs_->SetXattr(f, "user.a", "1", XATTR_REPLACE), ENODATA);
  ASSERT_EQ(fs_->SetXattr(f, "user.a", "1", XATTR_CREATE), 0);
  EXPECT_EQ(fs_->SetXattr(f, "user.a", "2", XATTR_CREATE), EEXIST);
  ASSERT_EQ(fs_->SetXattr(f, "user.a", "3", XATTR_REPLACE), 0);
  ASSERT_EQ(fs_->GetXattr(f, "user.a", &value), 0);
  EXPECT_EQ(value, "3");
  EXPECT_EQ(fs_->SetXattr(f, "trusted.a", "1", 0), ENOTSUP);
  EXPECT_EQ(fs_->SetXattr(f, "security.selinux", "1", 0), ENOTSUP);
  // Only user.* exists: other namespaces are unsupported, not merely empty.
  EXPECT_EQ(fs_->GetXattr(f, "security.selinux", &value), ENOTSUP);
}

TEST_F(FilesystemTest, UnlinkForgetsMetadata) {
  Seed({{"f", "v"}});
  ASSERT_EQ(fs_->SetXattr(LookupPath("f").node, "user.k", "v", 0), 0);
  SetAttrRequest chmod;
  chmod.mode = 0600;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(LookupPath("f").node, 0, chmod, &st), 0);
  ASSERT_EQ(fs_->Unlink(kRootNode, "f"), 0);
  Seed({{"f", "written by another program"}});
  std::string value;
  EXPECT_EQ(fs_->GetXattr(LookupPath("f").node, "user.k", &value), ENODATA);
  EXPECT_EQ(LookupPath("f").attr.st_mode, S_IFREG | 0644u);
}

TEST_F(FilesystemTest, XattrsOnDirectoriesWork) {
  Seed({{"d/x", "x"}});
  NodeId d = Dir("d");
  ASSERT_EQ(fs_->SetXattr(d, "user.tag", "dir", 0), 0);
  std::string value;
  ASSERT_EQ(fs_->GetXattr(d, "user.tag", &value), 0);
  EXPECT_EQ(value, "dir");
  EXPECT_EQ(KvGet("d/x"), "x");
}

TEST_F(FilesystemTest, XattrsFollowARename) {
  Seed({{"f", "v"}, {"dir/g", "g"}});
  ASSERT_EQ(fs_->SetXattr(LookupPath("f").node, "user.k", "file", 0), 0);
  ASSERT_EQ(fs_->SetXattr(LookupPath("dir/g").node, "user.k", "nested", 0), 0);
  ASSERT_EQ(fs_->SetXattr(Dir("dir"), "user.k", "the dir", 0), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "f", kRootNode, "f2", 0), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "dir", kRootNode, "dir2", 0), 0);
  Reopen();  // forget every node: look the attributes up by key
  std::string value;
  ASSERT_EQ(fs_->GetXattr(LookupPath("f2").node, "user.k", &value), 0);
  EXPECT_EQ(value, "file");
  ASSERT_EQ(fs_->GetXattr(LookupPath("dir2/g").node, "user.k", &value), 0);
  EXPECT_EQ(value, "nested");
  ASSERT_EQ(fs_->GetXattr(Dir("dir2"), "user.k", &value), 0);
  EXPECT_EQ(value, "the dir");
  // Nothing is left at the old names for a new file to inherit.
  ASSERT_EQ(WriteFile(kRootNode, "f", "new"), 0);
  EXPECT_EQ(fs_->GetXattr(LookupPath("f").node, "user.k", &value), ENODATA);
}

TEST_F(FilesystemTest, NometaRefusesMetadataAndNeverCreatesItsColumnFamily) {
  options_.nometa = true;
  RecreateFilesystem();
  Seed({{"f", "v"}, {"d/x", "x"}});
  NodeId f = LookupPath("f").node;
  EXPECT_EQ(fs_->SetXattr(f, "user.a", "1", 0), ENOTSUP);
  struct stat st;
  SetAttrRequest chmod;
  chmod.mode = 0600;
  EXPECT_EQ(fs_->SetAttr(f, 0, chmod, &st), EPERM);
  Entry entry;
  EXPECT_EQ(fs_->Symlink("target", kRootNode, "link", {}, &entry), EPERM);
  EXPECT_EQ(fs_->Mknod(kRootNode, "fifo", S_IFIFO | 0644, 0, {}, &entry), EPERM);
  EXPECT_EQ(fs_->Link(f, kRootNode, "g", &entry), EPERM);
  EXPECT_EQ(KvGet("fifo"), std::nullopt);
  EXPECT_EQ(KvGet("g"), std::nullopt);
  // Plain data operations still work, and write no metadata.
  ASSERT_EQ(WriteFile(kRootNode, "new", "n", Caller{1234, 5678}), 0);
  EXPECT_EQ(KvGet("new"), "n");
  SetAttrRequest truncate;
  truncate.size = 0;
  ASSERT_EQ(fs_->SetAttr(f, 0, truncate, &st), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "new", Dir("d"), "moved", 0), 0);
  ASSERT_EQ(fs_->Unlink(Dir("d"), "x"), 0);
  ASSERT_EQ(fs_->Rename(kRootNode, "d", kRootNode, "e", 0), 0);
  EXPECT_EQ(fs_->Mkdir(kRootNode, "m", 0755, {}, &entry), EPERM);
  std::string value;
  EXPECT_EQ(fs_->GetXattr(f, "user.a", &value), ENODATA);
  EXPECT_EQ(store_->ListColumnFamilies(), std::vector<std::string>{"default"});
  Reopen();
  EXPECT_EQ(store_->ListColumnFamilies(), std::vector<std::string>{"default"});
  EXPECT_EQ(KvGet("e/moved"), "n");
}

TEST_F(FilesystemTest, NometaMkdirFailsAndNestedKeysStillWork) {
  // SPEC section 1: under nometa, empty directories "fail with a clear
  // errno": nothing may claim a directory that would not survive.
  options_.nometa = true;
  RecreateFilesystem();
  Entry entry;
  EXPECT_EQ(fs_->Mkdir(kRootNode, "m", 0755, {}, &entry), EPERM);
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({}));
  // Directories implied by keys are there as usual.
  Seed({{"m/f", "v"}});
  Entry dir = LookupPath("m");
  ASSERT_NE(dir.node, 0u);
  ASSERT_EQ(WriteFile(dir.node, "g", "w"), 0);
  EXPECT_EQ(KvGet("m/g"), "w");
  EXPECT_EQ(Sorted(List(kRootNode)), WithDots({"m"}));
}

TEST_F(FilesystemTest, ConcurrentWritersRenamersAndListersAgree) {
  constexpr int kThreads = 4;
  constexpr int kFiles = 60;
  std::vector<NodeId> dirs;
  for (int t = 0; t < kThreads; ++t) {
    Entry entry;
    ASSERT_EQ(fs_->Mkdir(kRootNode, "t" + std::to_string(t), 0755, {}, &entry), 0);
    dirs.push_back(entry.node);
  }
  std::atomic<bool> done{false};
  std::thread lister([&] {
    while (!done) {
      Names names = List(kRootNode, true);
      EXPECT_EQ(names.size(), 2u + kThreads);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        std::string name = "f" + std::to_string(i);
        EXPECT_EQ(WriteFile(dirs[t], name, name + " of " + std::to_string(t)), 0);
        if (i % 3 == 0) {
          EXPECT_EQ(fs_->Rename(dirs[t], name, dirs[t], name + ".r", 0), 0);
        }
        if (i % 5 == 0) {
          EXPECT_EQ(fs_->Unlink(dirs[t], i % 3 == 0 ? name + ".r" : name), 0);
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  done = true;
  lister.join();
  for (int t = 0; t < kThreads; ++t) {
    std::map<std::string, std::string> expected;
    for (int i = 0; i < kFiles; ++i) {
      if (i % 5 == 0) continue;
      std::string name = "f" + std::to_string(i);
      expected["t" + std::to_string(t) + "/" + name + (i % 3 == 0 ? ".r" : "")] =
          name + " of " + std::to_string(t);
    }
    EXPECT_EQ(KvScan("t" + std::to_string(t) + "/"), expected);
  }
}

// ---------------------------------------------------------------------------
// 11, 12. Stable inode numbers, owners and times.

TEST_F(FilesystemTest, InodeNumbersAreStableAcrossReopen) {
  Seed({{"a/b", "1"}, {"c", "2"}, {"blue", "3"}, {"blue/x", "4"}});
  std::map<std::string, ino_t> before;
  for (const char* path : {"a", "a/b", "c", "blue", "blue%{@}", "blue/x"}) {
    before[path] = LookupPath(path).attr.st_ino;
    EXPECT_EQ(Stat(LookupPath(path).node).st_ino, before[path]) << path;
  }
  std::set<ino_t> distinct;
  for (const auto& [path, ino] : before) distinct.insert(ino);
  EXPECT_EQ(distinct.size(), before.size());
  Reopen();
  for (const auto& [path, ino] : before) {
    EXPECT_EQ(LookupPath(path).attr.st_ino, ino) << path;
  }
}

TEST_F(FilesystemTest, NewFilesTakeTheCallersOwner) {
  const Caller caller{1234, 5678};
  Entry entry;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(kRootNode, "mine", 0640, O_WRONLY | O_CREAT, caller, &entry, &opened), 0);
  EXPECT_EQ(entry.attr.st_uid, 1234u);
  EXPECT_EQ(entry.attr.st_gid, 5678u);
  EXPECT_EQ(entry.attr.st_mode, S_IFREG | 0640u);
  size_t written = 0;
  ASSERT_EQ(fs_->Write(opened.fh, 0, "x", &written), 0);
  ASSERT_EQ(fs_->Flush(opened.fh), 0);
  fs_->Release(opened.fh);
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "mydir", 0700, caller, &dir), 0);
  EXPECT_EQ(dir.attr.st_uid, 1234u);
  EXPECT_EQ(dir.attr.st_gid, 5678u);
  Reopen();
  struct stat file_st = LookupPath("mine").attr;
  EXPECT_EQ(file_st.st_uid, 1234u);
  EXPECT_EQ(file_st.st_gid, 5678u);
  EXPECT_EQ(file_st.st_mode, S_IFREG | 0640u);
  struct stat dir_st = LookupPath("mydir").attr;
  EXPECT_EQ(dir_st.st_uid, 1234u);
  EXPECT_EQ(dir_st.st_gid, 5678u);
  EXPECT_EQ(dir_st.st_mode, S_IFDIR | 0700u);
}

TEST_F(FilesystemTest, KeysWithoutMetadataShowTheDefaults) {
  options_.defaults.uid = 4242;
  options_.defaults.gid = 4343;
  options_.defaults.file_mode = 0600;
  options_.defaults.dir_mode = 0711;
  RecreateFilesystem();
  Seed({{"d/f", "v"}});
  struct stat file_st = LookupPath("d/f").attr;
  EXPECT_EQ(file_st.st_uid, 4242u);
  EXPECT_EQ(file_st.st_gid, 4343u);
  EXPECT_EQ(file_st.st_mode, S_IFREG | 0600u);
  struct stat dir_st = LookupPath("d").attr;
  EXPECT_EQ(dir_st.st_uid, 4242u);
  EXPECT_EQ(dir_st.st_mode, S_IFDIR | 0711u);
  EXPECT_NE(file_st.st_mtim.tv_sec, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Reopen();
  struct stat again = LookupPath("d/f").attr;
  EXPECT_EQ(again.st_mtim.tv_sec, file_st.st_mtim.tv_sec);
  EXPECT_EQ(again.st_mtim.tv_nsec, file_st.st_mtim.tv_nsec);
  EXPECT_EQ(again.st_ctim.tv_sec, file_st.st_ctim.tv_sec);
  EXPECT_EQ(again.st_ctim.tv_nsec, file_st.st_ctim.tv_nsec);
  struct stat dir_again = LookupPath("d").attr;
  EXPECT_EQ(dir_again.st_mtim.tv_nsec, dir_st.st_mtim.tv_nsec);
}

TEST_F(FilesystemTest, ChmodChownAndUtimesPersist) {
  Seed({{"f", "v"}});
  NodeId f = LookupPath("f").node;
  SetAttrRequest request;
  request.mode = 0604;
  request.uid = 7;
  request.gid = 8;
  request.mtime = TimeNs{1700000000'123456789};
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(f, 0, request, &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0604u);
  Reopen();
  st = LookupPath("f").attr;
  EXPECT_EQ(st.st_mode, S_IFREG | 0604u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(KvGet("f"), "v");
}

TEST_F(FilesystemTest, SetgidDirectoryHandsDownItsGroup) {
  Entry dir;
  ASSERT_EQ(fs_->Mkdir(kRootNode, "shared", 0775, Caller{1, 99}, &dir), 0);
  SetAttrRequest setgid;
  setgid.mode = S_ISGID | 0775;
  struct stat st;
  ASSERT_EQ(fs_->SetAttr(dir.node, 0, setgid, &st), 0);
  Entry file;
  OpenResult opened;
  ASSERT_EQ(fs_->Create(dir.node, "f", 0644, O_WRONLY | O_CREAT, Caller{1234, 5678}, &file,
                        &opened),
            0);
  fs_->Release(opened.fh);
  EXPECT_EQ(file.attr.st_uid, 1234u);
  EXPECT_EQ(file.attr.st_gid, 99u);
  Entry sub;
  ASSERT_EQ(fs_->Mkdir(dir.node, "sub", 0755, Caller{1234, 5678}, &sub), 0);
  EXPECT_EQ(sub.attr.st_gid, 99u);
  EXPECT_TRUE(sub.attr.st_mode & S_ISGID);
}

TEST_F(FilesystemTest, ForgettingEveryLookupFreesEveryNode) {
  Seed({{"a/b/c", "1"}, {"a/d", "2"}, {"e", "3"}});
  ASSERT_EQ(fs_->inodes().size(), 1u);
  Entry c = LookupPath("a/b/c");
  (void)List(Dir("a"), true);
  (void)List(kRootNode, true);
  EXPECT_EQ(ReadAll(c.node), "1");
  EXPECT_GT(fs_->inodes().size(), 1u);
  // LookupPath took one lookup on each of a, a/b, a/b/c; Dir("a") one more.
  fs_->Forget(c.node, 1);
  fs_->Forget(Dir("a/b"), 2);
  fs_->Forget(Dir("a"), 4);
  EXPECT_EQ(fs_->inodes().size(), 1u);
}

TEST_F(FilesystemTest, StatFsReportsNameMax) {
  struct statvfs sv;
  ASSERT_EQ(fs_->StatFs(&sv), 0);
  EXPECT_EQ(sv.f_namemax, kNameMax);
  EXPECT_GT(sv.f_blocks, 0u);
  EXPECT_FALSE(sv.f_flag & ST_RDONLY);
}

}  // namespace
}  // namespace rocksfs::fs
