// Opens racing commits of the same file (issue 7, reliability).
//
// A reader that uses the page cache reads through the kernel, which cuts
// reads at the size it holds for the node: the size GetAttr reports. While
// such a reader is open, that size must be the size of the value it holds.
// These tests stop a reader's open and a writer's commit at chosen points
// with a gate in front of a real RocksDB store, and check that invariant.

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "fs/filesystem.h"
#include "kv/rocks_store.h"
#include "kv/store.h"
#include "tests/kv/admin_test_util.h"

namespace rocksfs::fs {
namespace {

using namespace std::chrono_literals;

// A one-shot meeting point: a thread arrives and waits until released.
class Gate {
 public:
  void Arrive() {
    std::unique_lock lock(mutex_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }
  bool WaitArrived(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return arrived_; });
  }
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool arrived_ = false;
  bool released_ = false;
};

// A real store with two gates: before the next Get of `key` reads, and after
// the next Write has been applied.
class GatedStore : public kv::Store {
 public:
  explicit GatedStore(std::unique_ptr<kv::Store> inner) : inner_(std::move(inner)) {}

  void GateNextGet(std::string key, Gate* gate) {
    std::lock_guard lock(mutex_);
    get_key_ = std::move(key);
    get_gate_ = gate;
  }
  void GateNextWrite(Gate* gate) {
    std::lock_guard lock(mutex_);
    write_gate_ = gate;
  }

  const std::string& path() const override { return inner_->path(); }
  bool read_only() const override { return inner_->read_only(); }
  kv::ColumnFamily* DefaultColumnFamily() override { return inner_->DefaultColumnFamily(); }
  kv::Status GetColumnFamily(std::string_view name, bool create, kv::ColumnFamily** cf) override {
    return inner_->GetColumnFamily(name, create, cf);
  }
  std::vector<std::string> ListColumnFamilies() override { return inner_->ListColumnFamilies(); }
  kv::Status DropColumnFamily(std::string_view name) override {
    return inner_->DropColumnFamily(name);
  }
  std::string_view ColumnFamilyName(const kv::ColumnFamily* cf) const override {
    return inner_->ColumnFamilyName(cf);
  }
  kv::Status Get(const kv::ReadOptions& options, kv::ColumnFamily* cf, std::string_view key,
                 kv::Value* value) override {
    if (Gate* gate = Take(&get_gate_, key)) gate->Arrive();
    return inner_->Get(options, cf, key, value);
  }
  kv::Status Exists(const kv::ReadOptions& options, kv::ColumnFamily* cf, std::string_view key,
                    bool* exists) override {
    return inner_->Exists(options, cf, key, exists);
  }
  std::unique_ptr<kv::Iterator> NewIterator(kv::ColumnFamily* cf,
                                            const kv::ScanOptions& options) override {
    return inner_->NewIterator(cf, options);
  }
  kv::Status Write(const kv::WriteOptions& options, const kv::Batch& batch) override {
    kv::Status s = inner_->Write(options, batch);
    if (Gate* gate = Take(&write_gate_, {})) gate->Arrive();
    return s;
  }
  std::shared_ptr<const kv::Snapshot> GetSnapshot() override { return inner_->GetSnapshot(); }
  kv::Status SyncWal() override { return inner_->SyncWal(); }
  kv::Status GetUsage(kv::ColumnFamily* cf, kv::Usage* usage) override {
    return inner_->GetUsage(cf, usage);
  }
  std::string StatisticsText() override { return inner_->StatisticsText(); }

 private:
  // The gate armed in *slot, disarmed, if it applies to `key` (Gets only).
  Gate* Take(Gate** slot, std::string_view key) {
    std::lock_guard lock(mutex_);
    if (*slot == nullptr || (slot == &get_gate_ && key != get_key_)) return nullptr;
    return std::exchange(*slot, nullptr);
  }

  std::unique_ptr<kv::Store> inner_;
  std::mutex mutex_;
  std::string get_key_;
  Gate* get_gate_ = nullptr;
  Gate* write_gate_ = nullptr;
};

// Stands in for the kernel: counts invalidations, and runs `during` (when
// set) inside one, as a request the kernel answers meanwhile would.
class CountingKernelCache : public KernelCache {
 public:
  void InvalidateInode(NodeId node) override {
    inodes_dropped++;
    if (during) during(node);
  }
  void InvalidateEntry(NodeId, std::string_view) override {}
  std::atomic<int> inodes_dropped{0};
  std::function<void(NodeId)> during;
};

class OpenCommitRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv::RocksOpenOptions open;
    open.path = dir_.Sub("db");
    open.create_if_missing = true;
    open.block_cache_bytes = 8 << 20;
    open.statistics = false;
    std::unique_ptr<kv::Store> inner;
    kv::Status s = kv::OpenRocksStore(open, &inner);
    ASSERT_TRUE(s.ok()) << s.ToString();
    store_ = std::make_unique<GatedStore>(std::move(inner));
    FilesystemOptions options;
    options.delimiter = '/';
    std::string error;
    ASSERT_EQ(Filesystem::Create(store_.get(), options, &fs_, &error), 0) << error;
    fs_->SetKernelCache(&kernel_);

    // The committed value: "old" (3 bytes).
    Entry entry;
    OpenResult created;
    ASSERT_EQ(fs_->Create(kRootNode, "f", 0644, O_WRONLY, Caller{}, &entry, &created), 0);
    size_t written = 0;
    ASSERT_EQ(fs_->Write(created.fh, 0, "old", &written), 0);
    fs_->Release(created.fh);
    node_ = entry.node;
  }

  // Opens for writing, writes `value` over the whole file and closes, which
  // commits it.
  void WriteWhole(std::string_view value) {
    OpenResult opened;
    ASSERT_EQ(fs_->Open(node_, O_WRONLY | O_TRUNC, &opened), 0);
    size_t written = 0;
    ASSERT_EQ(fs_->Write(opened.fh, 0, value, &written), 0);
    fs_->Release(opened.fh);
  }
  std::string ReadAll(uint64_t fh) {
    ReadResult result;
    EXPECT_EQ(fs_->Read(node_, fh, 0, 1 << 20, &result), 0);
    return std::string(result.data.view());
  }
  off_t SizeNow() {
    struct stat st {};
    EXPECT_EQ(fs_->GetAttr(node_, &st), 0);
    return st.st_size;
  }

  kv::testing::AdminTempDir dir_;  // destroyed last: after fs_ and store_
  std::unique_ptr<GatedStore> store_;
  CountingKernelCache kernel_;
  std::unique_ptr<Filesystem> fs_;
  NodeId node_ = 0;
};

// The reader has checked for writers and is about to read the value when a
// writer opens, writes and commits. Before the fix, the reader read the new
// value but was counted as a reader of the old one, and the size shown to
// the kernel while it stayed open was the old value's: its reads were cut.
TEST_F(OpenCommitRaceTest, ReaderOpeningDuringACommitHoldsTheValueOfItsSize) {
  Gate reader_reads, commit_applied;
  store_->GateNextGet("f", &reader_reads);
  OpenResult reader;
  std::thread reader_thread([&] { ASSERT_EQ(fs_->Open(node_, O_RDONLY, &reader), 0); });
  ASSERT_TRUE(reader_reads.WaitArrived(10s));

  store_->GateNextWrite(&commit_applied);
  std::thread writer_thread([&] { WriteWhole("a much longer new value"); });
  // A writer must not get in while the reader opens: its commit waits for
  // the open. (If it does get in, let it apply its write first.)
  bool writer_got_in = commit_applied.WaitArrived(300ms);
  reader_reads.Release();
  if (!writer_got_in) {
    ASSERT_TRUE(commit_applied.WaitArrived(10s));
  }
  reader_thread.join();
  commit_applied.Release();
  writer_thread.join();

  EXPECT_FALSE(writer_got_in) << "a writer committed while a reader was opening";
  std::string held = ReadAll(reader.fh);
  if (!reader.direct_io) {
    EXPECT_EQ(SizeNow(), static_cast<off_t>(held.size()))
        << "a page-cache reader holds \"" << held << "\" but the kernel would be shown "
        << SizeNow() << " bytes";
  }
  fs_->Release(reader.fh);
  EXPECT_EQ(SizeNow(), 23);
}

// A reader open across a commit keeps its value, and the size shown stays
// its value's until it closes.
TEST_F(OpenCommitRaceTest, StaleReaderKeepsItsSizeUntilClose) {
  OpenResult reader;
  ASSERT_EQ(fs_->Open(node_, O_RDONLY, &reader), 0);
  ASSERT_FALSE(reader.direct_io);
  int dropped = kernel_.inodes_dropped;
  WriteWhole("a much longer new value");
  EXPECT_EQ(kernel_.inodes_dropped, dropped + 1) << "a commit drops the old value's pages";
  EXPECT_EQ(ReadAll(reader.fh), "old");
  EXPECT_EQ(SizeNow(), 3);
  fs_->Release(reader.fh);
  EXPECT_EQ(kernel_.inodes_dropped, dropped + 2) << "the last stale reader's pages are dropped";
  EXPECT_EQ(SizeNow(), 23);
}

// The last stale reader closes: its release drops the kernel's pages. A
// GETATTR answered meanwhile must give the committed size (the kernel keeps
// it: it is newer than the invalidation), and a reader opening meanwhile
// must not use the page cache, which may still hold the old value's pages.
// (Found by rocksfs_fsx: a whole read after a truncate by path returned the
// old, longer size, padded with zeros.)
TEST_F(OpenCommitRaceTest, LastStaleReaderClosingShowsTheCommittedSizeAtOnce) {
  WriteWhole("a much longer new value");
  OpenResult stale;
  ASSERT_EQ(fs_->Open(node_, O_RDONLY, &stale), 0);
  ASSERT_FALSE(stale.direct_io);
  WriteWhole("short");
  EXPECT_EQ(SizeNow(), 23) << "the stale reader's size while it is open";

  off_t size_during = -1;
  OpenResult opened_during;
  kernel_.during = [&](NodeId) {
    size_during = SizeNow();
    ASSERT_EQ(fs_->Open(node_, O_RDONLY, &opened_during), 0);
  };
  fs_->Release(stale.fh);
  kernel_.during = nullptr;
  EXPECT_EQ(size_during, 5) << "a GETATTR during the invalidation";
  EXPECT_TRUE(opened_during.direct_io) << "a reader opening during the invalidation";
  EXPECT_EQ(ReadAll(opened_during.fh), "short");
  fs_->Release(opened_during.fh);

  OpenResult after;
  ASSERT_EQ(fs_->Open(node_, O_RDONLY, &after), 0);
  EXPECT_FALSE(after.direct_io) << "after it, readers share the page cache again";
  fs_->Release(after.fh);
}

}  // namespace
}  // namespace rocksfs::fs
