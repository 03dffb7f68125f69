// kv::Store: an ordered key-value store as rocksfs needs it.
//
// The interface is the contract between fs/ and a storage engine: point reads,
// bounded ordered scans with skip-over, atomic batches with preconditions,
// snapshots and column families. RocksDB implements it (kv/rocks_store.h); any
// other ordered engine (etcd, FoundationDB, ...) could, because nothing here
// names RocksDB types.
//
// Keys and values are arbitrary byte strings compared bytewise.
//
// Thread-safety: a Store is safe for concurrent use from any number of
// threads. Iterator and Batch objects are not: each belongs to one thread at a
// time. ColumnFamily pointers stay valid until that column family is dropped or
// the Store is destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kv/status.h"

namespace rocksfs::kv {

// An opaque handle to one column family (a separate keyspace). Owned by the
// Store that returned it.
class ColumnFamily;

// A value returned by Get: a read-only view into memory that `owner` keeps
// alive (a pinned engine block or a private string), so large values are not
// copied. Cheap to move; copies share the owner.
class Value {
 public:
  Value() = default;
  Value(std::string_view data, std::shared_ptr<const void> owner, uint64_t version = 0)
      : data_(data), owner_(std::move(owner)), version_(version) {}

  std::string_view view() const { return data_; }
  size_t size() const { return data_.size(); }
  // The engine's stamp of this version of the key: it changes whenever the
  // key is written (etcd: the key's mod_revision). 0 where the engine keeps
  // none (RocksDB); Sub and Copy give 0.
  uint64_t version() const { return version_; }
  // The bytes [offset, offset + n) (clipped to the value), sharing the owner.
  Value Sub(size_t offset, size_t n) const {
    if (offset > data_.size()) offset = data_.size();
    return Value(data_.substr(offset, n), owner_);
  }
  // A Value that owns a copy of `bytes`.
  static Value Copy(std::string_view bytes) {
    auto owner = std::make_shared<std::string>(bytes);
    std::string_view view(*owner);
    return Value(view, std::move(owner));
  }
  void Reset() {
    data_ = {};
    owner_.reset();
    version_ = 0;
  }

 private:
  std::string_view data_;
  std::shared_ptr<const void> owner_;
  uint64_t version_ = 0;
};

// A consistent point-in-time view of the whole store. Reads that name it see
// exactly the writes committed before it was taken. Release by destroying the
// last shared_ptr to it; while held, the engine keeps old versions alive.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

struct ReadOptions {
  const Snapshot* snapshot = nullptr;  // nullptr: the latest committed state
  bool fill_cache = true;              // false for one-off bulk scans
};

struct ScanOptions {
  std::string lower_bound;  // inclusive; empty: from the first key
  std::string upper_bound;  // exclusive; empty: unbounded
  const Snapshot* snapshot = nullptr;
  bool fill_cache = true;
};

// An ordered cursor over the keys of one column family within the bounds of
// its ScanOptions. After any loop, check status(): an iterator that stops
// being Valid() may have stopped on an error.
class Iterator {
 public:
  virtual ~Iterator() = default;

  // Positions at the first key >= target (and >= lower_bound).
  virtual void Seek(std::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  virtual bool Valid() const = 0;
  // REQUIRES: Valid(). The views stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;

  // Moves forward to the first key >= target. REQUIRES: Valid() and
  // target > key(). Tries a few Next() calls before falling back to Seek(),
  // which is what RocksDB's max_sequential_skip_in_iterations does: cheap when
  // the target is near, bounded when it is far.
  void SkipTo(std::string_view target);

  static constexpr int kSequentialSkips = 4;
};

// Writes applied atomically by Store::Write: either every operation is
// applied, or (on a failed condition or error) none is. Conditions are checked
// atomically with the write, against the latest state.
class Batch {
 public:
  enum class OpKind { kPut, kDelete, kDeleteRange };
  struct Op {
    OpKind kind;
    ColumnFamily* cf;
    std::string key;    // kDeleteRange: the inclusive begin
    std::string value;  // kPut: the value; kDeleteRange: the exclusive end
  };
  enum class ConditionKind { kPresent, kAbsent, kRangeEmpty };
  struct Condition {
    ConditionKind kind;
    ColumnFamily* cf;
    std::string key;  // kRangeEmpty: the inclusive begin
    std::string end;  // kRangeEmpty: the exclusive end
  };

  void Put(ColumnFamily* cf, std::string key, std::string value);
  // Moves the value out of ops()[index] (a kPut) and returns it: a caller
  // that moved a large value into the batch takes it back once the batch is
  // written, instead of copying it in. The batch must not be written again.
  std::string TakeValue(size_t index);
  void Delete(ColumnFamily* cf, std::string key);
  // Deletes every key in [begin, end).
  void DeleteRange(ColumnFamily* cf, std::string begin, std::string end);

  // The write fails with kConditionFailed unless `key` exists.
  void ExpectPresent(ColumnFamily* cf, std::string key);
  // The write fails with kConditionFailed if `key` exists.
  void ExpectAbsent(ColumnFamily* cf, std::string key);
  // The write fails with kConditionFailed if any key lies in [begin, end).
  void ExpectRangeEmpty(ColumnFamily* cf, std::string begin, std::string end);

  bool empty() const { return ops_.empty(); }
  // Bytes of keys and values held, for size limits.
  size_t ByteSize() const { return bytes_; }
  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Condition>& conditions() const { return conditions_; }

 private:
  std::vector<Op> ops_;
  std::vector<Condition> conditions_;
  size_t bytes_ = 0;
};

struct WriteOptions {
  bool sync = false;  // true: durable against a machine crash before returning
};

// Figures for statfs and `rocksfs stat`. Estimates where the engine only has
// estimates.
struct Usage {
  uint64_t estimated_keys = 0;
  uint64_t live_data_bytes = 0;  // on-disk bytes of live SST files plus memtables
  uint64_t total_sst_bytes = 0;  // on-disk bytes of all SST files
};

// Receives the changes other clients make to a store (another host's mount
// of the same etcd prefix), so that caches can follow them. Called from the
// store's own watch thread, one call at a time.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // `key` of column family `cf` was put or deleted by another client;
  // `version` is the key's Value::version after a put (the version of the
  // change after a delete). Keys of column families this store has no
  // handle for are not reported.
  virtual void OnChange(ColumnFamily* cf, std::string_view key, uint64_t version) = 0;
  // Changes may have been missed (the engine discarded the history the watch
  // had to resume from): everything cached may be stale.
  virtual void OnChangesLost() = 0;
};

// A running watch (Store::WatchChanges). Destroying it stops the watch and
// waits for a call to the listener in progress to return.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // The directory the store lives in.
  virtual const std::string& path() const = 0;
  // True for read-only and secondary opens: every Write fails with kReadOnly.
  virtual bool read_only() const = 0;

  virtual ColumnFamily* DefaultColumnFamily() = 0;
  // Finds the column family `name`; with `create`, creates it when missing.
  // Errors: kNotFound (missing, !create), kReadOnly (create on a read-only
  // store), kInvalidArgument (empty name).
  virtual Status GetColumnFamily(std::string_view name, bool create, ColumnFamily** cf) = 0;
  // The names of all column families, "default" first.
  virtual std::vector<std::string> ListColumnFamilies() = 0;
  // Drops a column family and invalidates its handle. The default one cannot
  // be dropped (kInvalidArgument).
  virtual Status DropColumnFamily(std::string_view name) = 0;
  virtual std::string_view ColumnFamilyName(const ColumnFamily* cf) const = 0;

  // Reads `key`. Errors: kNotFound when absent.
  virtual Status Get(const ReadOptions& options, ColumnFamily* cf, std::string_view key,
                     Value* value) = 0;
  // True when `key` exists. Cheaper than Get where the engine can skip the value.
  virtual Status Exists(const ReadOptions& options, ColumnFamily* cf, std::string_view key,
                        bool* exists) = 0;
  virtual std::unique_ptr<Iterator> NewIterator(ColumnFamily* cf, const ScanOptions& options) = 0;

  // Applies `batch` atomically. Errors: kConditionFailed, kReadOnly, kNoSpace,
  // kIOError. A batch with range conditions or range deletes excludes all
  // other writers while it runs.
  virtual Status Write(const WriteOptions& options, const Batch& batch) = 0;

  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;
  // Makes every write committed so far durable against a machine crash.
  virtual Status SyncWal() = 0;

  virtual Status GetUsage(ColumnFamily* cf, Usage* usage) = 0;
  // Engine statistics as text, for people.
  virtual std::string StatisticsText() = 0;

  // For a store that follows another process's writes (a RocksDB secondary):
  // makes writes the primary committed so far visible to later reads. Column
  // families the primary created after the open stay invisible. Errors:
  // kNotSupported for every other kind of store (the default).
  virtual Status TryCatchUpWithPrimary() {
    return Status::NotSupported("this store does not follow a primary");
  }

  // For a store that other clients write at the same time (etcd): reports
  // every change they make from now on to `listener` (which must outlive
  // *watch), on a thread of the store's own, until *watch is destroyed.
  // Changes this Store makes itself are not reported. A watch that loses
  // its server reconnects by itself and resumes where it stopped. Errors:
  // kNotSupported for stores that no other client writes (the default).
  virtual Status WatchChanges(ChangeListener* listener, std::unique_ptr<ChangeWatch>* watch) {
    return Status::NotSupported("no other client writes this store");
  }

  // ---- Administration: bulk loads, checkpoints, backups (the rocksfs tool,
  // kv/bulk_load.h, kv/snapshots.h, kv/backup.h). Each default returns
  // kNotSupported, for engines that cannot do it.

  // A writer of one sorted table file that IngestTables can add to the
  // column family it was made for. Belongs to one thread at a time.
  class TableWriter {
   public:
    virtual ~TableWriter() = default;
    // REQUIRES: keys strictly increasing (bytewise) across calls.
    virtual Status Add(std::string_view key, std::string_view value) = 0;
    // Completes the file and sets *file_bytes to its size. Errors:
    // kInvalidArgument when nothing was added (no file is left behind).
    virtual Status Finish(uint64_t* file_bytes) = 0;
  };

  // Creates the table file `file` (which must not exist), laid out for `cf`:
  // its compression, filters and value format (e.g. TTL timestamps).
  virtual Status NewTableWriter(ColumnFamily* cf, const std::string& file,
                                std::unique_ptr<TableWriter>* writer) {
    return Status::NotSupported("this store cannot write table files");
  }
  // Adds the keys of `files` (made by NewTableWriter for this cf) to cf,
  // atomically: every key or none. Files may overlap; where several hold one
  // key, the one later in `files` wins, and every file wins over what cf held
  // before. The files are moved into the store (hard links when on the same
  // filesystem) and gone from their place afterwards. Errors: kReadOnly,
  // kInvalidArgument, kIOError, kNoSpace.
  virtual Status IngestTables(ColumnFamily* cf, const std::vector<std::string>& files) {
    return Status::NotSupported("this store cannot ingest table files");
  }
  // Rewrites all of cf's data into its final, fully compacted form (drops
  // deleted and expired entries). Blocks until done.
  virtual Status CompactAll(ColumnFamily* cf) {
    return Status::NotSupported("this store cannot compact");
  }
  // Writes an openable copy of the whole store as of now into `dir`, which
  // must not exist (its parent must). Costs hard links where the engine can.
  // Errors: kInvalidArgument (dir exists), kIOError, kNoSpace.
  virtual Status CreateCheckpoint(const std::string& dir) {
    return Status::NotSupported("this store cannot create checkpoints");
  }
  // Adds an incremental backup of the whole store to the backup directory
  // `backup_dir` (created when missing) and sets *backup_id to its number.
  // Works on read-only stores too (it then copies the write-ahead log).
  virtual Status CreateBackup(const std::string& backup_dir, uint32_t* backup_id) {
    return Status::NotSupported("this store cannot create backups");
  }

  // ---- Stored snapshots that the engine keeps itself, by name (etcd: a
  // revision recorded outside the user's keys). Other clients of the same
  // store see them, and they survive the Store. The RocksDB store keeps its
  // stored snapshots as checkpoint directories instead (kv/snapshots.h), and
  // these return kNotSupported. REQUIRES: `name` passed ValidateSnapshotName
  // (kv/snapshots.h).
  struct SavedSnapshot {
    std::string name;
    int64_t created_ns = 0;  // wall clock, nanoseconds since the epoch
  };
  // Records the current state as `name`. Errors: kConditionFailed (exists),
  // kReadOnly.
  virtual Status SaveSnapshot(const std::string& name) {
    return Status::NotSupported("this store keeps no named snapshots");
  }
  virtual Status ListSavedSnapshots(std::vector<SavedSnapshot>* out) {
    return Status::NotSupported("this store keeps no named snapshots");
  }
  // Errors: kNotFound, kReadOnly.
  virtual Status DeleteSavedSnapshot(const std::string& name) {
    return Status::NotSupported("this store keeps no named snapshots");
  }
  // A read-only Store that reads the whole store as it was when `name` was
  // saved. Errors: kNotFound; reads through it fail with kIOError once the
  // engine has discarded that state (etcd: compacted past it).
  virtual Status OpenSavedSnapshot(const std::string& name, std::unique_ptr<Store>* out) {
    return Status::NotSupported("this store keeps no named snapshots");
  }
};

// The smallest key greater than every key that starts with `prefix`, or ""
// when there is none (prefix empty or all 0xff). Use it as an exclusive
// upper bound for a prefix scan.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace rocksfs::kv
