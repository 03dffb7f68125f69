// Tests of kv::OpenRocksStore against a real RocksDB in a temporary directory.

#include "kv/rocks_store.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rocksfs::kv {
namespace {

namespace stdfs = std::filesystem;

// A fresh directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (stdfs::temp_directory_path() / "rocks_store_test-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

RocksOpenOptions Options(const std::string& path, OpenMode mode = OpenMode::kReadWrite) {
  RocksOpenOptions options;
  options.path = path;
  options.mode = mode;
  options.create_if_missing = mode == OpenMode::kReadWrite;
  options.block_cache_bytes = 8 << 20;  // keep many open stores cheap
  return options;
}

std::unique_ptr<Store> OpenOrDie(const RocksOpenOptions& options) {
  std::unique_ptr<Store> store;
  Status s = OpenRocksStore(options, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

Status Put(Store* store, ColumnFamily* cf, std::string key, std::string value) {
  Batch batch;
  batch.Put(cf, std::move(key), std::move(value));
  return store->Write(WriteOptions(), batch);
}

Status Put(Store* store, std::string key, std::string value) {
  return Put(store, store->DefaultColumnFamily(), std::move(key), std::move(value));
}

// The value of key, or "<NotFound>" / "<error ...>".
std::string GetString(Store* store, ColumnFamily* cf, std::string_view key,
                      const Snapshot* snapshot = nullptr) {
  ReadOptions options;
  options.snapshot = snapshot;
  Value value;
  Status s = store->Get(options, cf, key, &value);
  if (s.IsNotFound()) return "<NotFound>";
  if (!s.ok()) return "<error " + s.ToString() + ">";
  return std::string(value.view());
}

std::string GetString(Store* store, std::string_view key) {
  return GetString(store, store->DefaultColumnFamily(), key);
}

// Every key in [lower, upper) of cf, joined with ','.
std::string Scan(Store* store, ColumnFamily* cf, std::string lower, std::string upper,
                 const Snapshot* snapshot = nullptr) {
  ScanOptions options;
  options.lower_bound = lower;
  options.upper_bound = upper;
  options.snapshot = snapshot;
  auto it = store->NewIterator(cf, options);
  std::string keys;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (!keys.empty()) keys += ',';
    keys += it->key();
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return keys;
}

std::string ScanAll(Store* store) { return Scan(store, store->DefaultColumnFamily(), "", ""); }

// The text of the newest OPTIONS-* file RocksDB wrote into dir.
std::string NewestOptionsFile(const std::string& dir) {
  std::string newest;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && name > newest) newest = name;
  }
  std::ifstream in(dir + "/" + newest);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- Opening ----

TEST(RocksStore, OpenOfMissingDbWithoutCreateIsNotFound) {
  TempDir dir;
  RocksOpenOptions options = Options(dir.Sub("db"));
  options.create_if_missing = false;
  std::unique_ptr<Store> store;
  Status s = OpenRocksStore(options, &store);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find(dir.Sub("db")), std::string::npos) << s.message();
  EXPECT_EQ(store, nullptr);
  EXPECT_FALSE(stdfs::exists(dir.Sub("db")));
}

TEST(RocksStore, ReadOnlyAndSecondaryOpensOfMissingDbAreNotFound) {
  TempDir dir;
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kSecondary}) {
    std::unique_ptr<Store> store;
    Status s = OpenRocksStore(Options(dir.Sub("db"), mode), &store);
    EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  }
}

TEST(RocksStore, CreatedDbKeepsDataAcrossReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.Sub("db")));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->path(), dir.Sub("db"));
    EXPECT_FALSE(store->read_only());
    ASSERT_TRUE(Put(store.get(), "k", "v").ok());
  }
  RocksOpenOptions options = Options(dir.Sub("db"));
  options.create_if_missing = false;
  auto store = OpenOrDie(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetString(store.get(), "k"), "v");
}

// The number of blob files (*.blob) in a DB directory.
int BlobFiles(const std::string& dir) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".blob") ++count;
  }
  return count;
}

TEST(RocksStore, LargeValuesGoToBlobFilesUnlessCfOptionsSayOtherwise) {
  TempDir dir;
  const std::string large(100 << 10, 'x');  // past min_blob_size (64 KiB)
  {
    auto store = OpenOrDie(Options(dir.Sub("db")));
    ASSERT_TRUE(Put(store.get(), "small", "v").ok());
    ASSERT_TRUE(Put(store.get(), "large", large).ok());
    ASSERT_TRUE(store->CompactAll(store->DefaultColumnFamily()).ok());  // flushes first
    EXPECT_EQ(GetString(store.get(), "large"), large);
    EXPECT_EQ(GetString(store.get(), "small"), "v");
  }
  EXPECT_GE(BlobFiles(dir.Sub("db")), 1);
  // Read back after reopen, from the blob file.
  {
    auto store = OpenOrDie(Options(dir.Sub("db")));
    EXPECT_EQ(GetString(store.get(), "large"), large);
  }

  RocksOpenOptions options = Options(dir.Sub("inline"));
  options.cf_options = "enable_blob_files=false";
  auto store = OpenOrDie(options);
  ASSERT_TRUE(Put(store.get(), "large", large).ok());
  ASSERT_TRUE(store->CompactAll(store->DefaultColumnFamily()).ok());
  EXPECT_EQ(GetString(store.get(), "large"), large);
  EXPECT_EQ(BlobFiles(dir.Sub("inline")), 0);
}

TEST(RocksStore, SecondReadWriteOpenIsBusy) {
  TempDir dir;
  auto first = OpenOrDie(Options(dir.path()));
  ASSERT_NE(first, nullptr);
  std::unique_ptr<Store> second;
  Status s = OpenRocksStore(Options(dir.path()), &second);
  EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
  EXPECT_EQ(s.message(), "database is locked by another process");
  first.reset();
  EXPECT_TRUE(OpenRocksStore(Options(dir.path()), &second).ok());
}

TEST(RocksStore, ReadWriteOpenOfDbLockedByAnotherProcessIsBusy) {
  TempDir dir;
  OpenOrDie(Options(dir.path())).reset();  // create it

  // The child holds the fcntl lock RocksDB takes on LOCK, as a running
  // rocksfs would. It only makes async-signal-safe calls after fork().
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const std::string lock_file = dir.path() + "/LOCK";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = open(lock_file.c_str(), O_RDWR);
    struct flock lock = {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    char byte = (fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0) ? 'y' : 'n';
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    if (read(done[0], &byte, 1) < 0) _exit(1);
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');

  std::unique_ptr<Store> store;
  Status s = OpenRocksStore(Options(dir.path()), &store);
  EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
  EXPECT_EQ(s.message(), "database is locked by another process");

  ASSERT_EQ(write(done[1], "x", 1), 1);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
  EXPECT_TRUE(OpenRocksStore(Options(dir.path()), &store).ok());
}

TEST(RocksStore, TwoReadOnlyOpensAtOnceBothRead) {
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.path()));
    ASSERT_TRUE(Put(store.get(), "k", "v").ok());
  }
  auto a = OpenOrDie(Options(dir.path(), OpenMode::kReadOnly));
  auto b = OpenOrDie(Options(dir.path(), OpenMode::kReadOnly));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a->read_only());
  EXPECT_EQ(GetString(a.get(), "k"), "v");
  EXPECT_EQ(GetString(b.get(), "k"), "v");
}

TEST(RocksStore, ReadOnlyStoreRefusesEveryWrite) {
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.path()));
    ColumnFamily* cf = nullptr;
    ASSERT_TRUE(store->GetColumnFamily("meta", true, &cf).ok());
  }
  auto store = OpenOrDie(Options(dir.path(), OpenMode::kReadOnly));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Put(store.get(), "k", "v").code(), Code::kReadOnly);
  Batch only_condition;
  only_condition.ExpectAbsent(store->DefaultColumnFamily(), "k");
  EXPECT_EQ(store->Write(WriteOptions(), only_condition).code(), Code::kReadOnly);

  ColumnFamily* cf = nullptr;
  EXPECT_EQ(store->GetColumnFamily("new", true, &cf).code(), Code::kReadOnly);
  // Asking to create one that exists just finds it.
  EXPECT_TRUE(store->GetColumnFamily("meta", true, &cf).ok());
  EXPECT_EQ(store->DropColumnFamily("meta").code(), Code::kReadOnly);
  EXPECT_TRUE(store->SyncWal().ok());
  EXPECT_EQ(store->TryCatchUpWithPrimary().code(), Code::kNotSupported);
}

// ---- Options ----

TEST(RocksStore, BadOptionsAreInvalidArgumentNamingTheOption) {
  TempDir dir;
  const std::string garbage_file = dir.Sub("garbage.ini");
  std::ofstream(garbage_file) << "this is [not an options file\n";
  struct Case {
    std::string db_options, cf_options, options_file, mentions;
  };
  const Case cases[] = {
      {"max_open_files=abc", "", "", "max_open_files"},
      {"no_such_option=1", "", "", "no_such_option"},
      {"", "write_buffer_size=lots", "", "write_buffer_size"},
      {"", "no_such_cf_option=1", "", "no_such_cf_option"},
      {"", "", garbage_file, garbage_file},
      {"", "", dir.Sub("missing.ini"), "missing.ini"},
  };
  for (const Case& c : cases) {
    RocksOpenOptions options = Options(dir.Sub("db"));
    options.db_options = c.db_options;
    options.cf_options = c.cf_options;
    options.options_file = c.options_file;
    std::unique_ptr<Store> store;
    Status s = OpenRocksStore(options, &store);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.mentions << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.mentions), std::string::npos) << s.message();
  }
}

TEST(RocksStore, OptionStringsApplyOnTopOfDefaults) {
  TempDir dir;
  RocksOpenOptions options = Options(dir.path());
  options.db_options = "max_open_files=123;max_background_jobs=3";
  options.cf_options = "write_buffer_size=1048576;block_based_table_factory={block_size=8192}";
  OpenOrDie(options).reset();
  const std::string text = NewestOptionsFile(dir.path());
  for (const char* expected :
       {"max_open_files=123", "max_background_jobs=3", "write_buffer_size=1048576",
        "block_size=8192",
        // Defaults the strings did not touch survive, even inside the table options.
        "filter_policy=bloomfilter:10:false", "cache_index_and_filter_blocks=true",
        "format_version=5", "level_compaction_dynamic_level_bytes=true",
        "bytes_per_sync=1048576"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  }
}

TEST(RocksStore, OptionsFileAppliesThenStringsOnTop) {
  TempDir dir;
  RocksOpenOptions first = Options(dir.Sub("a"));
  first.db_options = "max_open_files=77";
  first.cf_options = "write_buffer_size=2097152";
  OpenOrDie(first).reset();
  std::string options_file;
  for (const auto& entry : stdfs::directory_iterator(dir.Sub("a"))) {
    if (entry.path().filename().string().rfind("OPTIONS-", 0) == 0) options_file = entry.path();
  }
  ASSERT_FALSE(options_file.empty());

  RocksOpenOptions second = Options(dir.Sub("b"));
  second.options_file = options_file;
  second.db_options = "max_background_jobs=5";
  auto store = OpenOrDie(second);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Put(store.get(), "k", "v").ok());
  store.reset();
  const std::string text = NewestOptionsFile(dir.Sub("b"));
  EXPECT_NE(text.find("max_open_files=77"), std::string::npos);
  EXPECT_NE(text.find("write_buffer_size=2097152"), std::string::npos);
  EXPECT_NE(text.find("max_background_jobs=5"), std::string::npos);
}

// ---- Reads and writes ----

TEST(RocksStore, PutGetExistsDelete) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  bool exists = true;
  ASSERT_TRUE(store->Exists(ReadOptions(), cf, "k", &exists).ok());
  EXPECT_FALSE(exists);
  EXPECT_EQ(GetString(store.get(), "k"), "<NotFound>");

  ASSERT_TRUE(Put(store.get(), "k", "v1").ok());
  ASSERT_TRUE(Put(store.get(), "k", "v2").ok());
  ASSERT_TRUE(Put(store.get(), std::string("\0bin\xff", 5), std::string("\0\1", 2)).ok());
  EXPECT_EQ(GetString(store.get(), "k"), "v2");
  EXPECT_EQ(GetString(store.get(), std::string("\0bin\xff", 5)), std::string("\0\1", 2));
  ASSERT_TRUE(store->Exists(ReadOptions(), cf, "k", &exists).ok());
  EXPECT_TRUE(exists);

  Batch batch;
  batch.Delete(cf, "k");
  WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(store->Write(sync, batch).ok());
  EXPECT_EQ(GetString(store.get(), "k"), "<NotFound>");
  EXPECT_TRUE(store->SyncWal().ok());
}

TEST(RocksStore, BatchIsAppliedInOrder) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  Batch batch;
  batch.Put(cf, "a", "1");
  batch.Delete(cf, "a");
  batch.Put(cf, "b", "1");
  batch.Put(cf, "b", "2");
  ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
  EXPECT_EQ(ScanAll(store.get()), "b");
  EXPECT_EQ(GetString(store.get(), "b"), "2");
}

TEST(RocksStore, DeleteRangeRemovesExactlyTheRange) {
  struct Case {
    std::string begin, end, remaining;
  };
  const Case cases[] = {
      {"b", "d", "a,d,e"},
      {"b", "b", "a,b,c,d,e"},  // empty range
      {"d", "b", "a,b,c,d,e"},  // inverted range: nothing
      {"c", "", "a,b"},         // empty end: no upper bound
      {"", "", ""},
      {"", "c", "c,d,e"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    auto store = OpenOrDie(Options(dir.path()));
    ColumnFamily* cf = store->DefaultColumnFamily();
    for (const char* key : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(Put(store.get(), key, "v").ok());
    Batch batch;
    batch.DeleteRange(cf, c.begin, c.end);
    ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
    EXPECT_EQ(ScanAll(store.get()), c.remaining) << "[" << c.begin << ", " << c.end << ")";
  }
}

TEST(RocksStore, UnboundedDeleteRangeCoversKeysPutEarlierInTheBatch) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  ASSERT_TRUE(Put(store.get(), "a", "v").ok());
  ASSERT_TRUE(Put(store.get(), "m", "v").ok());
  Batch batch;
  batch.Put(cf, "z\xff\xff", "v");  // beyond every key in the DB
  batch.DeleteRange(cf, "b", "");
  batch.Put(cf, "q", "v");  // after the delete: survives
  ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
  EXPECT_EQ(ScanAll(store.get()), "a,q");
}

TEST(RocksStore, FiftyMebibyteValueRoundTrips) {
  TempDir dir;
  std::string big(50 << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  {
    auto store = OpenOrDie(Options(dir.path()));
    ASSERT_TRUE(Put(store.get(), "big", big).ok());
    Value value;
    ASSERT_TRUE(store->Get(ReadOptions(), store->DefaultColumnFamily(), "big", &value).ok());
    EXPECT_EQ(value.size(), big.size());
    EXPECT_TRUE(value.view() == big);
  }
  auto store = OpenOrDie(Options(dir.path()));
  Value value;
  ASSERT_TRUE(store->Get(ReadOptions(), store->DefaultColumnFamily(), "big", &value).ok());
  EXPECT_TRUE(value.view() == big);
}

TEST(RocksStore, ValueStaysValidAfterOverwrite) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  ASSERT_TRUE(Put(store.get(), "k", "old").ok());
  Value value;
  ASSERT_TRUE(store->Get(ReadOptions(), cf, "k", &value).ok());
  ASSERT_TRUE(Put(store.get(), "k", "new").ok());
  EXPECT_EQ(value.view(), "old");
}

TEST(RocksStore, NullColumnFamilyIsInvalidArgument) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  Value value;
  EXPECT_EQ(store->Get(ReadOptions(), nullptr, "k", &value).code(), Code::kInvalidArgument);
  EXPECT_EQ(Put(store.get(), nullptr, "k", "v").code(), Code::kInvalidArgument);
  auto it = store->NewIterator(nullptr, ScanOptions());
  it->Seek("");
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(it->status().code(), Code::kInvalidArgument);
}

// ---- Iterators ----

TEST(RocksStore, IteratorStaysWithinBounds) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  for (const char* key : {"a", "b", "b/1", "b/2", "c", "d"}) {
    ASSERT_TRUE(Put(store.get(), key, "v").ok());
  }
  struct Case {
    std::string lower, upper, keys;
  };
  const Case cases[] = {
      {"", "", "a,b,b/1,b/2,c,d"},
      {"b", "c", "b,b/1,b/2"},
      {"b/", PrefixSuccessor("b/"), "b/1,b/2"},
      {"c", "", "c,d"},
      {"", "b", "a"},
      {"x", "", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Scan(store.get(), cf, c.lower, c.upper), c.keys) << c.lower << ".." << c.upper;
  }
}

TEST(RocksStore, IteratorSeekAndSkipTo) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  for (int i = 0; i < 100; ++i) {
    char key[8];
    snprintf(key, sizeof key, "k%03d", i);
    ASSERT_TRUE(Put(store.get(), key, std::to_string(i)).ok());
  }
  ScanOptions options;
  options.lower_bound = "k010";
  options.upper_bound = "k090";
  auto it = store->NewIterator(store->DefaultColumnFamily(), options);
  EXPECT_FALSE(it->Valid());  // unpositioned until Seek

  it->Seek("a");  // below the lower bound: clamps to it
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k010");
  EXPECT_EQ(it->value(), "10");

  it->Seek("k0505");  // between keys
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k051");

  it->SkipTo("k053");  // near: a few Next() calls
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k053");
  it->SkipTo("k080");  // far: falls back to Seek
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k080");
  it->SkipTo("k095");  // past the upper bound
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());

  it->Seek("k089");
  ASSERT_TRUE(it->Valid());
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(PrefixSuccessor, IsTheSmallestKeyAfterThePrefix) {
  struct Case {
    std::string prefix, successor;
  };
  const Case cases[] = {
      {"", ""},
      {"a", "b"},
      {"a/", "a0"},
      {"ab\xff", "ac"},
      {"a\xff\xff", "b"},
      {"\xff", ""},
      {"\xff\xff", ""},
      {std::string("a\0", 2), "a\x01"},
      {"\xfe\xff", "\xff"},
  };
  for (const Case& c : cases) EXPECT_EQ(PrefixSuccessor(c.prefix), c.successor) << c.prefix;
}

TEST(RocksStore, PrefixScanFindsKeysWithHighBytes) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  for (std::string key : {"a\xff", "a\xff\xff", "a\xff\xff\x01", "b", "\xff", "\xff\xff"}) {
    ASSERT_TRUE(Put(store.get(), key, "v").ok());
  }
  ColumnFamily* cf = store->DefaultColumnFamily();
  EXPECT_EQ(Scan(store.get(), cf, "a\xff", PrefixSuccessor("a\xff")),
            "a\xff,a\xff\xff,a\xff\xff\x01");
  EXPECT_EQ(Scan(store.get(), cf, "\xff", PrefixSuccessor("\xff")), "\xff,\xff\xff");
}

// ---- Conditions ----

TEST(RocksStore, ConditionsDecideWhetherTheBatchIsWritten) {
  enum class Kind { kPresent, kAbsent, kRangeEmpty };
  struct Case {
    const char* name;
    Kind kind;
    std::string key, end;
    bool holds;
  };
  // The store holds "dir/a" and "x".
  const Case cases[] = {
      {"present key is present", Kind::kPresent, "x", "", true},
      {"absent key is not present", Kind::kPresent, "y", "", false},
      {"absent key is absent", Kind::kAbsent, "y", "", true},
      {"present key is not absent", Kind::kAbsent, "x", "", false},
      {"prefix of a key is absent", Kind::kAbsent, "dir", "", true},
      {"range with a key", Kind::kRangeEmpty, "dir/", "dir0", false},
      {"range without keys", Kind::kRangeEmpty, "e/", "e0", true},
      {"range ending at a key", Kind::kRangeEmpty, "w", "x", true},
      {"range starting at a key", Kind::kRangeEmpty, "x", "y", false},
      {"unbounded range with a key", Kind::kRangeEmpty, "w", "", false},
      {"unbounded range past every key", Kind::kRangeEmpty, "y", "", true},
      {"inverted range", Kind::kRangeEmpty, "z", "a", true},
  };
  for (const Case& c : cases) {
    TempDir dir;
    auto store = OpenOrDie(Options(dir.path()));
    ColumnFamily* cf = store->DefaultColumnFamily();
    ASSERT_TRUE(Put(store.get(), "dir/a", "v").ok());
    ASSERT_TRUE(Put(store.get(), "x", "v").ok());
    Batch batch;
    switch (c.kind) {
      case Kind::kPresent:
        batch.ExpectPresent(cf, c.key);
        break;
      case Kind::kAbsent:
        batch.ExpectAbsent(cf, c.key);
        break;
      case Kind::kRangeEmpty:
        batch.ExpectRangeEmpty(cf, c.key, c.end);
        break;
    }
    batch.Put(cf, "new1", "v");
    batch.Delete(cf, "x");
    batch.Put(cf, "new2", "v");
    Status s = store->Write(WriteOptions(), batch);
    if (c.holds) {
      EXPECT_TRUE(s.ok()) << c.name << ": " << s.ToString();
      EXPECT_EQ(ScanAll(store.get()), "dir/a,new1,new2") << c.name;
    } else {
      EXPECT_EQ(s.code(), Code::kConditionFailed) << c.name << ": " << s.ToString();
      EXPECT_EQ(ScanAll(store.get()), "dir/a,x") << c.name << ": nothing written";
    }
  }
}

TEST(RocksStore, ConditionsSeeTheStateBeforeTheBatch) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  Batch batch;
  batch.Put(cf, "k", "v");
  batch.ExpectAbsent(cf, "k");
  ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
  EXPECT_EQ(store->Write(WriteOptions(), batch).code(), Code::kConditionFailed);
}

TEST(RocksStore, ConcurrentCreateIfAbsentCreatesEachKeyOnce) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  constexpr int kThreads = 8, kKeys = 1000;
  std::atomic<int> wins[kKeys] = {};
  std::atomic<int> errors = 0;
  std::barrier start(kThreads);  // every thread races for every key
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kKeys; ++k) {
        start.arrive_and_wait();
        Batch batch;
        batch.ExpectAbsent(cf, "key" + std::to_string(k));
        batch.Put(cf, "key" + std::to_string(k), std::to_string(t));
        batch.Put(cf, "owner" + std::to_string(k) + "/" + std::to_string(t), "");
        Status s = store->Write(WriteOptions(), batch);
        if (s.ok()) {
          ++wins[k];
        } else if (!s.IsConditionFailed()) {
          ++errors;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(wins[k], 1) << "key" << k;
    // The winner's value and its marker agree: no batch was half-applied.
    std::string prefix = "owner" + std::to_string(k) + "/";
    std::string owner = GetString(store.get(), "key" + std::to_string(k));
    EXPECT_EQ(Scan(store.get(), cf, prefix, PrefixSuccessor(prefix)), prefix + owner);
  }
}

TEST(RocksStore, ConcurrentRangeEmptyConditionAdmitsOneWriter) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  constexpr int kThreads = 8, kRounds = 500;
  std::atomic<int> errors = 0;
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        start.arrive_and_wait();
        // Each round's directory gets one entry: whoever finds it empty first.
        std::string prefix = "d" + std::to_string(r) + "/";
        Batch batch;
        batch.ExpectRangeEmpty(cf, prefix, PrefixSuccessor(prefix));
        batch.Put(cf, prefix + std::to_string(t), "");
        Status s = store->Write(WriteOptions(), batch);
        if (!s.ok() && !s.IsConditionFailed()) ++errors;
        // Plain writes of other keys run alongside.
        if (!Put(store.get(), "t" + std::to_string(t), std::to_string(r)).ok()) ++errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0);
  for (int r = 0; r < kRounds; ++r) {
    std::string prefix = "d" + std::to_string(r) + "/";
    std::string keys = Scan(store.get(), cf, prefix, PrefixSuccessor(prefix));
    EXPECT_EQ(std::count(keys.begin(), keys.end(), ','), 0) << keys;
    EXPECT_FALSE(keys.empty());
  }
}

// ---- Snapshots ----

TEST(RocksStore, SnapshotReadsIgnoreLaterWrites) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = store->DefaultColumnFamily();
  ASSERT_TRUE(Put(store.get(), "a", "1").ok());
  std::shared_ptr<const Snapshot> snapshot = store->GetSnapshot();
  ASSERT_NE(snapshot, nullptr);
  ASSERT_TRUE(Put(store.get(), "a", "2").ok());
  ASSERT_TRUE(Put(store.get(), "b", "2").ok());

  EXPECT_EQ(GetString(store.get(), cf, "a", snapshot.get()), "1");
  EXPECT_EQ(GetString(store.get(), cf, "b", snapshot.get()), "<NotFound>");
  EXPECT_EQ(Scan(store.get(), cf, "", "", snapshot.get()), "a");
  ReadOptions at_snapshot;
  at_snapshot.snapshot = snapshot.get();
  bool exists = true;
  ASSERT_TRUE(store->Exists(at_snapshot, cf, "b", &exists).ok());
  EXPECT_FALSE(exists);

  EXPECT_EQ(GetString(store.get(), "a"), "2");
  EXPECT_EQ(ScanAll(store.get()), "a,b");
}

TEST(RocksStore, SnapshotOfAnotherStoreIsInvalidArgument) {
  TempDir a_dir, b_dir;
  auto a = OpenOrDie(Options(a_dir.path()));
  auto b = OpenOrDie(Options(b_dir.path()));
  auto snapshot = b->GetSnapshot();
  ReadOptions options;
  options.snapshot = snapshot.get();
  Value value;
  EXPECT_EQ(a->Get(options, a->DefaultColumnFamily(), "k", &value).code(), Code::kInvalidArgument);
}

// ---- Column families ----

TEST(RocksStore, ColumnFamiliesAreSeparateKeyspaces) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* meta = nullptr;
  EXPECT_EQ(store->GetColumnFamily("meta", false, &meta).code(), Code::kNotFound);
  EXPECT_EQ(store->GetColumnFamily("", true, &meta).code(), Code::kInvalidArgument);
  ASSERT_TRUE(store->GetColumnFamily("meta", true, &meta).ok());
  ASSERT_NE(meta, nullptr);
  ColumnFamily* again = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("meta", false, &again).ok());
  EXPECT_EQ(again, meta);
  EXPECT_EQ(store->ColumnFamilyName(meta), "meta");
  EXPECT_EQ(store->ColumnFamilyName(store->DefaultColumnFamily()), "default");

  ASSERT_TRUE(Put(store.get(), meta, "k", "in meta").ok());
  EXPECT_EQ(GetString(store.get(), meta, "k"), "in meta");
  EXPECT_EQ(GetString(store.get(), "k"), "<NotFound>");
  EXPECT_EQ(ScanAll(store.get()), "");

  // One batch spans both, atomically.
  Batch batch;
  batch.ExpectPresent(meta, "k");
  batch.Put(store->DefaultColumnFamily(), "k", "in default");
  ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
  EXPECT_EQ(GetString(store.get(), "k"), "in default");
}

TEST(RocksStore, ColumnFamiliesAreListedAndSurviveReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.path()));
    ColumnFamily* cf = nullptr;
    ASSERT_TRUE(store->GetColumnFamily("zeta", true, &cf).ok());
    ASSERT_TRUE(Put(store.get(), cf, "k", "v").ok());
    ASSERT_TRUE(store->GetColumnFamily("alpha", true, &cf).ok());
    EXPECT_EQ(store->ListColumnFamilies(), (std::vector<std::string>{"default", "zeta", "alpha"}));
  }
  auto store = OpenOrDie(Options(dir.path()));
  std::vector<std::string> names = store->ListColumnFamilies();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "default");
  ColumnFamily* cf = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("zeta", false, &cf).ok());
  EXPECT_EQ(GetString(store.get(), cf, "k"), "v");
}

TEST(RocksStore, DroppedColumnFamilyIsGoneAndItsHandleFailsSafely) {
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.path()));
    EXPECT_EQ(store->DropColumnFamily("default").code(), Code::kInvalidArgument);
    EXPECT_EQ(store->DropColumnFamily("nope").code(), Code::kNotFound);
    ColumnFamily* cf = nullptr;
    ASSERT_TRUE(store->GetColumnFamily("tmp", true, &cf).ok());
    ASSERT_TRUE(Put(store.get(), cf, "k", "v").ok());
    ASSERT_TRUE(store->DropColumnFamily("tmp").ok());
    EXPECT_EQ(store->ListColumnFamilies(), std::vector<std::string>{"default"});
    Value value;
    EXPECT_EQ(store->Get(ReadOptions(), cf, "k", &value).code(), Code::kNotFound);
    EXPECT_EQ(Put(store.get(), cf, "k", "v").code(), Code::kNotFound);
    EXPECT_EQ(store->NewIterator(cf, ScanOptions())->status().code(), Code::kNotFound);

    // The name can be reused, and starts empty.
    ColumnFamily* fresh = nullptr;
    ASSERT_TRUE(store->GetColumnFamily("tmp", true, &fresh).ok());
    EXPECT_EQ(GetString(store.get(), fresh, "k"), "<NotFound>");
    ASSERT_TRUE(store->DropColumnFamily("tmp").ok());
  }
  auto store = OpenOrDie(Options(dir.path()));
  EXPECT_EQ(store->ListColumnFamilies(), std::vector<std::string>{"default"});
}

TEST(RocksStore, IteratorOpenAcrossADropKeepsReading) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  ColumnFamily* cf = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("tmp", true, &cf).ok());
  ASSERT_TRUE(Put(store.get(), cf, "a", "1").ok());
  ASSERT_TRUE(Put(store.get(), cf, "b", "2").ok());
  auto it = store->NewIterator(cf, ScanOptions());
  it->Seek("");
  ASSERT_TRUE(store->DropColumnFamily("tmp").ok());
  std::string keys;
  for (; it->Valid(); it->Next()) keys += it->key();
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(keys, "ab");
}

TEST(RocksStore, DropWhileOtherThreadsUseTheFamilyDoesNotCrash) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  for (int round = 0; round < 8; ++round) {
    ColumnFamily* cf = nullptr;
    ASSERT_TRUE(store->GetColumnFamily("tmp", true, &cf).ok());
    ASSERT_TRUE(Put(store.get(), cf, "k", "v").ok());
    std::atomic<bool> stop = false;
    std::atomic<int> unexpected = 0;
    std::vector<std::thread> users;
    for (int t = 0; t < 3; ++t) {
      users.emplace_back([&] {
        while (!stop) {
          Value value;
          Status s = store->Get(ReadOptions(), cf, "k", &value);
          if (!s.ok() && !s.IsNotFound()) ++unexpected;
          s = Put(store.get(), cf, "k", "v");
          if (!s.ok() && !s.IsNotFound() && s.code() != Code::kInvalidArgument) ++unexpected;
          auto it = store->NewIterator(cf, ScanOptions());
          for (it->Seek(""); it->Valid(); it->Next()) {
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(store->DropColumnFamily("tmp").ok());
    stop = true;
    for (auto& user : users) user.join();
    EXPECT_EQ(unexpected, 0);
    Value value;
    EXPECT_EQ(store->Get(ReadOptions(), cf, "k", &value).code(), Code::kNotFound);
  }
}

// ---- Secondary, usage, statistics ----

TEST(RocksStore, SecondaryCatchesUpWithPrimary) {
  TempDir dir;
  auto primary = OpenOrDie(Options(dir.Sub("db")));
  ASSERT_TRUE(Put(primary.get(), "a", "1").ok());
  EXPECT_EQ(primary->TryCatchUpWithPrimary().code(), Code::kNotSupported);

  RocksOpenOptions options = Options(dir.Sub("db"), OpenMode::kSecondary);
  options.secondary_path = dir.Sub("secondary");
  auto secondary = OpenOrDie(options);
  ASSERT_NE(secondary, nullptr);
  EXPECT_TRUE(secondary->read_only());
  EXPECT_EQ(GetString(secondary.get(), "a"), "1");
  EXPECT_EQ(Put(secondary.get(), "b", "2").code(), Code::kReadOnly);

  ASSERT_TRUE(Put(primary.get(), "b", "2").ok());
  EXPECT_EQ(GetString(secondary.get(), "b"), "<NotFound>");
  ASSERT_TRUE(secondary->TryCatchUpWithPrimary().ok());
  EXPECT_EQ(GetString(secondary.get(), "b"), "2");
}

TEST(RocksStore, SecondaryWithoutPathCleansUpItsTempDir) {
  auto count_temp_dirs = [] {
    int n = 0;
    for (const auto& entry : stdfs::directory_iterator(stdfs::temp_directory_path())) {
      n += entry.path().filename().string().rfind("rocksfs-secondary-", 0) == 0;
    }
    return n;
  };
  TempDir dir;
  auto primary = OpenOrDie(Options(dir.path()));
  const int before = count_temp_dirs();
  auto secondary = OpenOrDie(Options(dir.path(), OpenMode::kSecondary));
  ASSERT_NE(secondary, nullptr);
  EXPECT_EQ(ScanAll(secondary.get()), "");
  EXPECT_EQ(count_temp_dirs(), before + 1);
  secondary.reset();
  EXPECT_EQ(count_temp_dirs(), before);
}

TEST(RocksStore, UsageAndStatisticsReflectWrites) {
  TempDir dir;
  auto store = OpenOrDie(Options(dir.path()));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Put(store.get(), "k" + std::to_string(i), "v").ok());
  Usage usage;
  ASSERT_TRUE(store->GetUsage(store->DefaultColumnFamily(), &usage).ok());
  EXPECT_GT(usage.estimated_keys, 0u);
  EXPECT_GT(usage.live_data_bytes, 0u);
  std::string text = store->StatisticsText();
  EXPECT_NE(text.find("rocksdb.block.cache"), std::string::npos);  // Statistics
  EXPECT_NE(text.find("DB Stats"), std::string::npos);             // rocksdb.stats
}

// ---- Interoperation with Debian's ldb ----

bool HaveLdb() { return std::system("command -v ldb >/dev/null 2>&1") == 0; }

std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "<popen failed>";
  char buffer[256];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(RocksStore, ReadsDbWrittenByLdb) {
  if (!HaveLdb()) GTEST_SKIP() << "ldb (Debian package rocksdb-tools) is not on PATH";
  TempDir dir;
  const std::string db = dir.Sub("db");
  const std::string command = "ldb --db=" + db + " --create_if_missing put k from-ldb >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  RocksOpenOptions options = Options(db);
  options.create_if_missing = false;
  auto store = OpenOrDie(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetString(store.get(), "k"), "from-ldb");
}

TEST(RocksStore, LdbReadsDbWrittenByRocksStore) {
  if (!HaveLdb()) GTEST_SKIP() << "ldb (Debian package rocksdb-tools) is not on PATH";
  TempDir dir;
  {
    auto store = OpenOrDie(Options(dir.path()));
    ASSERT_TRUE(Put(store.get(), "k", "from-rocksfs").ok());
  }
  EXPECT_EQ(RunCommand("ldb --db=" + dir.path() + " get k 2>&1"), "from-rocksfs\n");
}

}  // namespace
}  // namespace rocksfs::kv
