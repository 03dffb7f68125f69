// Private state of Filesystem shared by its .cc files. Not a public API.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
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

// The shared state of one open file, as the page cache is on a local
// filesystem: every descriptor of the node reads and writes these bytes, so
// writes are visible at once through all of them. It exists while a handle
// is open on the node (or a truncate runs), and changes reach the store as
// whole values only, at commit (CommitLocked).
struct Filesystem::OpenFile {
  NodeId node = 0;
  std::shared_ptr<View> view;  // keeps a snapshot's store open while in use
  // Counts, guarded by Filesystem::open_files_mutex_: the entry is erased
  // from open_files_ when `handles` drops to 0.
  uint32_t handles = 0;
  uint32_t writers = 0;

  // Readers share `mutex`; writes, truncates and commits hold it alone.
  std::shared_mutex mutex;
  bool loaded = false;   // the committed value has been read
  bool changed = false;  // `data` holds the bytes; else `value` does
  kv::Value value;       // the committed value, until the first change
  std::string data;      // the bytes once changed
  bool dirty = false;    // differs from what was last committed
  TimeNs dirty_since = 0;  // when it last became dirty (commit=SECONDS)
  // The times the next commit records: the last write or truncate, and its
  // status change. mtime 0: keep the stored one (an explicit mtime set by
  // futimens after the last write, as tar and cp -a do before close).
  TimeNs mtime = 0;
  TimeNs ctime = 0;

  std::string_view bytes() const { return changed ? std::string_view(data) : value.view(); }
  // Records a change of the bytes at `now` (a write or truncate): dirty,
  // with both times pending. REQUIRES: mutex held alone.
  void Touch(TimeNs now) {
    if (!dirty) dirty_since = now;
    dirty = true;
    mtime = ctime = now;
  }
  // Makes `data` the bytes, ready for a change. REQUIRES: mutex held alone.
  std::string& Mutable() {
    if (!changed) {
      data.assign(value.view());
      value = kv::Value();
      changed = true;
    }
    return data;
  }
};

// One open descriptor (the kernel's fh). Control files hold their text.
struct Filesystem::FileHandle {
  NodeId node = 0;
  bool writable = false;
  std::shared_ptr<OpenFile> file;  // nullptr for control files
  kv::Value control_text;
};

// One open directory. Listings stream without loading the directory: each
// offset handed out names the key to resume at, in the directory's
// DirPositions, which all its handles share.
struct Filesystem::DirHandle {
  NodeId node = 0;
  std::shared_ptr<View> view;
  std::shared_ptr<DirPositions> positions;  // nullptr for control directories
  std::mutex mutex;
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
  uint64_t generation = 0; // Filesystem::commit_generation() before `value` was read

  bool is_dir() const { return role == NameRole::kPlain && dir_exists; }
  bool is_file() const {
    return file_exists && (role == NameRole::kPlain ? !dir_exists : dir_exists);
  }
};

// Hands a shared store's change reports to the Filesystem (FollowChanges).
struct Filesystem::ChangeFollower final : kv::ChangeListener {
  explicit ChangeFollower(Filesystem* fs) : fs(fs) {}
  void OnChange(kv::ColumnFamily* cf, std::string_view key, uint64_t version) override {
    fs->ForgetCachedKey(cf, key, version);
  }
  void OnChangesLost() override { fs->ForgetAllCached(); }
  Filesystem* const fs;
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

// Sets `ts` to `t` nanoseconds since the epoch (negative times included).
void SetTime(struct timespec* ts, TimeNs t);

// The names of a file's hard-link group: meta.links, or `key` alone.
std::vector<std::string> NamesOf(std::string_view key, const Metadata& meta);

}  // namespace rocksfs::fs
