// The one translation of RocksDB statuses into kv::Status (defined in
// kv/rocks_store.cc), shared by the kv/*.cc files that call RocksDB.
//
// Internal to kv/: include it only from kv/*.cc. It names rocksdb::Status
// by a forward declaration and includes no RocksDB header.
#pragma once

#include <string>

#include "kv/status.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace rocksfs::kv {

// RocksDB's message without its "IO error: " style prefix.
std::string MessageOf(const rocksdb::Status& s);
// The kv status for a RocksDB status; a held LOCK file becomes kBusy.
Status FromRocks(const rocksdb::Status& s);

}  // namespace rocksfs::kv
