#include "kv/rocks_store.h"

#include <cassert>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/statistics.h>
#include <rocksdb/status.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/db_ttl.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include "kv/rocks_status.h"

namespace rocksfs::kv {

// The opaque handle of kv/store.h. The object is never freed before the
// store, so a handle used after its drop fails cleanly; the RocksDB handle
// inside is destroyed at the drop, so that RocksDB can reclaim the space.
class ColumnFamily {
 public:
  ColumnFamily(rocksdb::ColumnFamilyHandle* handle, std::string name)
      : name(std::move(name)), id(handle->GetID()), handle(handle) {}

  const std::string name;
  const uint32_t id;
  // Held shared by every operation that uses `handle`, exclusively by the
  // drop: a drop waits for operations in flight.
  mutable std::shared_mutex mutex;
  rocksdb::ColumnFamilyHandle* handle;  // guarded by mutex; null once dropped
  // Set when a drop starts. New operations fail at once instead of taking
  // `mutex`, so a busy column family cannot starve its drop.
  std::atomic<bool> dropping{false};
};

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr size_t kStripes = 64;  // one bit each in a uint64_t mask
static_assert(kStripes == 64);

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

}  // namespace

// Declared in kv/rocks_status.h, for the other kv/*.cc files that use RocksDB.

// RocksDB's message without its "IO error: " style prefix: our Status adds
// its own code name.
std::string MessageOf(const rocksdb::Status& s) {
  const char* state = s.getState();
  return state != nullptr ? std::string(state) : s.ToString();
}

bool IsLockHeld(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string message = MessageOf(s);
  return message.find("lock") != std::string::npos &&
         (message.find("Resource temporarily unavailable") != std::string::npos ||
          message.find("No locks available") != std::string::npos);
}

// The one translation of RocksDB statuses into kv statuses.
Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  // Space exhaustion arrives as a subcode of IOError (and of Aborted for
  // SstFileManager limits), so check it before the code.
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) {
    return Status::NoSpace(MessageOf(s));
  }
  switch (s.code()) {
    case rocksdb::Status::kOk:
      return Status::Ok();
    case rocksdb::Status::kNotFound:
      return Status::NotFound(MessageOf(s));
    case rocksdb::Status::kCorruption:
      return Status::Corruption(MessageOf(s));
    case rocksdb::Status::kNotSupported:
      return Status::NotSupported(MessageOf(s));
    case rocksdb::Status::kInvalidArgument:
      return Status::InvalidArgument(MessageOf(s));
    case rocksdb::Status::kIOError:
      // The DB's LOCK file is held: by another process (EAGAIN from fcntl)
      // or by another DB object in this process (RocksDB's own registry).
      if (IsLockHeld(s)) return Status::Busy("database is locked by another process");
      return Status::IOError(MessageOf(s));
    case rocksdb::Status::kMergeInProgress:
      // We install no merge operator; seeing this means a foreign DB.
      return Status::NotSupported(MessageOf(s));
    case rocksdb::Status::kIncomplete:
      // Only with read tiers or skip limits, which we never set.
      return Status(Code::kAborted, MessageOf(s));
    case rocksdb::Status::kShutdownInProgress:
      return Status(Code::kAborted, MessageOf(s));
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kExpired:
      return Status(Code::kTimedOut, MessageOf(s));
    case rocksdb::Status::kAborted:
      return Status(Code::kAborted, MessageOf(s));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
      return Status::Busy(MessageOf(s));
    case rocksdb::Status::kCompactionTooLarge:
      // A compaction would exceed SstFileManager's space limit.
      return Status::NoSpace(MessageOf(s));
    case rocksdb::Status::kColumnFamilyDropped:
      return Status::NotFound(MessageOf(s));
    case rocksdb::Status::kMaxCode:
      break;
  }
  return Status::IOError(MessageOf(s));
}

namespace {

uint64_t DefaultBlockCacheBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  uint64_t bytes = 0;
  if (pages > 0 && page_size > 0) {
    bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 8;
  }
  return std::clamp(bytes, 64 * kMiB, 4 * kGiB);
}

void ApplyDefaults(const std::shared_ptr<rocksdb::Cache>& cache, rocksdb::DBOptions* db,
                   rocksdb::ColumnFamilyOptions* cf) {
  db->max_background_jobs = 2;
  db->bytes_per_sync = kMiB;

  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.block_cache = cache;
  table.format_version = 5;
  cf->table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf->level_compaction_dynamic_level_bytes = true;

  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType type) {
    return std::find(supported.begin(), supported.end(), type) != supported.end();
  };
  if (has(rocksdb::kLZ4Compression)) {
    cf->compression = rocksdb::kLZ4Compression;
  } else if (has(rocksdb::kSnappyCompression)) {
    cf->compression = rocksdb::kSnappyCompression;
  } else {
    cf->compression = rocksdb::kNoCompression;
  }
  cf->bottommost_compression =
      has(rocksdb::kZSTD) ? rocksdb::kZSTD : rocksdb::kDisableCompressionOption;

  // Values from 64 KiB up go to RocksDB's integrated blob files, so that
  // compaction moves a reference instead of rewriting them. Given as an
  // option string, which cf_options= overrides key by key.
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = false;
  rocksdb::ColumnFamilyOptions base = *cf;
  rocksdb::Status s = rocksdb::GetColumnFamilyOptionsFromString(config, base, kBlobOptions, cf);
  assert(s.ok());
  (void)s;
  cf->blob_compression_type = cf->compression;
}

// Sets *db and *cf from options: our defaults or the OPTIONS file, then the
// option strings on top.
Status BuildOptions(const RocksOpenOptions& options, const std::shared_ptr<rocksdb::Cache>& cache,
                    rocksdb::DBOptions* db, rocksdb::ColumnFamilyOptions* cf) {
  if (options.options_file.empty()) {
    ApplyDefaults(cache, db, cf);
  } else {
    rocksdb::ConfigOptions config;
    config.ignore_unknown_options = false;
    config.env = rocksdb::Env::Default();
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    std::shared_ptr<rocksdb::Cache> file_cache = cache;
    rocksdb::Status s =
        rocksdb::LoadOptionsFromFile(config, options.options_file, db, &descriptors, &file_cache);
    if (!s.ok()) {
      return Status::InvalidArgument("bad OPTIONS file " + options.options_file + ": " +
                                     MessageOf(s));
    }
    if (!descriptors.empty()) {
      *cf = descriptors.front().options;
      for (const auto& descriptor : descriptors) {
        if (descriptor.name == rocksdb::kDefaultColumnFamilyName) *cf = descriptor.options;
      }
    }
  }

  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = false;
  config.input_strings_escaped = false;
  if (!options.db_options.empty()) {
    rocksdb::DBOptions base = *db;
    rocksdb::Status s = rocksdb::GetDBOptionsFromString(config, base, options.db_options, db);
    if (!s.ok()) return Status::InvalidArgument("bad db_options: " + MessageOf(s));
  }
  if (!options.cf_options.empty()) {
    rocksdb::ColumnFamilyOptions base = *cf;
    rocksdb::Status s =
        rocksdb::GetColumnFamilyOptionsFromString(config, base, options.cf_options, cf);
    if (!s.ok()) return Status::InvalidArgument("bad cf_options: " + MessageOf(s));
  }
  return Status::Ok();
}

class RocksSnapshot final : public Snapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snapshot_); }

  RocksSnapshot(const RocksSnapshot&) = delete;
  RocksSnapshot& operator=(const RocksSnapshot&) = delete;

  rocksdb::DB* db() const { return db_; }
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* const db_;
  const rocksdb::Snapshot* const snapshot_;
};

class RocksIterator final : public Iterator {
 public:
  // An iterator that is never valid and reports `error`.
  explicit RocksIterator(Status error) : error_(std::move(error)) {}

  // REQUIRES: read_options carries no bounds; this sets them. With
  // `ttl_timestamps`, every value ends in DBWithTTL's 4-byte timestamp, which
  // value() leaves out; `db` is then the DBWithTTL's base DB. (DBWithTTL's
  // own iterator asserts, and so aborts the process in Debian's build, on a
  // value too short to hold one: a DB written without a TTL and opened with
  // one. Here that value is a kCorruption status instead.)
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* handle,
                rocksdb::ReadOptions read_options, const ScanOptions& options,
                bool ttl_timestamps)
      : lower_(options.lower_bound), upper_(options.upper_bound), ttl_(ttl_timestamps) {
    // The slices point into lower_ and upper_, which never move: this object
    // is heap-allocated and neither copyable nor movable.
    lower_slice_ = ToSlice(lower_);
    upper_slice_ = ToSlice(upper_);
    if (!lower_.empty()) read_options.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) read_options.iterate_upper_bound = &upper_slice_;
    iterator_.reset(db->NewIterator(read_options, handle));
  }

  RocksIterator(const RocksIterator&) = delete;
  RocksIterator& operator=(const RocksIterator&) = delete;

  void Seek(std::string_view target) override {
    if (!iterator_) return;
    if (target < lower_) target = lower_;
    iterator_->Seek(ToSlice(target));
    CheckTimestamp();
  }
  void Next() override {
    iterator_->Next();
    CheckTimestamp();
  }
  bool Valid() const override { return error_.ok() && iterator_ && iterator_->Valid(); }
  std::string_view key() const override { return ToView(iterator_->key()); }
  std::string_view value() const override {
    std::string_view value = ToView(iterator_->value());
    return ttl_ ? value.substr(0, value.size() - kTimestampBytes) : value;
  }
  Status status() const override {
    if (!error_.ok()) return error_;
    return FromRocks(iterator_->status());
  }

 private:
  static constexpr size_t kTimestampBytes = 4;  // rocksdb::DBWithTTLImpl::kTSLength

  void CheckTimestamp() {
    if (!ttl_ || !iterator_->Valid() || iterator_->value().size() >= kTimestampBytes) return;
    error_ = Status::Corruption("the value of key '" + iterator_->key().ToString(true) +
                                "' has no TTL timestamp: was the DB written without ttl=?");
  }

  Status error_;
  std::string lower_;
  std::string upper_;
  const bool ttl_ = false;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
};

// Writes one SST file with rocksdb::SstFileWriter, in the layout of the
// options it is given. For a TTL store, appends DBWithTTL's 4-byte
// little-endian timestamp to every value, as DBWithTTL's own writes do.
class RocksTableWriter final : public Store::TableWriter {
 public:
  RocksTableWriter(const rocksdb::Options& options, rocksdb::ColumnFamilyHandle* handle, bool ttl)
      : writer_(rocksdb::EnvOptions(), options, handle, /*invalidate_page_cache=*/false),
        ttl_(ttl),
        now_(static_cast<uint32_t>(std::time(nullptr))) {}

  Status Open(const std::string& file) {
    file_ = file;
    return FromRocks(writer_.Open(file));
  }

  Status Add(std::string_view key, std::string_view value) override {
    ++entries_;
    if (!ttl_) return FromRocks(writer_.Put(ToSlice(key), ToSlice(value)));
    buffer_.assign(value);
    for (int i = 0; i < 4; ++i) buffer_.push_back(static_cast<char>((now_ >> (8 * i)) & 0xff));
    return FromRocks(writer_.Put(ToSlice(key), ToSlice(buffer_)));
  }

  Status Finish(uint64_t* file_bytes) override {
    *file_bytes = 0;
    if (entries_ == 0) {
      std::error_code ec;
      std::filesystem::remove(file_, ec);
      return Status::InvalidArgument("no keys for table file " + file_);
    }
    rocksdb::ExternalSstFileInfo info;
    Status s = FromRocks(writer_.Finish(&info));
    if (s.ok()) *file_bytes = info.file_size;
    return s;
  }

 private:
  rocksdb::SstFileWriter writer_;
  const bool ttl_;
  const uint32_t now_;
  std::string file_;
  std::string buffer_;
  uint64_t entries_ = 0;
};

// Creates a fresh directory for a secondary instance's own files.
Status MakeTempDir(std::string* dir) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "rocksfs-secondary-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot create a directory for the secondary instance in " +
                           base.string());
  }
  *dir = std::move(pattern);
  return Status::Ok();
}

class RocksStore final : public Store {
 public:
  struct Parts {
    std::string path;
    OpenMode mode;
    std::string owned_secondary_dir;
    rocksdb::DBOptions db_options;
    rocksdb::ColumnFamilyOptions cf_options;
    int32_t ttl_seconds = 0;  // > 0: db is a rocksdb::DBWithTTL
    std::shared_ptr<rocksdb::Cache> cache;
    std::shared_ptr<rocksdb::Statistics> statistics;
    rocksdb::DB* db;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default first
  };

  explicit RocksStore(Parts parts)
      : path_(std::move(parts.path)),
        mode_(parts.mode),
        owned_secondary_dir_(std::move(parts.owned_secondary_dir)),
        db_options_(std::move(parts.db_options)),
        cf_options_(std::move(parts.cf_options)),
        ttl_seconds_(parts.ttl_seconds),
        cache_(std::move(parts.cache)),
        statistics_(std::move(parts.statistics)),
        db_(parts.db) {
    for (rocksdb::ColumnFamilyHandle* handle : parts.handles) {
      AddFamily(handle);
    }
    default_ = families_.front().get();
  }

  ~RocksStore() override {
    if (mode_ == OpenMode::kReadWrite) WaitForRunningCompactions();
    for (auto& family : families_) {
      db_->DestroyColumnFamilyHandle(family->handle).PermitUncheckedError();
    }
    // Close reports unreleased snapshots; there is nobody left to tell.
    db_->Close().PermitUncheckedError();
    delete db_;
    if (!owned_secondary_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(owned_secondary_dir_, ec);
    }
  }

  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  const std::string& path() const override { return path_; }
  bool read_only() const override { return mode_ != OpenMode::kReadWrite; }

  ColumnFamily* DefaultColumnFamily() override { return default_; }

  Status GetColumnFamily(std::string_view name, bool create, ColumnFamily** cf) override {
    *cf = nullptr;
    if (name.empty()) return Status::InvalidArgument("empty column family name");
    {
      std::shared_lock lock(families_mutex_);
      auto it = by_name_.find(name);
      if (it != by_name_.end()) {
        *cf = it->second;
        return Status::Ok();
      }
    }
    if (!create) return Status::NotFound("no column family named " + std::string(name));
    if (read_only()) return Status::ReadOnly();

    std::unique_lock lock(families_mutex_);
    auto it = by_name_.find(name);
    if (it != by_name_.end()) {  // created by a racing thread
      *cf = it->second;
      return Status::Ok();
    }
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    // DBWithTTL::CreateColumnFamily would give the new family no expiry.
    rocksdb::Status s =
        ttl_seconds_ > 0
            ? static_cast<rocksdb::DBWithTTL*>(db_)->CreateColumnFamilyWithTtl(
                  cf_options_, std::string(name), &handle, ttl_seconds_)
            : db_->CreateColumnFamily(cf_options_, std::string(name), &handle);
    if (!s.ok()) return FromRocks(s);
    *cf = AddFamily(handle);
    return Status::Ok();
  }

  std::vector<std::string> ListColumnFamilies() override {
    std::shared_lock lock(families_mutex_);
    std::vector<std::string> names;
    names.reserve(families_.size());
    for (const auto& family : families_) names.push_back(family->name);
    return names;
  }

  Status DropColumnFamily(std::string_view name) override {
    if (name == rocksdb::kDefaultColumnFamilyName) {
      return Status::InvalidArgument("the default column family cannot be dropped");
    }
    if (read_only()) return Status::ReadOnly();
    std::unique_lock lock(families_mutex_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      return Status::NotFound("no column family named " + std::string(name));
    }
    ColumnFamily* family = it->second;
    {
      family->dropping.store(true, std::memory_order_release);
      std::unique_lock family_lock(family->mutex);
      rocksdb::Status s = db_->DropColumnFamily(family->handle);
      if (!s.ok()) {
        family->dropping.store(false, std::memory_order_release);
        return FromRocks(s);
      }
      // Iterators already open keep what they read alive inside RocksDB.
      db_->DestroyColumnFamilyHandle(family->handle).PermitUncheckedError();
      family->handle = nullptr;
    }
    by_name_.erase(it);
    auto owner = std::find_if(families_.begin(), families_.end(),
                              [&](const auto& f) { return f.get() == family; });
    dropped_.push_back(std::move(*owner));
    families_.erase(owner);
    return Status::Ok();
  }

  std::string_view ColumnFamilyName(const ColumnFamily* cf) const override {
    return cf != nullptr ? std::string_view(cf->name) : std::string_view();
  }

  Status Get(const ReadOptions& options, ColumnFamily* cf, std::string_view key,
             Value* value) override {
    value->Reset();
    std::shared_lock<std::shared_mutex> family_lock;
    rocksdb::ReadOptions read_options;
    Status s = Prepare(cf, options.snapshot, options.fill_cache, &family_lock, &read_options);
    if (!s.ok()) return s;
    // The PinnableSlice pins the block holding the value in the block cache
    // (or, for a memtable hit, holds a copy) for as long as the Value lives.
    auto pinned = std::make_shared<rocksdb::PinnableSlice>();
    rocksdb::Status rs = db_->Get(read_options, cf->handle, ToSlice(key), pinned.get());
    if (rs.IsNotFound()) return Status::NotFound();
    if (!rs.ok()) return FromRocks(rs);
    std::string_view view = ToView(*pinned);
    *value = Value(view, std::move(pinned));
    return Status::Ok();
  }

  Status Exists(const ReadOptions& options, ColumnFamily* cf, std::string_view key,
                bool* exists) override {
    *exists = false;
    std::shared_lock<std::shared_mutex> family_lock;
    rocksdb::ReadOptions read_options;
    Status s = Prepare(cf, options.snapshot, options.fill_cache, &family_lock, &read_options);
    if (!s.ok()) return s;
    return KeyExists(read_options, cf, key, exists);
  }

  std::unique_ptr<Iterator> NewIterator(ColumnFamily* cf, const ScanOptions& options) override {
    std::shared_lock<std::shared_mutex> family_lock;
    rocksdb::ReadOptions read_options;
    Status s = Prepare(cf, options.snapshot, options.fill_cache, &family_lock, &read_options);
    if (!s.ok()) return std::make_unique<RocksIterator>(std::move(s));
    if (ttl_seconds_ > 0) {
      rocksdb::DB* base = static_cast<rocksdb::DBWithTTL*>(db_)->GetBaseDB();
      return std::make_unique<RocksIterator>(base, cf->handle, read_options, options, true);
    }
    return std::make_unique<RocksIterator>(db_, cf->handle, read_options, options, false);
  }

  Status Write(const WriteOptions& options, const Batch& batch) override;

  std::shared_ptr<const Snapshot> GetSnapshot() override {
    const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
    if (snapshot == nullptr) return nullptr;  // inplace_update_support is on
    return std::make_shared<RocksSnapshot>(db_, snapshot);
  }

  Status SyncWal() override {
    if (read_only()) return Status::Ok();
    // FlushWAL(true) also pushes out a manual_wal_flush buffer before syncing.
    return FromRocks(db_->FlushWAL(/*sync=*/true));
  }

  Status GetUsage(ColumnFamily* cf, Usage* usage) override {
    *usage = Usage();
    std::shared_lock<std::shared_mutex> family_lock;
    Status s = LockFamily(cf, &family_lock);
    if (!s.ok()) return s;
    // Properties an engine cannot provide (e.g. in read-only mode) stay 0.
    auto property = [&](const std::string& name) {
      uint64_t value = 0;
      return db_->GetIntProperty(cf->handle, name, &value) ? value : 0;
    };
    usage->estimated_keys = property("rocksdb.estimate-num-keys");
    usage->live_data_bytes =
        property("rocksdb.live-sst-files-size") + property("rocksdb.cur-size-all-mem-tables");
    usage->total_sst_bytes = property("rocksdb.total-sst-files-size");
    return Status::Ok();
  }

  std::string StatisticsText() override {
    std::string text;
    if (statistics_) text = statistics_->ToString();
    std::string stats;
    if (db_->GetProperty("rocksdb.stats", &stats)) {
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += stats;
    }
    return text;
  }

  Status TryCatchUpWithPrimary() override {
    if (mode_ != OpenMode::kSecondary) {
      return Status::NotSupported("only a secondary store follows a primary");
    }
    return FromRocks(db_->TryCatchUpWithPrimary());
  }

  Status NewTableWriter(ColumnFamily* cf, const std::string& file,
                        std::unique_ptr<TableWriter>* writer) override {
    writer->reset();
    std::shared_lock<std::shared_mutex> family_lock;
    Status s = LockFamily(cf, &family_lock);
    if (!s.ok()) return s;
    // The handle is only read here: it stamps the file with cf's id.
    auto table = std::make_unique<RocksTableWriter>(rocksdb::Options(db_options_, cf_options_),
                                                    cf->handle, ttl_seconds_ > 0);
    s = table->Open(file);
    if (!s.ok()) return s;
    *writer = std::move(table);
    return Status::Ok();
  }

  Status IngestTables(ColumnFamily* cf, const std::vector<std::string>& files) override {
    if (read_only()) return Status::ReadOnly();
    if (files.empty()) return Status::Ok();
    std::shared_lock<std::shared_mutex> family_lock;
    Status s = LockFamily(cf, &family_lock);
    if (!s.ok()) return s;
    // One call for all files: RocksDB 7.8 accepts overlapping files in one
    // ingestion and gives each a sequence number in list order (later files
    // win), placing overlapping ones in L0 and the rest as deep as they fit.
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    ingest.allow_blocking_flush = true;  // flush a memtable that overlaps
    return FromRocks(db_->IngestExternalFile(cf->handle, files, ingest));
  }

  Status CompactAll(ColumnFamily* cf) override {
    if (read_only()) return Status::ReadOnly();
    std::shared_lock<std::shared_mutex> family_lock;
    Status s = LockFamily(cf, &family_lock);
    if (!s.ok()) return s;
    rocksdb::CompactRangeOptions compact;
    // Also the bottommost level, where TTL expiry and deletions are applied,
    // but not files this very compaction wrote.
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocks(db_->CompactRange(compact, cf->handle, nullptr, nullptr));
  }

  Status CreateCheckpoint(const std::string& dir) override {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return Status::InvalidArgument(dir + " already exists");
    }
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status rs = rocksdb::Checkpoint::Create(db_, &raw);
    if (!rs.ok()) return FromRocks(rs);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush = 0: flush first, so the checkpoint needs no WAL
    // replay and opens read-only as it is. (A read-only store cannot flush;
    // its checkpoint then carries the WAL.)
    return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0));
  }

  Status CreateBackup(const std::string& backup_dir, uint32_t* backup_id) override {
    *backup_id = 0;
    std::error_code ec;
    std::filesystem::create_directories(backup_dir, ec);
    if (ec) return Status::IOError("cannot create " + backup_dir + ": " + ec.message());
    rocksdb::BackupEngine* raw = nullptr;
    rocksdb::IOStatus io = rocksdb::BackupEngine::Open(
        rocksdb::Env::Default(), rocksdb::BackupEngineOptions(backup_dir), &raw);
    if (!io.ok()) return FromRocks(io);
    std::unique_ptr<rocksdb::BackupEngine> engine(raw);
    rocksdb::CreateBackupOptions create;
    // A read-only instance cannot flush; the backup then includes the WAL.
    create.flush_before_backup = !read_only();
    rocksdb::BackupID id = 0;
    io = engine->CreateNewBackup(create, db_, &id);
    if (!io.ok()) return FromRocks(io);
    *backup_id = id;
    return Status::Ok();
  }

 private:
  // Lets flushes and compactions already running finish (for at most
  // kCloseWaitLimit) before Close cancels them. A cancelled compaction is
  // thrown away and starts over at the next open. Measured in bench.sh's
  // remount loop (rootls_1m_first, 2026-11-21): every open of the
  // 1,000,000-file DB started the same L0->L6 compaction of 19 MB
  // (0.15-0.43 s of CPU), and every unmount 0.2 s later cancelled it, 5
  // times in a row (DB/LOG), each time competing with the first listing for
  // the 2 CPUs. With the wait it ran once and finished.
  void WaitForRunningCompactions() {
    static constexpr auto kCloseWaitLimit = std::chrono::seconds(5);
    const auto deadline = std::chrono::steady_clock::now() + kCloseWaitLimit;
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t compactions = 0, flushes = 0;
      if (!db_->GetIntProperty("rocksdb.num-running-compactions", &compactions) ||
          !db_->GetIntProperty("rocksdb.num-running-flushes", &flushes) ||
          compactions + flushes == 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  ColumnFamily* AddFamily(rocksdb::ColumnFamilyHandle* handle) {
    auto family = std::make_unique<ColumnFamily>(handle, handle->GetName());
    ColumnFamily* raw = family.get();
    by_name_.emplace(raw->name, raw);
    families_.push_back(std::move(family));
    return raw;
  }

  // Checks that cf is usable and, if so, holds *lock on it so that its
  // handle stays alive until *lock is released.
  static Status LockFamily(const ColumnFamily* cf, std::shared_lock<std::shared_mutex>* lock) {
    if (cf == nullptr) return Status::InvalidArgument("null column family");
    if (!cf->dropping.load(std::memory_order_acquire)) {
      *lock = std::shared_lock(cf->mutex);
      if (cf->handle != nullptr) return Status::Ok();
      lock->unlock();
    }
    return Status::NotFound("column family " + cf->name + " was dropped");
  }

  // LockFamily, then fills read options for a read of cf.
  Status Prepare(const ColumnFamily* cf, const Snapshot* snapshot, bool fill_cache,
                 std::shared_lock<std::shared_mutex>* lock,
                 rocksdb::ReadOptions* read_options) const {
    Status s = LockFamily(cf, lock);
    if (!s.ok()) return s;
    read_options->fill_cache = fill_cache;
    if (snapshot != nullptr) {
      auto* rocks = dynamic_cast<const RocksSnapshot*>(snapshot);
      if (rocks == nullptr || rocks->db() != db_) {
        return Status::InvalidArgument("snapshot belongs to another store");
      }
      read_options->snapshot = rocks->get();
    }
    return Status::Ok();
  }

  // A point lookup rather than a bounded Seek: Get consults the bloom
  // filters, and most existence checks are for absent keys. The cost is a
  // copy of values still in the memtable.
  Status KeyExists(const rocksdb::ReadOptions& read_options, const ColumnFamily* cf,
                   std::string_view key, bool* exists) {
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(read_options, cf->handle, ToSlice(key), &value);
    if (s.IsNotFound()) {
      *exists = false;
      return Status::Ok();
    }
    if (!s.ok()) return FromRocks(s);
    *exists = true;
    return Status::Ok();
  }

  // Sets *empty to whether no key of cf lies in [begin, end); an empty end
  // is unbounded.
  Status RangeEmpty(const ColumnFamily* cf, const std::string& begin, const std::string& end,
                    bool* empty) {
    *empty = true;
    if (!end.empty() && begin >= end) return Status::Ok();
    ScanOptions scan;
    scan.lower_bound = begin;
    scan.upper_bound = end;
    RocksIterator it(db_, cf->handle, rocksdb::ReadOptions(), scan, /*ttl_timestamps=*/false);  // keys only
    it.Seek(begin);
    *empty = !it.Valid();
    return it.status();
  }

  Status CheckCondition(const Batch::Condition& condition) {
    switch (condition.kind) {
      case Batch::ConditionKind::kPresent:
      case Batch::ConditionKind::kAbsent: {
        bool exists = false;
        Status s = KeyExists(rocksdb::ReadOptions(), condition.cf, condition.key, &exists);
        if (!s.ok()) return s;
        if (condition.kind == Batch::ConditionKind::kPresent && !exists) {
          return Status::ConditionFailed("expected key is absent");
        }
        if (condition.kind == Batch::ConditionKind::kAbsent && exists) {
          return Status::ConditionFailed("key exists");
        }
        return Status::Ok();
      }
      case Batch::ConditionKind::kRangeEmpty: {
        bool empty = true;
        Status s = RangeEmpty(condition.cf, condition.key, condition.end, &empty);
        if (!s.ok()) return s;
        if (!empty) return Status::ConditionFailed("range is not empty");
        return Status::Ok();
      }
    }
    return Status::InvalidArgument("unknown condition kind");
  }

  // Appends the ops of `batch` to *out. An unbounded DeleteRange looks up the
  // last key of its column family, so callers must hold the range lock
  // exclusively when the batch has one.
  Status BuildWriteBatch(const Batch& batch, rocksdb::WriteBatch* out) {
    // Per column family, the largest key this batch has put so far: an
    // unbounded DeleteRange must cover it too.
    std::map<const ColumnFamily*, std::string_view> largest_put;
    for (const Batch::Op& op : batch.ops()) {
      rocksdb::ColumnFamilyHandle* handle = op.cf->handle;
      rocksdb::Status s;
      switch (op.kind) {
        case Batch::OpKind::kPut:
          s = out->Put(handle, ToSlice(op.key), ToSlice(op.value));
          if (auto [it, added] = largest_put.emplace(op.cf, op.key);
              !added && it->second < op.key) {
            it->second = op.key;
          }
          break;
        case Batch::OpKind::kDelete:
          s = out->Delete(handle, ToSlice(op.key));
          break;
        case Batch::OpKind::kDeleteRange:
          if (!op.value.empty()) {
            if (op.key < op.value) s = out->DeleteRange(handle, ToSlice(op.key), ToSlice(op.value));
            break;
          }
          {
            // No key sorts above every key, so delete up to the last key
            // there is (in the DB or put earlier in this batch), then that
            // key itself.
            rocksdb::Slice lower = ToSlice(op.key);
            rocksdb::ReadOptions read_options;
            read_options.iterate_lower_bound = &lower;
            std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, handle));
            it->SeekToLast();
            if (!it->status().ok()) return FromRocks(it->status());
            bool have_last = it->Valid();
            std::string last = have_last ? it->key().ToString() : std::string();
            if (auto put = largest_put.find(op.cf);
                put != largest_put.end() && (!have_last || put->second > last)) {
              last = put->second;
              have_last = true;
            }
            if (have_last && last >= op.key) {
              if (op.key < last) s = out->DeleteRange(handle, lower, ToSlice(last));
              if (s.ok()) s = out->Delete(handle, ToSlice(last));
            }
          }
          break;
      }
      if (!s.ok()) return FromRocks(s);
    }
    return Status::Ok();
  }

  size_t StripeOf(const ColumnFamily* cf, std::string_view key) const {
    size_t hash = std::hash<std::string_view>{}(key);
    hash ^= cf->id + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
    return hash % kStripes;
  }

  // Holds the write locks of one batch: the range lock exclusively, or the
  // range lock shared plus the stripes of every key in the batch.
  class WriteLocks {
   public:
    WriteLocks(RocksStore* store, const Batch& batch, bool exclusive)
        : store_(store), exclusive_(exclusive) {
      // Writer preference: an exclusive waiter holds the turnstile, so new
      // shared lockers queue behind it instead of starving it.
      if (exclusive_) {
        std::lock_guard turnstile(store_->turnstile_);
        store_->range_mutex_.lock();
        return;
      }
      {
        std::lock_guard turnstile(store_->turnstile_);
        store_->range_mutex_.lock_shared();
      }
      for (const Batch::Op& op : batch.ops()) {
        mask_ |= uint64_t{1} << store_->StripeOf(op.cf, op.key);
      }
      for (const Batch::Condition& condition : batch.conditions()) {
        mask_ |= uint64_t{1} << store_->StripeOf(condition.cf, condition.key);
      }
      // Ascending stripe order everywhere, so two batches never deadlock.
      for (size_t i = 0; i < kStripes; ++i) {
        if (mask_ & (uint64_t{1} << i)) store_->stripes_[i].lock();
      }
    }
    ~WriteLocks() {
      if (exclusive_) {
        store_->range_mutex_.unlock();
        return;
      }
      for (size_t i = kStripes; i-- > 0;) {
        if (mask_ & (uint64_t{1} << i)) store_->stripes_[i].unlock();
      }
      store_->range_mutex_.unlock_shared();
    }
    WriteLocks(const WriteLocks&) = delete;
    WriteLocks& operator=(const WriteLocks&) = delete;

   private:
    RocksStore* const store_;
    const bool exclusive_;
    uint64_t mask_ = 0;
  };

  const std::string path_;
  const OpenMode mode_;
  const std::string owned_secondary_dir_;
  const rocksdb::DBOptions db_options_;
  const rocksdb::ColumnFamilyOptions cf_options_;
  const int32_t ttl_seconds_;
  const std::shared_ptr<rocksdb::Cache> cache_;
  const std::shared_ptr<rocksdb::Statistics> statistics_;
  rocksdb::DB* const db_;

  // Guards the three containers below; ColumnFamily objects never move.
  mutable std::shared_mutex families_mutex_;
  std::vector<std::unique_ptr<ColumnFamily>> families_;  // live, default first
  std::vector<std::unique_ptr<ColumnFamily>> dropped_;   // handle-less, freed with the store
  std::map<std::string, ColumnFamily*, std::less<>> by_name_;
  ColumnFamily* default_ = nullptr;

  // Write serialisation; see WriteLocks.
  std::mutex turnstile_;
  std::shared_mutex range_mutex_;
  std::array<std::mutex, kStripes> stripes_;

  // A write that fails for want of space (the disk under the DB is full)
  // leaves RocksDB in a background-error state in which every later write
  // fails with the same error, even once space is back; DB::Resume() clears
  // it (and fails again, harmlessly, while the disk is still full). Called
  // after such a failure: resumes at most every kResumeInterval, so a full
  // disk does not turn every write into a recovery attempt. Returns true
  // when the DB accepts writes again.
  bool ResumeAfterNoSpace() {
    static constexpr auto kResumeInterval = std::chrono::milliseconds(200);
    std::lock_guard lock(resume_mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_resume_ < kResumeInterval) return false;
    last_resume_ = now;
    return db_->Resume().ok();
  }
  std::mutex resume_mutex_;
  std::chrono::steady_clock::time_point last_resume_{};
};

bool IsNoSpace(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit;
}

Status RocksStore::Write(const WriteOptions& options, const Batch& batch) {
  if (read_only()) return Status::ReadOnly();
  if (batch.ops().empty() && batch.conditions().empty()) return Status::Ok();
  bool exclusive = false;
  std::vector<const ColumnFamily*> families;
  for (const Batch::Op& op : batch.ops()) {
    families.push_back(op.cf);
    if (op.kind == Batch::OpKind::kDeleteRange) exclusive = true;
  }
  for (const Batch::Condition& condition : batch.conditions()) {
    families.push_back(condition.cf);
    if (condition.kind == Batch::ConditionKind::kRangeEmpty) exclusive = true;
  }
  // Keep every handle the batch uses alive until it is written. Drops take
  // one family lock at a time, so the order here cannot deadlock with them.
  std::sort(families.begin(), families.end());
  families.erase(std::unique(families.begin(), families.end()), families.end());
  std::vector<std::shared_lock<std::shared_mutex>> family_locks(families.size());
  for (size_t i = 0; i < families.size(); ++i) {
    Status s = LockFamily(families[i], &family_locks[i]);
    if (!s.ok()) return s;
  }

  // Room for the record headers (tag, column family, two lengths) so that
  // large values are copied into the batch once, without regrowth.
  rocksdb::WriteBatch write_batch(batch.ByteSize() + 24 * batch.ops().size() + 16);
  if (!exclusive) {
    // Copying the values is the slow part: do it before taking the locks.
    Status s = BuildWriteBatch(batch, &write_batch);
    if (!s.ok()) return s;
  }

  WriteLocks locks(this, batch, exclusive);
  for (const Batch::Condition& condition : batch.conditions()) {
    Status s = CheckCondition(condition);
    if (!s.ok()) return s;
  }
  if (exclusive) {
    Status s = BuildWriteBatch(batch, &write_batch);
    if (!s.ok()) return s;
  }
  if (write_batch.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions write_options;
  write_options.sync = options.sync;
  rocksdb::Status s = db_->Write(write_options, &write_batch);
  // After a full disk, RocksDB refuses writes until resumed: retry once
  // when space may be back (the batch failed whole, so it is not applied).
  if (IsNoSpace(s) && ResumeAfterNoSpace()) s = db_->Write(write_options, &write_batch);
  return FromRocks(s);
}

// RocksDB's info LOG (DB/LOG), written with stdio. RocksDB's own file logger
// (7.8) asserts, and so aborts the process in builds with assertions such as
// Debian's, when it is used again after a failed write; the LOG lives on the
// disk under the DB, so a full disk would end the daemon at the next log
// line. This one drops the lines it cannot write. It appends to DB/LOG and
// moves a LOG past kRotateBytes to LOG.old at open.
class InfoLogFile final : public rocksdb::Logger {
 public:
  static std::shared_ptr<rocksdb::Logger> Open(const std::string& dir,
                                               rocksdb::InfoLogLevel level) {
    static constexpr uint64_t kRotateBytes = 64 * kMiB;
    std::error_code ec;
    const std::filesystem::path path = std::filesystem::path(dir) / "LOG";
    if (std::filesystem::file_size(path, ec) > kRotateBytes && !ec) {
      std::filesystem::rename(path, std::filesystem::path(dir) / "LOG.old", ec);
    }
    FILE* file = std::fopen(path.c_str(), "ae");
    if (file == nullptr) return nullptr;
    return std::make_shared<InfoLogFile>(file, level);
  }

  InfoLogFile(FILE* file, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), file_(file) {}
  ~InfoLogFile() override { std::fclose(file_); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char message[2048];
    std::vsnprintf(message, sizeof message, format, ap);
    struct timeval now;
    gettimeofday(&now, nullptr);
    struct tm local;
    localtime_r(&now.tv_sec, &local);
    std::lock_guard lock(mutex_);
    std::fprintf(file_, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %s\n", local.tm_year + 1900,
                 local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                 static_cast<long>(now.tv_usec), message);
    std::fflush(file_);  // a failed write (a full disk) loses the line, nothing else
  }

 private:
  FILE* const file_;
  std::mutex mutex_;
};

bool DbExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
}

Status NotFoundAt(const RocksOpenOptions& options) {
  if (options.mode == OpenMode::kReadWrite) {
    return Status::NotFound("database not found at " + options.path +
                            " (use the create option to create it)");
  }
  return Status::NotFound("database not found at " + options.path);
}

}  // namespace

Status OpenRocksStore(const RocksOpenOptions& options, std::unique_ptr<Store>* store) {
  store->reset();
  if (options.path.empty()) return Status::InvalidArgument("empty database path");
  if (options.ttl_seconds < 0) return Status::InvalidArgument("negative ttl");
  if (options.ttl_seconds > 0 && options.mode == OpenMode::kSecondary) {
    return Status::InvalidArgument("ttl cannot be combined with a secondary instance");
  }

  const uint64_t cache_bytes =
      options.block_cache_bytes != 0 ? options.block_cache_bytes : DefaultBlockCacheBytes();
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(cache_bytes);
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  Status s = BuildOptions(options, cache, &db_options, &cf_options);
  if (!s.ok()) return s;

  std::shared_ptr<rocksdb::Statistics> statistics;
  if (options.statistics) {
    statistics = rocksdb::CreateDBStatistics();
    db_options.statistics = statistics;
  }
  const bool creating = options.mode == OpenMode::kReadWrite && options.create_if_missing;
  db_options.create_if_missing = creating;
  if (options.mode == OpenMode::kSecondary) db_options.max_open_files = -1;

  std::vector<std::string> names;
  if (!DbExists(options.path)) {
    if (!creating) return NotFoundAt(options);
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  } else {
    rocksdb::Status rs = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
    if (!rs.ok()) return FromRocks(rs);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : names) {
    if (name != rocksdb::kDefaultColumnFamilyName) descriptors.emplace_back(name, cf_options);
  }

  std::string secondary_path = options.secondary_path;
  std::string owned_secondary_dir;
  if (options.mode == OpenMode::kSecondary && secondary_path.empty()) {
    s = MakeTempDir(&owned_secondary_dir);
    if (!s.ok()) return s;
    secondary_path = owned_secondary_dir;
  }

  if (options.mode == OpenMode::kReadWrite && db_options.info_log == nullptr) {
    std::error_code ec;
    if (creating) std::filesystem::create_directories(options.path, ec);
    db_options.info_log = InfoLogFile::Open(options.path, db_options.info_log_level);
  }

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status rs;
  if (options.ttl_seconds > 0) {
    // Every column family gets the same TTL; see RocksOpenOptions.
    rocksdb::DBWithTTL* ttl_db = nullptr;
    rs = rocksdb::DBWithTTL::Open(db_options, options.path, descriptors, &handles, &ttl_db,
                                  std::vector<int32_t>(descriptors.size(), options.ttl_seconds),
                                  /*read_only=*/options.mode == OpenMode::kReadOnly);
    db = ttl_db;
  } else {
    switch (options.mode) {
      case OpenMode::kReadWrite:
        rs = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
        break;
      case OpenMode::kReadOnly:
        rs = rocksdb::DB::OpenForReadOnly(db_options, options.path, descriptors, &handles, &db,
                                          /*error_if_wal_file_exists=*/false);
        break;
      case OpenMode::kSecondary:
        rs = rocksdb::DB::OpenAsSecondary(db_options, options.path, secondary_path, descriptors,
                                          &handles, &db);
        break;
    }
  }
  if (!rs.ok()) {
    if (!owned_secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(owned_secondary_dir, ec);
    }
    // The DB vanished between our check and the open.
    if (rs.IsInvalidArgument() &&
        MessageOf(rs).find("does not exist (create_if_missing is false)") != std::string::npos) {
      return NotFoundAt(options);
    }
    return FromRocks(rs);
  }

  RocksStore::Parts parts;
  parts.path = options.path;
  parts.mode = options.mode;
  parts.owned_secondary_dir = std::move(owned_secondary_dir);
  parts.db_options = db_options;
  parts.cf_options = std::move(cf_options);
  parts.ttl_seconds = options.ttl_seconds;
  parts.cache = std::move(cache);
  parts.statistics = std::move(statistics);
  parts.db = db;
  parts.handles = std::move(handles);
  *store = std::make_unique<RocksStore>(std::move(parts));
  return Status::Ok();
}

}  // namespace rocksfs::kv
