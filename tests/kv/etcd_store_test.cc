// kv::Store on etcd (kv/etcd_store.h), against real etcd members started by
// the tests (tests/kv/etcd_test_util.h).
#include "kv/etcd_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/kv/etcd_test_util.h"

namespace rocksfs::kv {
namespace {

using testing::EtcdBinary;
using testing::EtcdCluster;

// ---- No cluster needed --------------------------------------------------------

TEST(EtcdUrl, ParsesEndpointLists) {
  struct Case {
    const char* url;
    std::vector<std::string> endpoints;  // empty: an error
  };
  const Case cases[] = {
      {"etcd://127.0.0.1:2379", {"127.0.0.1:2379"}},
      {"etcd://a:1,b.example:65535", {"a:1", "b.example:65535"}},
      {"etcd://[::1]:2379/", {"[::1]:2379"}},
      {"etcd://", {}},
      {"etcd://host", {}},
      {"etcd://host:", {}},
      {"etcd://:2379", {}},
      {"etcd://host:0", {}},
      {"etcd://host:65536", {}},
      {"etcd://host:12ab", {}},
      {"etcd://a:1,", {}},
      {"etcd://ho st:1", {}},
      {"etcd://[::1:2379", {}},
      {"http://host:2379", {}},
      {"/var/db", {}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> endpoints;
    Status s = ParseEtcdUrl(c.url, &endpoints);
    if (c.endpoints.empty()) {
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.url;
      EXPECT_FALSE(s.message().empty()) << c.url;
    } else {
      EXPECT_TRUE(s.ok()) << c.url << ": " << s.ToString();
      EXPECT_EQ(endpoints, c.endpoints) << c.url;
    }
  }
}

TEST(EtcdPrefix, RefusesEmptyAndNul) {
  EXPECT_TRUE(ValidateEtcdPrefix("app/").ok());
  EXPECT_TRUE(ValidateEtcdPrefix("x").ok());
  EXPECT_EQ(ValidateEtcdPrefix("").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateEtcdPrefix(std::string("a\0b", 3)).code(), Code::kInvalidArgument);
}

TEST(EtcdOpen, UnreachableClusterFailsWithinTheTimeout) {
  EtcdOpenOptions options;
  options.endpoints = {"127.0.0.1:" + std::to_string(testing::FreePort())};
  options.prefix = "p/";
  options.timeout_ms = 800;
  std::unique_ptr<Store> store;
  auto start = std::chrono::steady_clock::now();
  Status s = OpenEtcdStore(options, &store);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("cannot reach"), std::string::npos) << s.message();
  EXPECT_EQ(store, nullptr);
  EXPECT_LT(took, std::chrono::seconds(3));
}

// ---- One member ------------------------------------------------------------

class EtcdStoreTest : public ::testing::Test {
 protected:
  // Small limits, so the tests reach them quickly.
  static constexpr int kMaxTxnOps = 32;
  static constexpr int kMaxRequestBytes = 256 * 1024;

  void SetUp() override {
    if (EtcdBinary().empty()) GTEST_SKIP() << "etcd is not installed (apt-get install etcd-server)";
    cluster_ = std::make_unique<EtcdCluster>(
        1, std::vector<std::string>{"--max-txn-ops=" + std::to_string(kMaxTxnOps),
                                    "--max-request-bytes=" + std::to_string(kMaxRequestBytes)});
    cluster_->WaitReady();
    store_ = Open("app/");
    ASSERT_NE(store_, nullptr);
    cf_ = store_->DefaultColumnFamily();
  }

  std::unique_ptr<Store> Open(const std::string& prefix) {
    EtcdOpenOptions options;
    options.endpoints = cluster_->Endpoints();
    options.prefix = prefix;
    options.timeout_ms = 3000;
    std::unique_ptr<Store> store;
    Status s = OpenEtcdStore(options, &store);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return store;
  }

  void Put(const std::string& key, const std::string& value) {
    Batch batch;
    batch.Put(cf_, key, value);
    ASSERT_TRUE(store_->Write({}, batch).ok());
  }

  // The value of key, or "<absent>".
  std::string Read(const std::string& key, const Snapshot* snapshot = nullptr) {
    Value value;
    ReadOptions options;
    options.snapshot = snapshot;
    Status s = store_->Get(options, cf_, key, &value);
    if (s.IsNotFound()) return "<absent>";
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::string(value.view());
  }

  std::vector<std::string> Keys(const ScanOptions& options = {}) {
    std::vector<std::string> keys;
    auto it = store_->NewIterator(cf_, options);
    for (it->Seek(options.lower_bound); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<Store> store_;
  ColumnFamily* cf_ = nullptr;
};

TEST_F(EtcdStoreTest, KeysAreTheUsersUnderThePrefix) {
  Put("a/b", "1");
  std::string binary("k\0\xff\n", 4);
  Put(binary, std::string("v\0", 2));
  ASSERT_EQ(Read("a/b"), "1");
  EXPECT_EQ(Read(binary), std::string("v\0", 2));
  EXPECT_EQ(Read("missing"), "<absent>");
  bool exists = false;
  ASSERT_TRUE(store_->Exists({}, cf_, "a/b", &exists).ok());
  EXPECT_TRUE(exists);
  ASSERT_TRUE(store_->Exists({}, cf_, "a", &exists).ok());
  EXPECT_FALSE(exists);
  // What etcdctl sees: the key with the prefix, and nothing else of ours
  // (the metadata column family lives outside the prefix).
  ColumnFamily* meta = nullptr;
  ASSERT_TRUE(store_->GetColumnFamily("meta", true, &meta).ok());
  Batch batch;
  batch.Put(meta, "a/b", "record");
  ASSERT_TRUE(store_->Write({}, batch).ok());
  EXPECT_EQ(cluster_->Etcdctl("get --prefix app/a --print-value-only"), "1\n");
  EXPECT_EQ(cluster_->Etcdctl("get --prefix app/ --keys-only | grep -c ."), "2\n");
  // A value written by etcdctl is read back verbatim.
  cluster_->Etcdctl("put app/from-etcdctl 'hello world'");
  EXPECT_EQ(Read("from-etcdctl"), "hello world");
  // Another prefix is another keyspace.
  auto other = Open("app2/");
  Value value;
  EXPECT_TRUE(other->Get({}, other->DefaultColumnFamily(), "a/b", &value).IsNotFound());
}

TEST_F(EtcdStoreTest, ConditionsHoldOrNothingIsWritten) {
  Put("dir/x", "1");
  struct Case {
    const char* what;
    void (*add)(Batch*, ColumnFamily*);
    bool holds;
  };
  const Case cases[] = {
      {"present key", [](Batch* b, ColumnFamily* cf) { b->ExpectPresent(cf, "dir/x"); }, true},
      {"absent key as present", [](Batch* b, ColumnFamily* cf) { b->ExpectPresent(cf, "nope"); },
       false},
      {"absent key", [](Batch* b, ColumnFamily* cf) { b->ExpectAbsent(cf, "nope"); }, true},
      {"present key as absent", [](Batch* b, ColumnFamily* cf) { b->ExpectAbsent(cf, "dir/x"); },
       false},
      {"empty range", [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "dir/y", "dir/z"); },
       true},
      {"range holding a key",
       [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "dir/", "dir0"); }, false},
      {"range ending at the key (exclusive)",
       [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "dir/a", "dir/x"); }, true},
      {"range starting at the key",
       [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "dir/x", "dir/y"); }, false},
      {"unbounded range", [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "dir/", ""); },
       false},
      {"unbounded range past every key",
       [](Batch* b, ColumnFamily* cf) { b->ExpectRangeEmpty(cf, "x", ""); }, true},
  };
  for (const Case& c : cases) {
    Batch batch;
    c.add(&batch, cf_);
    batch.Put(cf_, "written", c.what);
    Status s = store_->Write({}, batch);
    if (c.holds) {
      EXPECT_TRUE(s.ok()) << c.what << ": " << s.ToString();
      EXPECT_EQ(Read("written"), c.what);
    } else {
      EXPECT_TRUE(s.IsConditionFailed()) << c.what << ": " << s.ToString();
      EXPECT_NE(Read("written"), c.what) << c.what;
    }
  }
  // Keys outside the prefix (another mount's) never count.
  cluster_->Etcdctl("put app0 outside");
  Batch batch;
  batch.ExpectRangeEmpty(cf_, "zzz", "");
  EXPECT_TRUE(store_->Write({}, batch).ok());
}

TEST_F(EtcdStoreTest, OpsApplyInOrderWithinOneBatch) {
  Put("keep", "k");
  Put("r/1", "old");
  Put("r/5", "old");
  Put("r/9", "old");
  Batch batch;
  batch.Put(cf_, "a", "1");
  batch.Delete(cf_, "a");           // put then delete: absent
  batch.Delete(cf_, "b");
  batch.Put(cf_, "b", "2");         // delete then put: present
  batch.Put(cf_, "r/3", "dropped");
  batch.DeleteRange(cf_, "r/", "r0");  // removes r/1 r/3 r/5 r/9
  batch.Put(cf_, "r/5", "new");     // put inside the deleted range
  batch.Put(cf_, "r/7", "new");
  batch.Delete(cf_, "r/7");
  batch.Put(cf_, "r/7", "newer");
  ASSERT_TRUE(store_->Write({}, batch).ok());
  EXPECT_EQ(Read("a"), "<absent>");
  EXPECT_EQ(Read("b"), "2");
  EXPECT_EQ(Keys({"r/", "r0"}), (std::vector<std::string>{"r/5", "r/7"}));
  EXPECT_EQ(Read("r/5"), "new");
  EXPECT_EQ(Read("r/7"), "newer");
  EXPECT_EQ(Read("keep"), "k");
}

TEST_F(EtcdStoreTest, ScansPageThroughBoundsAndSkip) {
  // More keys than one page (256) in one txn would exceed --max-txn-ops:
  // several batches.
  std::vector<std::string> all;
  for (int i = 0; i < 700; i += 25) {
    Batch batch;
    for (int j = i; j < i + 25 && j < 700; ++j) {
      char key[16];
      std::snprintf(key, sizeof key, "k%04d", j);
      batch.Put(cf_, key, std::string(j % 7, 'v'));
      all.push_back(key);
    }
    ASSERT_TRUE(store_->Write({}, batch).ok());
  }
  Put("j", "before");
  Put("l", "after");
  EXPECT_EQ(Keys({"k", "l"}), all);
  EXPECT_EQ(Keys({"k0100", "k0110"}).size(), 10u);
  EXPECT_EQ(Keys().size(), 702u);

  auto it = store_->NewIterator(cf_, {"k", "l"});
  it->Seek("k0500");  // a later page
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k0500");
  EXPECT_EQ(it->value(), std::string(500 % 7, 'v'));
  it->SkipTo("k0502");  // inside the page
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k0502");
  it->SkipTo("k0690x");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k0691");
  it->Seek("k0001");  // backwards
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "k0001");
  it->Seek("k9");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());

  // One scan reads at one revision: a write after its first page is not
  // seen by its later pages.
  auto scan = store_->NewIterator(cf_, {"k", "l"});
  scan->Seek("k");
  Put("k0699z", "late");
  size_t n = 0;
  for (; scan->Valid(); scan->Next()) ++n;
  EXPECT_TRUE(scan->status().ok());
  EXPECT_EQ(n, 700u);
}

TEST_F(EtcdStoreTest, SnapshotsReadAtTheirRevision) {
  Put("f", "one");
  auto snapshot = store_->GetSnapshot();
  Put("f", "two");
  Put("g", "new");
  EXPECT_EQ(Read("f", snapshot.get()), "one");
  EXPECT_EQ(Read("g", snapshot.get()), "<absent>");
  EXPECT_EQ(Read("f"), "two");
  ScanOptions options;
  options.snapshot = snapshot.get();
  EXPECT_EQ(Keys(options), (std::vector<std::string>{"f"}));

  // Once the cluster compacts past the revision, reads fail clearly.
  std::string revision = cluster_->Etcdctl("get app/f -w fields | awk '/\"Revision\"/ {print $3}'");
  while (!revision.empty() && revision.back() == '\n') revision.pop_back();
  ASSERT_FALSE(revision.empty());
  cluster_->Etcdctl("compact " + revision);
  Value value;
  ReadOptions read;
  read.snapshot = snapshot.get();
  Status s = store_->Get(read, cf_, "f", &value);
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("compacted"), std::string::npos) << s.message();
}

TEST_F(EtcdStoreTest, SavedSnapshotsAreNamedRevisionsOthersSee) {
  Put("f", "one");
  ASSERT_TRUE(store_->SaveSnapshot("s1").ok());
  EXPECT_TRUE(store_->SaveSnapshot("s1").IsConditionFailed());
  Put("f", "two");
  Put("g", "new");
  // Another client (another host) lists and opens it.
  auto other = Open("app/");
  std::vector<Store::SavedSnapshot> saved;
  ASSERT_TRUE(other->ListSavedSnapshots(&saved).ok());
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].name, "s1");
  EXPECT_GT(saved[0].created_ns, 0);
  std::unique_ptr<Store> at;
  ASSERT_TRUE(other->OpenSavedSnapshot("s1", &at).ok());
  EXPECT_TRUE(at->read_only());
  Value value;
  ASSERT_TRUE(at->Get({}, at->DefaultColumnFamily(), "f", &value).ok());
  EXPECT_EQ(value.view(), "one");
  EXPECT_TRUE(at->Get({}, at->DefaultColumnFamily(), "g", &value).IsNotFound());
  Batch batch;
  batch.Put(at->DefaultColumnFamily(), "x", "y");
  EXPECT_EQ(at->Write({}, batch).code(), Code::kReadOnly);
  // Not under the user's prefix, and not in another prefix's list.
  EXPECT_EQ(cluster_->Etcdctl("get --prefix app/ --keys-only | grep -c s1"), "0\n");
  auto elsewhere = Open("app2/");
  ASSERT_TRUE(elsewhere->ListSavedSnapshots(&saved).ok());
  EXPECT_TRUE(saved.empty());

  ASSERT_TRUE(store_->DeleteSavedSnapshot("s1").ok());
  EXPECT_TRUE(store_->DeleteSavedSnapshot("s1").IsNotFound());
  EXPECT_TRUE(other->OpenSavedSnapshot("s1", &at).IsNotFound());
}

TEST_F(EtcdStoreTest, ColumnFamiliesAreSeparateAndDroppable) {
  ColumnFamily* cf = nullptr;
  EXPECT_TRUE(store_->GetColumnFamily("extra", false, &cf).IsNotFound());
  ASSERT_TRUE(store_->GetColumnFamily("extra", true, &cf).ok());
  EXPECT_EQ(store_->ColumnFamilyName(cf), "extra");
  Batch batch;
  batch.Put(cf, "x", "in extra");
  batch.Put(cf_, "x", "in default");
  ASSERT_TRUE(store_->Write({}, batch).ok());
  Value value;
  ASSERT_TRUE(store_->Get({}, cf, "x", &value).ok());
  EXPECT_EQ(value.view(), "in extra");
  EXPECT_EQ(Read("x"), "in default");
  EXPECT_EQ(store_->ListColumnFamilies(), (std::vector<std::string>{"default", "extra"}));
  // Another store on the same prefix (another host) sees it.
  auto other = Open("app/");
  ColumnFamily* seen = nullptr;
  ASSERT_TRUE(other->GetColumnFamily("extra", false, &seen).ok());
  ASSERT_TRUE(other->Get({}, seen, "x", &value).ok());
  EXPECT_EQ(value.view(), "in extra");

  ASSERT_TRUE(store_->DropColumnFamily("extra").ok());
  EXPECT_EQ(store_->ListColumnFamilies(), (std::vector<std::string>{"default"}));
  EXPECT_TRUE(store_->GetColumnFamily("extra", false, &cf).IsNotFound());
  EXPECT_EQ(store_->DropColumnFamily("default").code(), Code::kInvalidArgument);
  // Its keys are gone from etcd, the default's stay.
  EXPECT_EQ(cluster_->Etcdctl("get '' --from-key --keys-only | grep -c 'in extra'"), "0\n");
  EXPECT_EQ(Read("x"), "in default");
}

// Collects what a watch reports.
class Recorder final : public ChangeListener {
 public:
  void OnChange(ColumnFamily* cf, std::string_view key, uint64_t) override {
    std::lock_guard lock(mutex_);
    changes_.push_back(std::string(cf ? "cf:" : "?:") + std::string(key));
    cfs_.push_back(cf);
  }
  void OnChangesLost() override { lost_++; }
  // Waits up to 5 s for `n` changes; returns what came.
  std::vector<std::string> WaitFor(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (changes_.size() >= n) return changes_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mutex_);
    return changes_;
  }
  std::vector<ColumnFamily*> cfs() {
    std::lock_guard lock(mutex_);
    return cfs_;
  }
  std::atomic<int> lost_{0};

 private:
  std::mutex mutex_;
  std::vector<std::string> changes_;
  std::vector<ColumnFamily*> cfs_;
};

TEST_F(EtcdStoreTest, WatchReportsOtherClientsChangesNotOwnOnes) {
  ColumnFamily* extra = nullptr;
  ASSERT_TRUE(store_->GetColumnFamily("extra", true, &extra).ok());
  Recorder recorder;
  std::unique_ptr<ChangeWatch> watch;
  ASSERT_TRUE(store_->WatchChanges(&recorder, &watch).ok());
  // Our own writes are not reported...
  Put("mine", "1");
  // ...another client's are, in the default column family and in others,
  // puts and deletes alike; keys outside the prefix are not.
  auto other = Open("app/");
  ColumnFamily* other_extra = nullptr;
  ASSERT_TRUE(other->GetColumnFamily("extra", false, &other_extra).ok());
  Batch batch;
  batch.Put(other->DefaultColumnFamily(), "theirs", "2");
  batch.Put(other_extra, "meta", "3");
  ASSERT_TRUE(other->Write({}, batch).ok());
  cluster_->Etcdctl("put app2/elsewhere x >/dev/null");
  cluster_->Etcdctl("del app/mine >/dev/null");
  std::vector<std::string> changes = recorder.WaitFor(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // nothing more comes
  changes = recorder.WaitFor(3);
  std::sort(changes.begin(), changes.end());
  EXPECT_EQ(changes, (std::vector<std::string>{"cf:meta", "cf:mine", "cf:theirs"}));
  std::vector<ColumnFamily*> cfs = recorder.cfs();
  EXPECT_NE(std::find(cfs.begin(), cfs.end(), extra), cfs.end());
  EXPECT_NE(std::find(cfs.begin(), cfs.end(), cf_), cfs.end());
  EXPECT_EQ(recorder.lost_.load(), 0);
  watch.reset();  // stops; nothing is reported after
  cluster_->Etcdctl("put app/later x >/dev/null");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(recorder.WaitFor(0).size(), 3u);
}

TEST_F(EtcdStoreTest, ValueVersionIsTheModRevision) {
  Put("k", "1");
  Value first, again, second;
  ASSERT_TRUE(store_->Get({}, cf_, "k", &first).ok());
  ASSERT_TRUE(store_->Get({}, cf_, "k", &again).ok());
  EXPECT_NE(first.version(), 0u);
  EXPECT_EQ(first.version(), again.version());
  Put("k", "1");  // the same bytes, written again: a new version
  ASSERT_TRUE(store_->Get({}, cf_, "k", &second).ok());
  EXPECT_GT(second.version(), first.version());
}

TEST_F(EtcdStoreTest, LimitsAreTooLargeAndNothingIsApplied) {
  // A value over --max-request-bytes.
  Batch big;
  big.Put(cf_, "big", std::string(kMaxRequestBytes + 1024, 'b'));
  big.Put(cf_, "small", "s");
  Status s = store_->Write({}, big);
  EXPECT_EQ(s.code(), Code::kTooLarge) << s.ToString();
  // Far over it: gRPC's own limit on the server.
  Batch huge;
  huge.Put(cf_, "huge", std::string(4 * kMaxRequestBytes, 'h'));
  s = store_->Write({}, huge);
  EXPECT_EQ(s.code(), Code::kTooLarge) << s.ToString();
  // A txn over --max-txn-ops.
  Batch many;
  for (int i = 0; i <= kMaxTxnOps; ++i) many.Put(cf_, "m" + std::to_string(i), "v");
  s = store_->Write({}, many);
  EXPECT_EQ(s.code(), Code::kTooLarge) << s.ToString();
  EXPECT_EQ(Keys(), std::vector<std::string>{});
}

TEST_F(EtcdStoreTest, TtlPutsExpireThroughLeases) {
  EtcdOpenOptions options;
  options.endpoints = cluster_->Endpoints();
  options.prefix = "app/";
  options.ttl_seconds = 2;
  std::unique_ptr<Store> expiring;
  ASSERT_TRUE(OpenEtcdStore(options, &expiring).ok());
  Batch batch;
  batch.Put(expiring->DefaultColumnFamily(), "short-lived", "v");
  ASSERT_TRUE(expiring->Write({}, batch).ok());
  Put("kept", "k");  // through a store without ttl
  EXPECT_EQ(Read("short-lived"), "v");
  // The key carries a lease (etcdctl shows it), the other none.
  EXPECT_NE(cluster_->Etcdctl("get app/short-lived -w fields | grep '\"Lease\" : 0'"),
            "\"Lease\" : 0\n");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Read("short-lived") != "<absent>" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(Read("short-lived"), "<absent>");
  EXPECT_EQ(Read("kept"), "k");
}

TEST_F(EtcdStoreTest, ReadOnlyStoreRefusesWrites) {
  EtcdOpenOptions options;
  options.endpoints = cluster_->Endpoints();
  options.prefix = "app/";
  options.read_only = true;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(OpenEtcdStore(options, &store).ok());
  EXPECT_TRUE(store->read_only());
  Batch batch;
  batch.Put(store->DefaultColumnFamily(), "x", "y");
  EXPECT_EQ(store->Write({}, batch).code(), Code::kReadOnly);
  ColumnFamily* cf = nullptr;
  EXPECT_EQ(store->GetColumnFamily("new", true, &cf).code(), Code::kReadOnly);
}

// ---- Three members --------------------------------------------------------------

TEST(EtcdCluster3, FailsOverAndSurvivesQuorumLoss) {
  if (EtcdBinary().empty()) GTEST_SKIP() << "etcd is not installed (apt-get install etcd-server)";
  EtcdCluster cluster(3);
  cluster.WaitReady();
  EtcdOpenOptions options;
  options.endpoints = cluster.Endpoints();
  options.prefix = "ha/";
  options.timeout_ms = 3000;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(OpenEtcdStore(options, &store).ok());
  ColumnFamily* cf = store->DefaultColumnFamily();
  auto put = [&](const std::string& key) {
    Batch batch;
    batch.Put(cf, key, "v-" + key);
    return store->Write({}, batch);
  };
  ASSERT_TRUE(put("before").ok());

  // The member the client talks to dies: the next call goes to another.
  cluster.Kill(0);
  auto start = std::chrono::steady_clock::now();
  Status s = put("one-down");
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  Value value;
  EXPECT_TRUE(store->Get({}, cf, "before", &value).ok());

  // A second member dies: no quorum, calls fail with kIOError after the
  // timeout, and the store is not broken.
  cluster.Kill(1);
  start = std::chrono::steady_clock::now();
  s = store->Get({}, cf, "before", &value);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_GE(took, std::chrono::milliseconds(2900));
  EXPECT_LT(took, std::chrono::milliseconds(5000));

  // Quorum back: the same store works again, and nothing acknowledged is lost.
  cluster.Start(0);
  cluster.Start(1);
  bool recovered = false;
  for (int i = 0; i < 20 && !recovered; ++i) recovered = put("after").ok();
  EXPECT_TRUE(recovered);
  for (const char* key : {"before", "one-down", "after"}) {
    ASSERT_TRUE(store->Get({}, cf, key, &value).ok()) << key;
    EXPECT_EQ(value.view(), std::string("v-") + key);
  }
}

}  // namespace
}  // namespace rocksfs::kv
