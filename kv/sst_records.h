// SST files as record streams: `rocksfs load --format sst` and
// `rocksfs dump --format sst`.
//
// The files are plain RocksDB table files with the bytewise comparator, as
// written by rocksdb::SstFileWriter: `sst_dump`, `ldb ingest_extern_sst` and
// any RocksDB program's IngestExternalFile read them. Values are stored as
// they are (no TTL timestamps).
//
// Thread-safety: a source or sink belongs to one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "kv/record_stream.h"
#include "kv/status.h"

namespace rocksfs::kv {

// Reads the records of the SST file `path` in key order. Progress counts key
// and value bytes against the file's raw sizes. Errors: kNotFound,
// kCorruption (not an SST file), kIOError.
[[nodiscard]] Status OpenSstRecordSource(const std::string& path,
                                         std::unique_ptr<RecordSource>* source);

// Writes records to a new SST file at `path` (replaced if it exists). Finish
// fails with kInvalidArgument when no record was written, and then leaves no
// file behind (RocksDB cannot write an empty table).
[[nodiscard]] Status OpenSstRecordSink(const std::string& path, std::unique_ptr<RecordSink>* sink);

}  // namespace rocksfs::kv
