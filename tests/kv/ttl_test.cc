// Tests of RocksOpenOptions::ttl_seconds (RocksDB's DBWithTTL).

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "kv/bulk_load.h"
#include "kv/rocks_store.h"
#include "tests/kv/admin_test_util.h"

namespace rocksfs::kv {
namespace {

using testing::AdminTempDir;
using testing::KeyValues;
using testing::OpenStore;
using testing::PutAll;
using testing::ScanAll;
using testing::VectorSource;

TEST(Ttl, ExpiredKeysGoAtCompaction) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, /*ttl_seconds=*/1);
  PutAll(store.get(), {{"k", "v"}});
  Value value;
  ASSERT_TRUE(store->Get(ReadOptions(), store->DefaultColumnFamily(), "k", &value).ok());
  EXPECT_EQ(value.view(), "v");  // the timestamp is stripped on reads
  ::sleep(2);
  // Expiry happens only in compaction: until then the key is still there.
  EXPECT_EQ(ScanAll(store.get()).size(), 1u);
  ASSERT_TRUE(store->CompactAll(store->DefaultColumnFamily()).ok());
  EXPECT_TRUE(store->Get(ReadOptions(), store->DefaultColumnFamily(), "k", &value).IsNotFound());
  EXPECT_TRUE(ScanAll(store.get()).empty());
}

TEST(Ttl, ColumnFamiliesCreatedLaterExpireToo) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, 1);
  ColumnFamily* cf = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("later", true, &cf).ok());
  Batch batch;
  batch.Put(cf, "k", "v");
  ASSERT_TRUE(store->Write(WriteOptions(), batch).ok());
  ::sleep(2);
  ASSERT_TRUE(store->CompactAll(cf).ok());
  EXPECT_TRUE(ScanAll(store.get(), cf).empty());
}

// DBWithTTL appends a 4-byte little-endian timestamp to every value: that is
// what other programs see.
TEST(Ttl, ValuesCarryAFourByteTimestamp) {
  AdminTempDir dir;
  const uint32_t before = static_cast<uint32_t>(::time(nullptr));
  {
    auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, 3600);
    PutAll(store.get(), {{"k", "value"}});
  }
  {
    auto plain = OpenStore(dir.Sub("db"), OpenMode::kReadOnly);
    const std::string raw = ScanAll(plain.get()).at("k");
    ASSERT_EQ(raw.size(), 5u + 4u);
    EXPECT_EQ(raw.substr(0, 5), "value");
    uint32_t stamp = 0;
    for (int i = 3; i >= 0; --i) stamp = (stamp << 8) | static_cast<unsigned char>(raw[5 + i]);
    EXPECT_GE(stamp, before);
    EXPECT_LE(stamp, before + 60);
  }
  auto read_only = OpenStore(dir.Sub("db"), OpenMode::kReadOnly, 3600);
  EXPECT_EQ(ScanAll(read_only.get()), (KeyValues{{"k", "value"}}));
}

TEST(Ttl, BulkLoadedValuesGetTimestampsAndExpire) {
  AdminTempDir dir;
  {
    auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, 3600);
    VectorSource source(std::vector<Record>{{"a", "1"}, {"b", "2"}});
    BulkLoadStats stats;
    ASSERT_TRUE(BulkLoad(store.get(), store->DefaultColumnFamily(), &source, {}, &stats).ok());
    EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"a", "1"}, {"b", "2"}}));
  }
  auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, 1);
  ::sleep(2);
  ASSERT_TRUE(store->CompactAll(store->DefaultColumnFamily()).ok());
  EXPECT_TRUE(ScanAll(store.get()).empty());
}

// A DB written without a TTL and opened with one: a value too short to
// hold a timestamp is a corruption status, not an aborted process
// (DBWithTTL's own iterator asserts on it).
TEST(Ttl, ValueWithoutTimestampIsCorruptionNotAbort) {
  AdminTempDir dir;
  {
    auto plain = OpenStore(dir.Sub("db"));
    PutAll(plain.get(), {{"a", "v"}, {"b", "long enough"}});
  }
  auto store = OpenStore(dir.Sub("db"), OpenMode::kReadWrite, 3600);
  auto it = store->NewIterator(store->DefaultColumnFamily(), ScanOptions());
  it->Seek("");
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(it->status().code(), Code::kCorruption) << it->status().ToString();
  // A longer value reads as its bytes minus the last four, as DBWithTTL does.
  auto from_b = store->NewIterator(store->DefaultColumnFamily(), ScanOptions());
  from_b->Seek("b");
  ASSERT_TRUE(from_b->Valid());
  EXPECT_EQ(from_b->value(), "long en");
}

TEST(Ttl, SecondaryWithTtlIsRefused) {
  AdminTempDir dir;
  { auto store = OpenStore(dir.Sub("db")); }
  RocksOpenOptions options;
  options.path = dir.Sub("db");
  options.mode = OpenMode::kSecondary;
  options.ttl_seconds = 10;
  std::unique_ptr<Store> store;
  EXPECT_EQ(OpenRocksStore(options, &store).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace rocksfs::kv
