// Filesystem: POSIX file and directory semantics over a kv::Store.
//
// This is the core of rocksfs, callable without a kernel: every operation
// takes nodeids and names, returns 0 or a positive errno, and knows nothing of
// FUSE (fs/fuse_adapter.cc is the thin layer that unpacks requests and
// replies). The mapping it implements:
//   - the mounted column family holds the user's keys verbatim; a key split on
//     the delimiter is a path (names escaped by PathCodec);
//   - a directory exists while a key lies under its prefix, or while the
//     metadata column family holds a marker for it (mkdir, or a directory
//     whose last entry was removed through the mount);
//   - every descriptor of an open file shares one state (OpenFile), as the
//     page cache is shared on a local filesystem: writes, O_TRUNC and
//     truncate are visible at once through every descriptor of the mount;
//   - the store changes by whole values only: an open file's bytes reach it
//     as one Put when a writable descriptor is closed (flush) or released,
//     when the file is fsync'd, and at least every commit interval while a
//     writer keeps it open, so other readers of the store see the old value
//     or the new one, never a mix;
//   - every namespace change (create, unlink, mkdir, rmdir, rename) is one
//     atomic kv::Batch;
//   - /.rocksfs, reachable by name but never listed, shows stored snapshots
//     (read-only trees), the other column families, and statistics. Each of
//     those trees is a View: a store, a data column family and its metadata
//     column family.
//
// Errors are the errno values of ../shared/SPEC.md: ENOENT, EEXIST, ENOTDIR,
// EISDIR, ENOTEMPTY, EINVAL, ENAMETOOLONG, EFBIG, EROFS, EXDEV, EPERM,
// ENOTSUP, ENOSPC, EIO, EBADF. Failures of the store are logged once here.
//
// Thread-safety: every method may be called from any number of threads at
// once. File and directory handles (the uint64_t fh values) must not be used
// after Release/ReleaseDir.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <thread>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs/counters.h"
#include "fs/inode_table.h"
#include "fs/metadata.h"
#include "fs/path_codec.h"
#include "kv/store.h"

namespace rocksfs::fs {

// The stored snapshots of the mounted database (SPEC section 5), provided by
// the caller so that fs/ needs no engine specifics (kv/snapshots.h is the
// RocksDB one). Thread-safety: must be safe to call from any thread.
class SnapshotCatalog {
 public:
  struct Info {
    std::string name;
    TimeNs created = 0;
  };
  virtual ~SnapshotCatalog() = default;
  virtual kv::Status List(std::vector<Info>* out) = 0;
  // Takes a point-in-time snapshot of the whole database. kInvalidArgument
  // for a bad name; kConditionFailed when it exists.
  virtual kv::Status Create(const std::string& name) = 0;
  virtual kv::Status Delete(const std::string& name) = 0;
  // Opens a snapshot read-only.
  virtual kv::Status Open(const std::string& name, std::unique_ptr<kv::Store>* out) = 0;
};

struct FilesystemOptions {
  char delimiter = '/';
  std::string column_family = "default";
  bool nometa = false;            // never create the metadata column family
  bool sync = false;              // every commit syncs the WAL
  uint64_t max_value_size = 256ull << 20;  // bytes; EFBIG beyond
  Defaults defaults;              // owner and modes for keys without metadata;
                                  // defaults.time is filled in by Create()
  // A directory rename moves every key under it in one batch; past these
  // limits it fails with EXDEV so that mv(1) falls back to copying.
  uint64_t max_rename_keys = 100000;
  uint64_t max_rename_bytes = 256ull << 20;
  SnapshotCatalog* snapshots = nullptr;  // nullptr: no snapshots (mkdir: ENOTSUP)
  // Others write the store behind the kernel's back: a RocksDB primary
  // (secondary instance: FollowPrimary() catches up periodically) or other
  // hosts of a cluster (FollowChanges() watches them). Opens keep the page
  // cache only while the value's store version (kv::Value::version) is the
  // one the kernel cached, so never on RocksDB, and the kernel caches no
  // listings.
  bool secondary = false;
  // Keys expire (RocksDB TTL, mount option ttl=) and vanish at compaction,
  // unseen by the kernel: listings are not cached by the kernel.
  bool expiring_keys = false;
  // A file kept open for writing is committed once its oldest uncommitted
  // change is this old (nanoseconds; mount option commit=SECONDS, default
  // 5 s as ext4's commit=). 0: only close, fsync and release commit.
  TimeNs commit_interval_ns = 5'000'000'000;
};

// Who is asking (fuse_req_ctx): new files and directories take its ids.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The result of a lookup-like call. node == 0 means "no such name": the FUSE
// adapter replies with a negative entry so the kernel caches the miss.
struct Entry {
  NodeId node = 0;
  struct stat attr {};
};

struct SetAttrRequest {
  std::optional<mode_t> mode;      // permission bits (and S_ISUID etc.)
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<uint64_t> size;    // truncate / extend with zeros
  std::optional<TimeNs> atime;
  std::optional<TimeNs> mtime;
};

// Bytes returned by Read: `data` views memory kept alive by the Value.
struct ReadResult {
  kv::Value data;
};

// Flags the adapter turns into fuse_file_info bits.
//
// Every handle of a file goes through the kernel's page cache, which holds
// the same bytes as the file's shared state here: all changes to a file's
// data come through the kernel of this mount, so the cache stays valid
// across opens (except where others write behind the kernel's back, see
// FilesystemOptions::secondary, and for control files, generated at each
// open).
struct OpenResult {
  uint64_t fh = 0;
  bool keep_cache = true;   // the page cache may be kept across opens
  bool noflush = false;     // nothing to commit at close (read-only handle)
  bool direct_io = false;   // bypass the page cache (control files)
};

struct DirEntry {
  std::string name;
  struct stat attr {};  // st_ino and the type bits always; the rest with plus
  NodeId node = 0;      // plus only: a node with one lookup added
};

// Receives directory entries; returns false when its buffer is full (the
// entry was not taken and will be offered again by the next ReadDir).
using DirFiller = std::function<bool(const DirEntry& entry, off_t next_offset)>;

// The kernel's caches of names and inodes, which the core invalidates when
// it changes something the kernel could not see. Implemented by the adapter.
class KernelCache {
 public:
  virtual ~KernelCache() = default;
  // Drops the node's cached pages and attributes before returning. Safe
  // from flush, fsync and release of that node (not from its setattr).
  virtual void InvalidateInode(NodeId node) = 0;
  // Drops a cached name, asynchronously: the caller may hold the kernel's
  // lock on `parent` (rmdir, rename), so it must not wait for it.
  virtual void InvalidateEntry(NodeId parent, std::string_view name) = 0;
};

class Filesystem {
 public:
  // Opens the filesystem view of `store` (which must outlive it). Fails with
  // a one-line *error when the column family or delimiter is unusable.
  [[nodiscard]] static int Create(kv::Store* store, FilesystemOptions options,
                                  std::unique_ptr<Filesystem>* out, std::string* error);
  ~Filesystem();

  void SetKernelCache(KernelCache* cache) { kernel_cache_ = cache; }
  // True when the mounted store is read-only (every view is then read-only).
  bool read_only() const { return read_only_; }
  Counters& counters() { return counters_; }
  // Seconds the kernel may cache an entry or attributes of `node`: 0 for
  // control nodes whose content changes behind the kernel's back, else -1
  // (use the mount's timeout).
  double CacheTimeout(NodeId node) const;
  const FilesystemOptions& options() const { return options_; }

  [[nodiscard]] int Lookup(NodeId parent, std::string_view name, Entry* out);
  void Forget(NodeId node, uint64_t count);
  // Attributes of an open file are those of its shared state: the size of
  // its uncommitted bytes, and the time of its last write or truncate.
  [[nodiscard]] int GetAttr(NodeId node, struct stat* out);
  // A size change applies to the file's shared state at once (every
  // descriptor sees it); it is committed at once when no descriptor is open
  // for writing, else with the writers' next commit. EFBIG past
  // max_value_size, EISDIR for a directory.
  [[nodiscard]] int SetAttr(NodeId node, uint64_t fh, const SetAttrRequest& request,
                            struct stat* out);

  // Opens a file. Every handle of a node shares one state (see OpenFile in
  // filesystem_internal.h); the first open reads the committed value.
  // O_TRUNC (the kernel passes it with FUSE_CAP_ATOMIC_O_TRUNC) empties the
  // file for every descriptor at once. Errors: ENOENT, EISDIR, EACCES
  // (writing a control file), EROFS, ESTALE (the name was replaced since
  // the kernel resolved it: the kernel looks it up again).
  [[nodiscard]] int Open(NodeId node, int flags, OpenResult* out);
  [[nodiscard]] int Create(NodeId parent, std::string_view name, mode_t mode, int flags,
                           const Caller& caller, Entry* entry, OpenResult* out);
  // Reads the file's current bytes (uncommitted writes included). fh == 0
  // reads the committed value (zero-message opens on read-only mounts).
  [[nodiscard]] int Read(NodeId node, uint64_t fh, uint64_t offset, size_t size, ReadResult* out);
  // Writes into the file's shared state at `offset` (the kernel resolves
  // O_APPEND offsets; it also clears setuid/setgid bits with a SETATTR).
  // EBADF for a read-only handle, EFBIG past max_value_size.
  [[nodiscard]] int Write(uint64_t fh, uint64_t offset, std::string_view data, size_t* written);
  // close(2) of a writable descriptor: commits the file's uncommitted bytes
  // (every close, whichever process closes a copy of the descriptor).
  [[nodiscard]] int Flush(uint64_t fh);
  // Commits the file if it has uncommitted bytes (through any descriptor)
  // and makes every commit durable against a machine crash (WAL sync).
  [[nodiscard]] int Fsync(uint64_t fh, bool datasync);
  // fsync of a directory: makes every commit so far durable.
  [[nodiscard]] int FsyncDir(NodeId node, bool datasync);
  // Frees fh. A writable handle commits what is still uncommitted (mmap
  // writes written back after close); the last handle of a node drops its
  // shared state. A commit that fails here is logged: nothing can report it.
  void Release(uint64_t fh);

  // Regular files (type S_IFREG or none) as Create does; FIFOs, sockets and
  // character and block devices (with `rdev`) as a key with an empty value
  // and a record holding the type: EPERM under nometa, and for other types.
  [[nodiscard]] int Mknod(NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
                          const Caller& caller, Entry* out);
  [[nodiscard]] int Mkdir(NodeId parent, std::string_view name, mode_t mode, const Caller& caller,
                          Entry* out);
  [[nodiscard]] int Unlink(NodeId parent, std::string_view name);
  [[nodiscard]] int Rmdir(NodeId parent, std::string_view name);
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (files only).
  [[nodiscard]] int Rename(NodeId parent, std::string_view name, NodeId new_parent,
                           std::string_view new_name, unsigned flags);
  [[nodiscard]] int Symlink(std::string_view target, NodeId parent, std::string_view name,
                            const Caller& caller, Entry* out);
  [[nodiscard]] int Readlink(NodeId node, std::string* target);
  // A hard link: a second key holding the same value, and the same record
  // (mode, owner, times, st_ino, xattrs, and the list of every name) under
  // each name; commits, truncates and metadata changes through any name
  // write every name in one batch. Errors: EPERM for a directory or under
  // nometa, EXDEV across views, EEXIST, ENOENT.
  [[nodiscard]] int Link(NodeId node, NodeId new_parent, std::string_view new_name, Entry* out);

  // Opens a directory handle. *cache_listing (when given) says whether the
  // kernel may keep the listing in its readdir cache across opens: yes
  // unless names change behind the kernel's back (secondary mounts, keys
  // that expire, nometa's directories of keys only, the control directory). The kernel drops a cached listing
  // itself when a name in it changes through the mount, and the core
  // invalidates the directory (KernelCache) for changes it makes itself.
  [[nodiscard]] int OpenDir(NodeId node, uint64_t* fh, bool* cache_listing = nullptr);
  // Streams entries from `offset` (0 = start; otherwise a next_offset that
  // any handle of this directory passed to its filler: offsets are shared,
  // see fs/dir_positions.h). "." and ".." come first. With `plus`,
  // entries carry full attributes and a lookup each.
  [[nodiscard]] int ReadDir(NodeId node, uint64_t fh, off_t offset, bool plus,
                            const DirFiller& fill);
  void ReleaseDir(uint64_t fh);

  [[nodiscard]] int StatFs(struct statvfs* out);

  // access(2) without -o default_permissions (with it the kernel checks
  // modes itself and never asks). rocksfs then checks no permissions, so
  // this agrees with what open and exec do: X_OK on a regular file with no
  // execute bit is EACCES (the kernel refuses to exec it), W_OK on a
  // read-only tree EROFS, everything else 0. `mask`: F_OK or R_OK|W_OK|X_OK.
  [[nodiscard]] int Access(NodeId node, int mask);

  // Extended attributes (user.* only; others ENOTSUP). flags: XATTR_CREATE,
  // XATTR_REPLACE. GetXattr/ListXattr with size 0 report the size needed;
  // a too-small size gives ERANGE. Limits: names of 1 to 255 bytes
  // ("user." alone is EINVAL, longer ERANGE), values up to 64 KiB (E2BIG),
  // and the names and values of one file together up to 256 KiB (ENOSPC,
  // as ext4 when its xattr block is full).
  [[nodiscard]] int SetXattr(NodeId node, std::string_view name, std::string_view value, int flags);
  [[nodiscard]] int GetXattr(NodeId node, std::string_view name, std::string* value);
  [[nodiscard]] int ListXattr(NodeId node, std::string* names);  // NUL-separated
  [[nodiscard]] int RemoveXattr(NodeId node, std::string_view name);

  InodeTable& inodes() { return inodes_; }

  // Secondary mounts: catches up with the primary every `period_ms` on a
  // thread of its own until the Filesystem is destroyed.
  void FollowPrimary(uint32_t period_ms);

  // Shared stores (etcd): follows the changes other clients make
  // (kv::Store::WatchChanges) and drops what the kernel caches of the names,
  // attributes, pages and listings they touch, through the KernelCache,
  // which must be set before and stay set until StopFollowingChanges. Only
  // the mounted tree is followed (not /.rocksfs/cf/NAME views). Errors:
  // an errno with a one-line *error when the watch cannot start.
  [[nodiscard]] int FollowChanges(std::string* error);
  // Stops following (waits for an invalidation in progress). Idempotent;
  // the destructor calls it too.
  void StopFollowingChanges();

  // Opaque to users; defined in fs/filesystem_internal.h.
  struct OpenFile;
  struct FileHandle;
  struct DirHandle;
  struct Child;
  struct View;

 private:
  Filesystem(kv::Store* store, FilesystemOptions options);

  // Views: the mounted tree is view 0; others open on first lookup.
  std::shared_ptr<View> ViewOf(ViewId id) const;
  std::shared_ptr<View> ViewOf(const NodeInfo& node) const { return ViewOf(node.view); }
  int OpenColumnFamilyView(const std::string& name, std::shared_ptr<View>* out);
  int OpenSnapshotView(const std::string& name, std::shared_ptr<View>* out);
  std::shared_ptr<View> NewView(kv::Store* store, kv::ColumnFamily* data,
                                const std::string& data_name, bool read_only);

  // Resolves `name` under directory `parent`. Returns 0 and fills *child, or
  // an errno (ENOENT, ENOTDIR, ENAMETOOLONG, EINVAL).
  int ResolveChild(View& view, const NodeInfo& parent, std::string_view name, Child* child);
  int ResolveHashed(View& view, const NodeInfo& parent, std::string_view name, Child* child);
  bool DirExists(View& view, std::string_view prefix, kv::Status* status);
  // A marker for this directory or any directory below it.
  bool DirHasMarkerBelow(View& view, std::string_view prefix);
  bool DirIsEmpty(View& view, std::string_view prefix, std::string_view ignoring_key,
                  kv::Status* status);
  // The record of directory `prefix` or, without one, the defaults it shows.
  Metadata DirMetaOrDefaults(View& view, std::string_view prefix);
  // An entry of directory `prefix` was added, removed or renamed: adds its
  // record with mtime and ctime `now` to `batch` (a directory without a
  // record gets one, which also keeps it alive once its last key is gone).
  // `meta`: its record as loaded. Nothing under nometa.
  void TouchDirectory(View& view, std::string_view prefix, Metadata meta, TimeNs now,
                      kv::Batch* batch);
  void TouchDirectory(View& view, std::string_view prefix, TimeNs now, kv::Batch* batch);

  bool LoadMeta(View& view, std::string_view meta_key, Metadata* meta);
  // The record of a node: by its key, or the one kept for a detached file.
  bool LoadNodeMeta(View& view, const NodeInfo& info, Metadata* meta);
  int EnsureMeta(View& view);
  void FillAttr(const View& view, NodeKind kind, std::string_view key, uint64_t size,
                const Metadata* meta, struct stat* st) const;
  int FillEntry(View& view, NodeId parent, const Child& child, Entry* out, uint64_t lookups);
  int StatKey(View& view, NodeKind kind, std::string_view key, const NodeInfo* node,
              struct stat* st);
  // New files, directories, symlinks and special files (namespace_ops.cc).
  // REQUIRES: !options_.nometa.
  // A fresh st_ino (kAllocatedInoBit set): numbers are reserved in blocks
  // in the metadata column family's counter, so none is handed out twice,
  // across remounts and crashes too.
  int AllocateIno(View& view, uint64_t* ino);
  // The record of a new entry of `parent`: the caller's owner (a setgid
  // parent's group, and setgid for a subdirectory), a fresh ino, times now;
  // adds the parent's new mtime and ctime to `batch`.
  int PrepareNewEntry(View& view, mode_t mode, dev_t rdev, const Caller& caller,
                      const NodeInfo& parent, Metadata* meta, kv::Batch* batch);
  // A key holding `value` whose record says what it is (symlink, FIFO...).
  int CreateTyped(NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
                  std::string_view value, const Caller& caller, Entry* out);

  // Hard-link groups (hard_links.cc). A group's names hold equal values and
  // equal records; meta.links lists them.
  // Puts `meta` as the record of every name of key's group (meta.links, or
  // `key` alone).
  void PutMetaForAllNames(View& view, std::string_view key, const Metadata& meta,
                          kv::Batch* batch);
  // Puts `value`, and `meta` as the record, under every name of key's group:
  // what a commit or truncate writes. `meta` nullptr (nometa): `key` alone,
  // no record. Returns the index of the put that holds `value` itself (the
  // other names get copies), for kv::Batch::TakeValue.
  size_t PutValueForAllNames(View& view, std::string_view key, const Metadata* meta,
                             std::string value, kv::Batch* batch);
  // `key` leaves its group (unlink, or replaced by a rename): rewrites the
  // records of the other names with the shorter list and ctime `now`.
  void LeaveGroup(View& view, std::string_view key, const Metadata& meta, TimeNs now,
                  kv::Batch* batch);
  // After a change through `key` (of node `anchor`'s view): the kernel's
  // attributes and pages of the group's other names are stale. `value`: the
  // value committed, which their open files without uncommitted bytes of
  // their own take (a group's names are separate nodes: their descriptors
  // share bytes at commit, not at each write). REQUIRES: no OpenFile mutex
  // held.
  void OtherNamesChanged(NodeId anchor, std::string_view key, const Metadata& meta,
                         const std::string* value = nullptr);

  // Writers counted on `file` (open_files_mutex_ taken).
  uint32_t WritersOf(const OpenFile& file);
  // Open files (file_ops.cc). AcquireOpenFile finds or makes the node's
  // shared state and counts a handle on it (`writable`: a writer too); in a
  // read-only view every handle gets a state of its own;
  // ReleaseOpenFile uncounts it and drops the state with its last handle.
  // Neither takes OpenFile::mutex.
  std::shared_ptr<OpenFile> AcquireOpenFile(const std::shared_ptr<View>& view, NodeId node,
                                            bool writable);
  void ReleaseOpenFile(const std::shared_ptr<OpenFile>& file, bool writable);
  // The node's shared state if it is open, else nullptr.
  std::shared_ptr<OpenFile> FindOpenFile(NodeId node);
  // Reads the committed value on first use. REQUIRES: file.mutex held alone.
  int LoadLocked(OpenFile& file, const NodeInfo& info);
  // Shared stores: whether the kernel may keep the pages it caches of `node`
  // at an open that loaded the value of store version `version`
  // (kv::Value::version): only if they are of that same version. Records
  // `version` as the one the kernel will cache.
  bool KeepPagesOf(NodeId node, uint64_t version);
  // Shows an open file's size and pending times in `st`, if it is open;
  // returns whether it was.
  bool ApplyOpenFile(NodeId node, struct stat* st);
  // Attributes of a file key read from the store (`size`) before a commit
  // may be older than the commit: a file written and closed between the
  // read and ApplyOpenFile shows neither its open state nor its new value.
  // The caller notes commit_generation() before reading; if the node was
  // committed since and is not open, FreshSize reads its size and times
  // again (one RocksDB read only in that race).
  uint64_t commit_generation() const { return commit_generation_.load(std::memory_order_acquire); }
  void FreshSize(View& view, NodeId node, std::string_view key, uint64_t generation,
                 struct stat* st);
  // A commit through a name of a hard-link group, for the other names.
  struct LinkedCommit {
    NodeId node = 0;  // 0: nothing to tell
    std::string key;
    Metadata meta;
    std::string value;
  };
  // Writes the file's bytes as one value (with every name of its hard-link
  // group) if they are uncommitted; `sync` then syncs the WAL in any case.
  // An unlinked file has nowhere to go: its bytes stay in memory only. For
  // a group, fills *linked: the caller passes it to NotifyLinked once it
  // has released file.mutex (which takes the other names' mutexes).
  // REQUIRES: file.mutex held alone; namespace_mutex_ not held.
  int CommitLocked(OpenFile& file, bool sync, LinkedCommit* linked);
  void NotifyLinked(const LinkedCommit& linked);
  // CommitLocked with file.mutex taken, then NotifyLinked.
  int Commit(OpenFile& file, bool sync);
  // Resizes the file's bytes (zeros when it grows) and sets its mtime and
  // ctime; committed at once when no descriptor is open for writing.
  int Truncate(const std::shared_ptr<View>& view, const NodeInfo& node, uint64_t size);
  // Commits files whose oldest uncommitted change is older than
  // options_.commit_interval_ns, until the Filesystem is destroyed.
  void RunCommitter();
  int Fail(const kv::Status& status, std::string_view op, std::string_view key) const;
  int CheckWritable(const View& view) const;
  int RenameDirectory(View& view, const NodeInfo& src_parent, const Child& src,
                      const NodeInfo& dst_parent, const Child& dst);
  // The directory `component` of `parent` is gone: "component%{@}" is stale.
  void ForgetValueName(NodeId parent, const NodeInfo& dir, std::string_view component);
  int SetMeta(View& view, const NodeInfo& info, const std::function<int(Metadata*)>& change);
  // Files unlinked (or replaced by a rename) while the kernel still holds
  // them keep their attributes and xattrs here, for fstat, fchmod and
  // fgetxattr through an open descriptor, until the node is freed.
  // RememberDetached: REQUIRES namespace_mutex_ held; `meta` is the node's
  // record (or its defaults) as it was before the change.
  void RememberDetached(NodeId node, Metadata meta);
  bool DetachedMeta(NodeId node, Metadata* meta);
  int ChangeDetachedMeta(NodeId node, const std::function<int(Metadata*)>& change);
  void DropDetachedIfFreed(NodeId node);
  // The record of `key` or, without one, the defaults GetAttr shows.
  Metadata FileMetaOrDefaults(View& view, std::string_view key);
  // What a file without a record shows.
  Metadata DefaultFileMeta(const View& view) const;
  int ReadDirView(View& view, DirHandle* handle, const NodeInfo& dir, off_t offset, bool plus,
                  const DirFiller& fill);

  // The control directory (control_dir.cc).
  int ControlLookup(const NodeInfo& parent, std::string_view name, Entry* out);
  void ControlAttr(const NodeInfo& node, struct stat* st);
  int ControlReadDir(const NodeInfo& dir, DirHandle* handle, off_t offset, bool plus,
                     const DirFiller& fill);
  int ControlMkdir(const NodeInfo& parent, std::string_view name, Entry* out);
  int ControlRmdir(const NodeInfo& parent, std::string_view name);
  std::string StatsText();

  // The shared state of every open file, by node. Lock order:
  // OpenFile::mutex, then namespace_mutex_, then open_files_mutex_ (which is
  // held only to find, count and erase).
  std::mutex open_files_mutex_;
  std::unordered_map<NodeId, std::shared_ptr<OpenFile>> open_files_;
  std::atomic<size_t> open_file_count_{0};  // open_files_.size(), read unlocked
  std::atomic<uint64_t> commit_generation_{0};  // bumped by every commit

  std::thread committer_;
  std::mutex committer_mutex_;
  std::condition_variable committer_cv_;
  bool committer_stop_ = false;

  kv::Store* store_;
  FilesystemOptions options_;
  PathCodec codec_;
  InodeTable inodes_;
  bool read_only_;
  Counters counters_;
  mutable std::mutex views_mutex_;
  std::map<ViewId, std::shared_ptr<View>> views_;
  std::map<std::string, ViewId> view_ids_;  // "cf/NAME", "snapshots/NAME"
  ViewId next_view_ = kMainView + 1;
  // Namespace changes that read-then-write several keys (rename, unlink,
  // rmdir, mkdir) take this exclusively; commits and creates share it.
  std::shared_mutex namespace_mutex_;
  KernelCache* kernel_cache_ = nullptr;

  std::mutex detached_mutex_;
  std::unordered_map<NodeId, Metadata> detached_meta_;
  std::atomic<bool> any_detached_{false};

  // FollowChanges (fs/remote_changes.cc).
  struct ChangeFollower;
  friend struct ChangeFollower;
  void ForgetCachedKey(kv::ColumnFamily* cf, std::string_view key, uint64_t version);
  void ForgetAllCached();
  std::unique_ptr<ChangeFollower> change_follower_;
  std::unique_ptr<kv::ChangeWatch> change_watch_;

  std::thread follower_;
  std::mutex follower_mutex_;
  std::condition_variable follower_cv_;
  bool follower_stop_ = false;
};

// The metadata column family that belongs to data column family `cf`.
std::string MetaColumnFamilyName(std::string_view cf);

}  // namespace rocksfs::fs
