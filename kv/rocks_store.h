// The RocksDB implementation of kv::Store.
//
// OpenRocksStore opens a RocksDB directory with every column family it holds,
// tuned for many small values, point reads and prefix scans: a block-based
// table with 10-bit whole-key bloom filters, index and filter blocks in an LRU
// block cache, LZ4 for most levels and ZSTD for the last. Users can override
// any of it with RocksDB option strings or an OPTIONS file.
//
// RocksDB-specific behaviour of the returned Store, beyond kv/store.h:
//  - Batch conditions are checked under an internal lock: a batch with range
//    conditions or range deletes excludes every other Write of this Store
//    while it runs; other batches lock only the keys they touch. Writes made
//    by another process (there can be none: the DB is locked) or by another
//    Store object on the same directory are not covered.
//  - An empty `end` in Batch::DeleteRange and Batch::ExpectRangeEmpty means
//    "no upper bound", as an empty upper_bound does in ScanOptions (and as
//    PrefixSuccessor returns for an all-0xff prefix).
//  - A null ColumnFamily* is an error (kInvalidArgument), never the default.
//  - DropColumnFamily waits for operations in flight on that column family,
//    and iterators already open on it keep reading what they saw. Afterwards
//    the handle stays allocated until the Store is destroyed, so a thread
//    racing with the drop does not crash, but every operation on it fails
//    with kNotFound. Callers must not keep using a dropped handle. The space
//    is reclaimed once the last such iterator is gone.
//  - REQUIRES: every Iterator, Snapshot and Value obtained from the Store is
//    destroyed before the Store.
//
// Thread-safety: OpenRocksStore may be called from any thread; the Store it
// returns is safe for concurrent use (see kv/store.h).
//
// This header deliberately includes no RocksDB header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

enum class OpenMode {
  kReadWrite,  // the only writer; holds the DB's LOCK file
  kReadOnly,   // a frozen view as of the open; many may be open at once, but
               // not while a read-write instance is writing
  kSecondary,  // follows a live read-write instance via TryCatchUpWithPrimary
};

// The blob-file part of our ColumnFamilyOptions defaults, as an option
// string: values of 64 KiB and more live in RocksDB's integrated blob files
// (RocksDB wiki "BlobDB"), so compaction moves a reference instead of
// rewriting the value, and blob garbage collection reclaims overwritten
// values during compaction. Blob files take the column family's
// compression. cf_options= overrides any of it (e.g. "enable_blob_files=false").
inline constexpr const char* kBlobOptions =
    "enable_blob_files=true;min_blob_size=65536;enable_blob_garbage_collection=true";

struct RocksOpenOptions {
  // The DB directory.
  std::string path;
  // kReadWrite only: create an empty DB when `path` holds none.
  bool create_if_missing = false;
  OpenMode mode = OpenMode::kReadWrite;
  // kSecondary only: where the secondary keeps its own info logs. Empty: a
  // fresh temporary directory, removed when the Store is destroyed.
  std::string secondary_path;
  // A RocksDB DBOptions string "k=v;k=v", applied on top of our defaults (or
  // of `options_file`). Unknown options are errors.
  std::string db_options;
  // A RocksDB ColumnFamilyOptions string, applied to every column family,
  // including ones created later. Unknown options are errors.
  std::string cf_options;
  // A RocksDB OPTIONS file. When set, it replaces our defaults: its DBOptions
  // and the options of its "default" column family (or of its first one)
  // apply to the DB and every column family; then the strings above apply.
  std::string options_file;
  // LRU block cache size in bytes. 0: 1/8 of physical memory, clamped to
  // [64 MiB, 4 GiB].
  uint64_t block_cache_bytes = 0;
  // Collect rocksdb::Statistics (for StatisticsText); costs a few percent.
  bool statistics = true;
  // > 0: open with RocksDB's TTL support (rocksdb::DBWithTTL): every column
  // family, including ones created later, drops values older than this many
  // seconds at its next compaction (reads may still return them until then).
  // kReadWrite and kReadOnly only (kSecondary: kInvalidArgument).
  //
  // TTL changes the stored value format: DBWithTTL appends a 4-byte
  // little-endian creation timestamp (seconds since the epoch) to every value
  // it writes and strips it on reads. Other RocksDB programs (ldb, a mount
  // without ttl=) see those 4 extra bytes, and reading a TTL-written value
  // without TTL, or writing without TTL into a DB read with it, corrupts the
  // view. So a DB written with a TTL must always be opened with one (any
  // value > 0; the value only sets when entries expire). Tables written by
  // NewTableWriter for a TTL store carry the timestamp too.
  int32_t ttl_seconds = 0;
};

// Opens (or, with create_if_missing, creates) the store at options.path with
// every column family it holds, and sets *store to it. On error, *store is
// null. Errors:
//   kNotFound         no DB at path and not creating; the message names the path
//   kBusy             a read-write open of a DB another instance holds
//                     ("database is locked by another process")
//   kInvalidArgument  a bad option string or OPTIONS file; the message names
//                     the option; or an empty path
//   kIOError, kCorruption, kNoSpace  otherwise
[[nodiscard]] Status OpenRocksStore(const RocksOpenOptions& options, std::unique_ptr<Store>* store);

}  // namespace rocksfs::kv
