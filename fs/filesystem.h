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
//   - an open file buffers its writes and commits them as one Put when it is
//     flushed (close), fsync'd or released: readers see the old value or the
//     new one, never a mix;
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
  // The store follows a primary that writes behind the kernel's back
  // (RocksDB secondary instance): opens never keep the page cache, and
  // FollowPrimary() catches up periodically.
  bool secondary = false;
};

// Who is asking (fuse_req_ctx): new files and directories take its ids.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;  // the calling thread; 0 when unknown
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
// Writable handles use direct I/O: their bytes stay in the handle's buffer
// until commit and never reach the page cache, which holds committed data
// only and is shared by the readers. A commit invalidates the node's pages
// and attributes, so the next reader sees the new value whole.
struct OpenResult {
  uint64_t fh = 0;
  bool keep_cache = true;   // the page cache may be kept across opens
  bool noflush = false;     // nothing to commit at close (read-only handle)
  bool direct_io = false;   // bypass the page cache (writable handles)
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
  [[nodiscard]] int GetAttr(NodeId node, struct stat* out);
  // `caller`: the calling thread. A truncate to 0 with no handle, from the
  // thread that has just opened the node for writing (a handle with no
  // write and no close yet), is open(O_TRUNC) (the kernel sends it apart
  // from the open, with nothing that tells it from truncate(2)): it applies
  // to that handle and is committed with its data, so readers never see
  // the file empty in between.
  [[nodiscard]] int SetAttr(NodeId node, uint64_t fh, const SetAttrRequest& request,
                            struct stat* out, pid_t caller = 0);

  // `opener`: the calling thread (0 if unknown); see Flush.
  [[nodiscard]] int Open(NodeId node, int flags, OpenResult* out, pid_t opener = 0);
  [[nodiscard]] int Create(NodeId parent, std::string_view name, mode_t mode, int flags,
                           const Caller& caller, Entry* entry, OpenResult* out);
  // fh == 0 reads the committed value (zero-message opens on read-only mounts).
  [[nodiscard]] int Read(NodeId node, uint64_t fh, uint64_t offset, size_t size, ReadResult* out);
  // `writer_uid`: who writes. A write by anyone but root (who has
  // CAP_FSETID) clears the set-user-ID bit, and the set-group-ID bit of a
  // group-executable file, when the handle commits, as on a local
  // filesystem (writers use direct I/O, where the kernel leaves that to us).
  [[nodiscard]] int Write(uint64_t fh, uint64_t offset, std::string_view data, size_t* written,
                          uid_t writer_uid = 0);
  // Commits the handle's pending writes (close). Every close of a copy of
  // the descriptor flushes, including a child process closing one it
  // inherited (fork, then exec with O_CLOEXEC): only a close by the process
  // that opened the handle commits; other closes leave the commit to the
  // opener's close or to Release. `closer` 0 (unknown) commits.
  [[nodiscard]] int Flush(uint64_t fh, pid_t closer = 0);
  // Commits and makes everything durable against a machine crash.
  [[nodiscard]] int Fsync(uint64_t fh, bool datasync);
  // fsync of a directory: makes every commit so far durable.
  [[nodiscard]] int FsyncDir(NodeId node, bool datasync);
  // Commits what is still pending (e.g. mmap writes after close) and frees fh.
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

  [[nodiscard]] int OpenDir(NodeId node, uint64_t* fh);
  // Streams entries from `offset` (0 = start; otherwise a next_offset this
  // handle passed to the filler). "." and ".." come first. With `plus`,
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

  // Opaque to users; defined in fs/filesystem_internal.h.
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
  // no record.
  void PutValueForAllNames(View& view, std::string_view key, const Metadata* meta,
                           std::string_view value, kv::Batch* batch);
  // `key` leaves its group (unlink, or replaced by a rename): rewrites the
  // records of the other names with the shorter list and ctime `now`.
  void LeaveGroup(View& view, std::string_view key, const Metadata& meta, TimeNs now,
                  kv::Batch* batch);
  // After a write through `key` (of node `anchor`'s view): the kernel's
  // attributes and pages of the group's other names are stale. With
  // `old_size` the value changed: their open cached readers become stale
  // readers of a value of that size, as in CommitLocked. REQUIRES: no
  // value lock held (it takes the other nodes' ones).
  void OtherNamesChanged(NodeId anchor, std::string_view key, const Metadata& meta,
                         std::optional<uint64_t> old_size = std::nullopt);

  // REQUIRES: handle->mutex held.
  int CommitLocked(FileHandle* handle, bool sync);
  // `caller`: the calling thread, for open(O_TRUNC) (see SetAttr), or 0.
  int Truncate(View& view, const NodeInfo& node, uint64_t fh, uint64_t size, pid_t caller);
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
  // RememberDetached: REQUIRES namespace_mutex_ held; reads the record.
  void RememberDetached(View& view, NodeId node, std::string_view key);
  bool DetachedMeta(NodeId node, Metadata* meta);
  int ChangeDetachedMeta(NodeId node, const std::function<int(Metadata*)>& change);
  void DropDetachedIfFreed(NodeId node);
  // The record of `key` or, without one, the defaults GetAttr shows.
  Metadata FileMetaOrDefaults(View& view, std::string_view key);
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

  // Orders opens against commits of the same node (striped by nodeid): see
  // Open and CommitLocked. Taken after namespace_mutex_ and a handle's
  // mutex; never held while calling into the kernel.
  std::mutex& ValueLock(NodeId node) { return value_locks_[node % value_locks_.size()]; }
  std::array<std::mutex, 64> value_locks_;

  // Writable handles per node, for SetAttr's open(O_TRUNC) case.
  std::mutex writers_mutex_;
  std::unordered_multimap<NodeId, FileHandle*> writers_;
  uint64_t writer_opens_ = 0;  // guarded by writers_mutex_

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

  std::thread follower_;
  std::mutex follower_mutex_;
  std::condition_variable follower_cv_;
  bool follower_stop_ = false;
};

// The metadata column family that belongs to data column family `cf`.
std::string MetaColumnFamilyName(std::string_view cf);

}  // namespace rocksfs::fs
