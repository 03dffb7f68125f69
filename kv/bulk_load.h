// BulkLoad: imports a stream of records into a column family by building
// sorted table files in parallel and ingesting them at once.
//
// How it works, and what it guarantees:
//  - Records are collected into runs of at most `run_bytes` (keys, values
//    and bookkeeping). A full run is handed to one of `jobs` worker threads,
//    which sorts it and writes it as table files (Store::NewTableWriter) in
//    a staging directory, while the caller's thread reads on. At most `jobs`
//    runs are in flight plus the one being filled, so memory stays bounded
//    by about (jobs + 1) * run_bytes however large the input is. The only run
//    of a small input is split into up to `jobs` files written in parallel.
//  - Duplicate keys: the last record wins, within a run (a stable sort keeps
//    the last) and across runs (later runs are ingested as later files).
//  - Nothing is ingested until the whole input has been read and every file
//    written: a bad record, a read error or a full disk leaves the store as
//    it was (the staging directory is removed). Then all files are added in
//    one Store::IngestTables call, which is atomic.
//  - Runs of unsorted input overlap in key range; the store places them one
//    above the other (RocksDB: in L0, compacted in the background). Sorted
//    input (e.g. a dump) gives non-overlapping files. `compact` compacts the
//    whole column family afterwards.
//
// Thread-safety: BulkLoad may be called from any thread; the progress
// callback runs on the calling thread. Other writers of the same column
// family may run concurrently; ingested keys win over their earlier writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "kv/record_stream.h"
#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

struct BulkLoadProgress {
  enum class Phase {
    kReading,     // parsing input (and writing runs in the background)
    kWriting,     // input done; waiting for the last table files
    kIngesting,   // adding the files to the store
    kCompacting,  // options.compact
    kDone,
  };
  Phase phase = Phase::kReading;
  uint64_t records = 0;      // read so far
  uint64_t bytes_read = 0;   // input bytes consumed
  uint64_t total_bytes = 0;  // input size; 0: unknown (a pipe)
  double seconds = 0;        // since the start
};

struct BulkLoadOptions {
  // Worker threads that sort runs and write table files. 0: one per core.
  unsigned jobs = 0;
  // Bytes per run (keys, values and ~16 bytes per record).
  size_t run_bytes = size_t{64} << 20;
  // Staging directory for table files; it must be on the store's filesystem
  // for the files to be moved rather than copied. Empty: a fresh directory
  // under <store path>/.rocksfs/tmp/ (RocksDB ignores subdirectories).
  std::string staging_parent;
  // Compact the column family after the ingestion.
  bool compact = false;
  // Called on the calling thread: about every progress_interval_seconds
  // while reading, and at each phase change. May be empty.
  std::function<void(const BulkLoadProgress&)> progress;
  double progress_interval_seconds = 0.2;
};

struct BulkLoadStats {
  uint64_t records = 0;  // read from the source
  uint64_t keys = 0;     // written to table files: records minus the
                         // duplicates found within a run
  uint64_t bytes = 0;    // key + value bytes of those keys
  uint64_t runs = 0;
  uint64_t files = 0;    // table files ingested
  uint64_t skipped = 0;  // the source's skipped()
  double seconds = 0;
};

// Loads every record of `source` into `cf`, as described above. *stats is
// filled as far as the load got. Errors: the source's (kInvalidArgument for
// bad input, naming the position) and the store's (kReadOnly, kNoSpace,
// kIOError); on any error nothing is ingested.
[[nodiscard]] Status BulkLoad(Store* store, ColumnFamily* cf, RecordSource* source,
                              const BulkLoadOptions& options, BulkLoadStats* stats);

}  // namespace rocksfs::kv
