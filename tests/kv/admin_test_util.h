// Helpers for the tests of the admin layer (bulk load, dump, snapshots,
// backups): temporary directories, stores, in-memory record streams.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kv/record_stream.h"
#include "kv/rocks_store.h"
#include "kv/store.h"

namespace rocksfs::kv::testing {

// A fresh directory, removed with everything in it on destruction.
class AdminTempDir {
 public:
  AdminTempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "rocksfs-admin-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~AdminTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  AdminTempDir(const AdminTempDir&) = delete;
  AdminTempDir& operator=(const AdminTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenStore(const std::string& path,
                                        OpenMode mode = OpenMode::kReadWrite,
                                        int32_t ttl_seconds = 0) {
  RocksOpenOptions options;
  options.path = path;
  options.mode = mode;
  options.create_if_missing = mode == OpenMode::kReadWrite;
  options.block_cache_bytes = 8 << 20;
  options.ttl_seconds = ttl_seconds;
  std::unique_ptr<Store> store;
  Status s = OpenRocksStore(options, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

using KeyValues = std::map<std::string, std::string>;

inline KeyValues ScanAll(Store* store, ColumnFamily* cf = nullptr) {
  if (cf == nullptr) cf = store->DefaultColumnFamily();
  KeyValues out;
  std::unique_ptr<Iterator> it = store->NewIterator(cf, ScanOptions());
  for (it->Seek(""); it->Valid(); it->Next()) out.emplace(it->key(), it->value());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

inline void PutAll(Store* store, const KeyValues& items) {
  Batch batch;
  for (const auto& [key, value] : items) batch.Put(store->DefaultColumnFamily(), key, value);
  Status s = store->Write(WriteOptions(), batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// Records from memory, optionally failing at one position.
class VectorSource : public RecordSource {
 public:
  explicit VectorSource(std::vector<Record> records) : records_(std::move(records)) {}
  Status Next(Record* record, bool* done) override {
    if (fail_at_ >= 0 && next_ == static_cast<size_t>(fail_at_)) {
      return Status::InvalidArgument("record " + std::to_string(next_) + ": bad");
    }
    *done = next_ == records_.size();
    if (!*done) *record = records_[next_++];
    return Status::Ok();
  }
  uint64_t bytes_read() const override { return next_; }
  uint64_t total_bytes() const override { return records_.size(); }
  void FailAt(int index) { fail_at_ = index; }

 private:
  std::vector<Record> records_;
  size_t next_ = 0;
  int fail_at_ = -1;
};

// Collects what a dump writes.
class MapSink : public RecordSink {
 public:
  Status Write(std::string_view key, std::string_view value, bool has_children) override {
    items.emplace_back(std::string(key), std::string(value));
    if (has_children) with_children.emplace_back(key);
    return Status::Ok();
  }
  Status Finish() override {
    finished = true;
    return Status::Ok();
  }
  std::vector<std::pair<std::string, std::string>> items;
  std::vector<std::string> with_children;
  bool finished = false;
};

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace rocksfs::kv::testing
