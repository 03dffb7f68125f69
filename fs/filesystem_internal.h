// Private state of Filesystem shared by its .cc files. Not a public API.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace rocksfs::fs {

// One tree of keys: a store, its data column family and the metadata column
// family that goes with it (created on first need unless nometa).
struct Filesystem::View {
  ViewId id = kMainView;
  std::string name;            // "" (the mount), "cf/NAME" or "snapshots/NAME"
  kv::Store* store = nullptr;
  std::unique_ptr<kv::Store> owned_store;  // a snapshot's own read-only store
  kv::ColumnFamily* data = nullptr;
  std::atomic<kv::ColumnFamily*> meta{nullptr};
  std::string meta_cf_name;
  bool read_only = false;
  TimeNs default_time = 0;     // times of keys without metadata
  std::mutex meta_create_mutex;
  // Inos handed out to new files (AllocateIno): next_ino up to ino_limit
  // (exclusive) is reserved in the metadata column family's counter.
  std::mutex ino_mutex;
  uint64_t next_ino = 0;
  uint64_t ino_limit = 0;
};

// One open file. Writable handles buffer the whole value and commit it as one
// Put; read-only handles pin the value they opened (close-to-open
// consistency: a reader keeps the value it opened).
struct Filesystem::FileHandle {
  NodeId node = 0;
  pid_t opener = 0;            // the thread that opened it (fuse_req_ctx)
  uint64_t open_seq = 0;       // writable: order of opens (see Truncate)
  bool cached = false;         // reads go through the shared page cache
  uint64_t version = 0;        // the node's commit version the value is of
  std::shared_ptr<View> view;  // keeps a snapshot's store open while in use
  bool writable = false;
  bool append = false;
  std::mutex mutex;
  std::string buffer;  // writable: the file's bytes as this handle sees them
  bool dirty = false;  // buffer differs from what was last committed
  // A write or truncate has reached this handle; a descriptor of it was
  // closed (FLUSH). Atomic: Truncate reads them under writers_mutex_ only.
  std::atomic<bool> written{false};
  std::atomic<bool> flushed{false};
  bool kill_privileges = false;  // written by non-root: commit clears setuid/setgid
  // When the last write or truncate reached this handle: the mtime its
  // commit records. 0 once an explicit mtime (futimens, as tar and cp -a
  // do before close) came after it, which the commit then keeps. Atomic:
  // SetAttr clears it under writers_mutex_, without the handle's mutex.
  std::atomic<TimeNs> modified{0};
  kv::Value value;     // read-only: the value at open
};

// One open directory: where to resume for each offset handed out by the
// last ReadDir call, so listings stream without loading the directory.
struct Filesystem::DirHandle {
  NodeId node = 0;
  std::shared_ptr<View> view;
  std::mutex mutex;
  std::map<off_t, std::string> resume;  // offset -> data key to Seek to
};

// A name resolved under a directory. Both a file and a directory may exist
// for one component (keys "blue" and "blue/x"); `role` says which one the
// name meant.
struct Filesystem::Child {
  std::string component;
  NameRole role = NameRole::kPlain;
  bool hashed = false;
  std::string key;     // parent prefix + component: the file key
  std::string prefix;  // key + delimiter: the directory prefix
  bool dir_exists = false;
  bool file_exists = false;
  kv::Value value;         // the file's value when file_exists

  bool is_dir() const { return role == NameRole::kPlain && dir_exists; }
  bool is_file() const {
    return file_exists && (role == NameRole::kPlain ? !dir_exists : dir_exists);
  }
};

// The fh values handed to the kernel are handle addresses, as in libfuse's
// passthrough_hp.cc.
inline Filesystem::FileHandle* FileHandleFrom(uint64_t fh) {
  return reinterpret_cast<Filesystem::FileHandle*>(static_cast<uintptr_t>(fh));
}
inline Filesystem::DirHandle* DirHandleFrom(uint64_t fh) {
  return reinterpret_cast<Filesystem::DirHandle*>(static_cast<uintptr_t>(fh));
}
template <typename T>
uint64_t ToFh(T* handle) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle));
}

// Stable st_ino for a key without a stored ino: FNV-1a 64 of kind + key with
// the top bit cleared (kAllocatedInoBit marks inos handed out by the mount),
// never 0 or 1. The same key has the same st_ino across remounts (git, rsync
// and make compare it).
ino_t StableIno(NodeKind kind, std::string_view key);

// The names of a file's hard-link group: meta.links, or `key` alone.
std::vector<std::string> NamesOf(std::string_view key, const Metadata& meta);

}  // namespace rocksfs::fs
