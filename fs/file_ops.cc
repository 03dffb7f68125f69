// Filesystem: open files, reads, buffered writes and their commit.
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <cstring>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {
namespace {

// The thread group (process) of a thread, from /proc; 0 if unknown.
pid_t ProcessOf(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atol(line.c_str() + 5));
  }
  return 0;
}

bool SameProcess(pid_t a, pid_t b) {
  if (a == 0 || b == 0 || a == b) return true;
  pid_t pa = ProcessOf(a);
  return pa != 0 && pa == ProcessOf(b);
}

}  // namespace

int Filesystem::Open(NodeId node, int flags, OpenResult* out, pid_t opener) {
  // The node's key and the value read under it must be of one moment: a
  // rename that replaced the name in between would pin the new value on
  // the old node, whose size the kernel still holds, and readers would get
  // the new value cut at the old size. Renames and unlinks hold this lock
  // exclusively. (REQUIRES: not held by the caller.)
  std::shared_lock ns(namespace_mutex_);
  // The value read, the reader's commit version and its use of the page
  // cache must also be of one moment with respect to commits, and a writer
  // must not appear between a reader's check for writers and its count.
  std::lock_guard value_lock(ValueLock(node));
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.kind == NodeKind::kDirectory) return EISDIR;
  bool writable = (flags & O_ACCMODE) != O_RDONLY;
  if (info.control != Control::kNone) {
    if (writable) return EACCES;
    // Control files are generated at open and change behind the kernel's
    // back: no page cache.
    auto handle = std::make_unique<FileHandle>();
    handle->node = node;
    handle->value = kv::Value::Copy(StatsText());
    inodes_.OpenHandle(node, false, handle->value.size());
    out->fh = ToFh(handle.release());
    out->keep_cache = false;
    out->noflush = true;
    out->direct_io = true;
    return 0;
  }
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  // The kernel resolved the name just before a rename replaced it or an
  // unlink removed it: the value it stood for is gone, and opening it would
  // show an empty file. ESTALE makes the kernel look the name up again and
  // open what is there now (do_filp_open retries with LOOKUP_REVAL).
  if (info.detached) return ESTALE;
  if (writable) {
    if (int err = CheckWritable(*view)) return err;
  }
  auto handle = std::make_unique<FileHandle>();
  handle->node = node;
  handle->view = view;
  handle->opener = opener;
  handle->writable = writable;
  handle->append = (flags & O_APPEND) != 0;
  if (writable && (flags & O_TRUNC)) {
    handle->dirty = true;  // an O_TRUNC open commits the empty file at close
    handle->modified = NowNs();
  } else if (!info.detached) {
    // Another writer's uncommitted bytes are not ours to see: every opener
    // starts from the committed value.
    kv::Value value;
    kv::Status s = view->store->Get({}, view->data, info.key, &value);
    if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", info.key);
    if (writable) {
      handle->buffer.assign(value.view());
    } else {
      handle->value = std::move(value);
    }
  }
  uint64_t size = writable ? handle->buffer.size() : handle->value.size();
  inodes_.OpenHandle(node, writable, size);
  if (writable) {
    std::lock_guard lock(writers_mutex_);
    handle->open_seq = ++writer_opens_;
    writers_.emplace(node, handle.get());
  }
  // A reader shares the page cache unless a writer is open (whose writes
  // move the kernel's i_size) or a reader that predates the latest commit is
  // still open (its pages may be of the old value).
  handle->cached = !writable && info.open_writers == 0 &&
                   inodes_.OpenCachedReader(node, &handle->version);
  out->keep_cache = !options_.secondary;  // a secondary's data changes under us
  out->noflush = !writable;
  out->direct_io = !handle->cached;
  out->fh = ToFh(handle.release());
  return 0;
}

int Filesystem::Create(NodeId parent, std::string_view name, mode_t mode, int flags,
                       const Caller& caller, Entry* entry, OpenResult* out) {
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir) || dir.detached) return ENOENT;
  if (dir.control != Control::kNone) return EACCES;
  if (parent == kRootNode && name == kControlDirName) return EEXIST;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  Child child;
  {
    std::shared_lock ns(namespace_mutex_);
    // A hashed name that matches no key cannot be created: EINVAL.
    if (int err = ResolveChild(*view, dir, name, &child)) return err == ENOENT ? EINVAL : err;
    if (child.is_dir()) return (flags & O_EXCL) ? EEXIST : EISDIR;
    if (!child.is_file()) {
      if (child.hashed || (child.role == NameRole::kDirValue && !child.dir_exists)) return EINVAL;
      if (child.role == NameRole::kPlain && child.file_exists) return EEXIST;
      kv::Batch batch;
      batch.ExpectAbsent(view->data, child.key);
      batch.Put(view->data, child.key, std::string());
      if (!options_.nometa) {
        Metadata meta;
        if (int err = PrepareNewEntry(*view, S_IFREG | (mode & 07777), 0, caller, dir, &meta,
                                      &batch)) {
          return err;
        }
        batch.Put(view->meta.load(), FileMetaKey(child.key), EncodeMetadata(meta));
      }
      kv::Status s = view->store->Write({options_.sync}, batch);
      counters_.batches.fetch_add(1, std::memory_order_relaxed);
      if (s.IsConditionFailed()) return EEXIST;
      if (!s.ok()) return Fail(s, "create", child.key);
      child.file_exists = true;
      child.value = kv::Value();
      flags &= ~O_TRUNC;
    } else if (flags & O_EXCL) {
      return EEXIST;
    }
  }
  if (int err = FillEntry(*view, parent, child, entry, 1)) return err;
  if (int err = Open(entry->node, flags, out, caller.pid)) {
    Forget(entry->node, 1);
    *entry = {};
    return err;
  }
  if (flags & O_TRUNC) entry->attr.st_size = 0, entry->attr.st_blocks = 0;
  return 0;
}

int Filesystem::Read(NodeId node, uint64_t fh, uint64_t offset, size_t size, ReadResult* out) {
  if (fh != 0) {
    FileHandle* handle = FileHandleFrom(fh);
    if (!handle->writable) {
      // Close-to-open: a reader keeps the value it opened, even past a
      // commit (then it is stale, and no new reader uses the page cache).
      out->data = handle->value.Sub(offset, size);
    } else {
      std::lock_guard lock(handle->mutex);
      if (offset >= handle->buffer.size()) {
        out->data = kv::Value();
      } else {
        out->data = kv::Value::Copy(std::string_view(handle->buffer).substr(offset, size));
      }
    }
    counters_.bytes_read.fetch_add(out->data.size(), std::memory_order_relaxed);
    return 0;
  }
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.kind == NodeKind::kDirectory) return EISDIR;
  if (info.control != Control::kNone) {
    // Zero-message opens (read-only mounts): the text as of this read.
    out->data = kv::Value::Copy(StatsText()).Sub(offset, size);
    return 0;
  }
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  kv::Value value;
  kv::Status s = view->store->Get({}, view->data, info.key, &value);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", info.key);
  out->data = value.Sub(offset, size);
  counters_.bytes_read.fetch_add(out->data.size(), std::memory_order_relaxed);
  return 0;
}

int Filesystem::Write(uint64_t fh, uint64_t offset, std::string_view data, size_t* written,
                      uid_t writer_uid) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle || !handle->writable) return EBADF;
  std::lock_guard lock(handle->mutex);
  if (writer_uid != 0) handle->kill_privileges = true;
  if (handle->append) offset = handle->buffer.size();
  uint64_t end = offset + data.size();
  if (end > options_.max_value_size || end < offset) return EFBIG;
  if (end > handle->buffer.size()) handle->buffer.resize(end, '\0');
  if (!data.empty()) std::memcpy(handle->buffer.data() + offset, data.data(), data.size());
  handle->dirty = true;
  handle->written = true;
  handle->modified = NowNs();
  inodes_.SetWriterSize(handle->node, handle->buffer.size());
  *written = data.size();
  counters_.bytes_written.fetch_add(data.size(), std::memory_order_relaxed);
  return 0;
}

int Filesystem::CommitLocked(FileHandle* handle, bool sync) {
  View& view = *handle->view;
  if (!handle->dirty) {
    if (!sync) return 0;
    kv::Status s = view.store->SyncWal();
    return s.ok() ? 0 : Fail(s, "sync WAL", "");
  }
  std::shared_lock ns(namespace_mutex_);
  // A reader opening now gets either the old value as a reader the commit
  // makes stale, or the new value at the new version: never the new value
  // counted at the old version, which the kernel would cut at the old size.
  std::unique_lock value_lock(ValueLock(handle->node));
  NodeInfo info;
  if (!inodes_.Get(handle->node, &info)) return ENOENT;
  if (info.detached) {
    // Unlinked while open: the bytes live on in this handle only.
    handle->dirty = false;
    return 0;
  }
  // Readers with the page cache open at the commit hold the old value: its
  // size is what the kernel must keep seeing until they close. (Always read:
  // a reader may open while this commit runs.)
  uint64_t old_size = 0;
  {
    kv::Value old;
    if (view.store->Get({}, view.data, info.key, &old).ok()) old_size = old.size();
  }
  kv::Batch batch;
  // mtime: the last write's time, unless an explicit mtime came after it.
  TimeNs modified = handle->modified.load();
  std::optional<Metadata> meta;
  if (!options_.nometa) {
    if (int err = EnsureMeta(view)) return err;
    meta = FileMetaOrDefaults(view, info.key);
    if (modified != 0) meta->mtime = modified;
    meta->ctime = NowNs();
    if (handle->kill_privileges) {
      // What the kernel's file_remove_privs does for a local filesystem.
      meta->mode &= ~S_ISUID;
      if ((meta->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) meta->mode &= ~S_ISGID;
    }
  }
  PutValueForAllNames(view, info.key, meta ? &*meta : nullptr, handle->buffer, &batch);
  kv::Status s = view.store->Write({sync || options_.sync}, batch);
  if (!s.ok()) return Fail(s, "commit", info.key);
  counters_.commits.fetch_add(1, std::memory_order_relaxed);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  handle->dirty = false;
  handle->kill_privileges = false;
  handle->modified.compare_exchange_strong(modified, 0);
  inodes_.NoteCommit(handle->node, old_size);
  value_lock.unlock();
  // Readers' cached pages and size are of the old value. (Readers opening
  // meanwhile use direct I/O: this writer is still open. The value lock is
  // not held here: the kernel may wait for a page that a queued READ holds.)
  if (kernel_cache_) kernel_cache_->InvalidateInode(handle->node);
  if (meta) OtherNamesChanged(handle->node, info.key, *meta, old_size);  // hard links
  return 0;
}

int Filesystem::Flush(uint64_t fh, pid_t closer) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle || !handle->writable) return 0;
  handle->flushed = true;
  std::lock_guard lock(handle->mutex);
  if (!handle->dirty) return 0;
  if (!SameProcess(handle->opener, closer)) return 0;  // an inherited copy
  return CommitLocked(handle, false);
}

int Filesystem::Fsync(uint64_t fh, bool datasync) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle) return EBADF;
  if (!handle->writable) {
    kv::Store* store = handle->view ? handle->view->store : store_;
    kv::Status s = store->SyncWal();
    return s.ok() ? 0 : Fail(s, "sync WAL", "");
  }
  std::lock_guard lock(handle->mutex);
  return CommitLocked(handle, true);
}

int Filesystem::FsyncDir(NodeId node, bool datasync) {
  // Every commit is one write to the store's log: syncing it makes every
  // namespace change and commit so far durable.
  kv::Store* store = store_;
  NodeInfo info;
  if (inodes_.Get(node, &info) && info.control == Control::kNone) {
    if (auto view = ViewOf(info)) store = view->store;
  }
  kv::Status s = store->SyncWal();
  return s.ok() ? 0 : Fail(s, "sync WAL", "");
}

void Filesystem::Release(uint64_t fh) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle) return;
  {
    std::lock_guard lock(handle->mutex);
    if (handle->dirty) {
      if (int err = CommitLocked(handle, false)) {
        spdlog::error("writes to node {} were lost at release: errno {}", handle->node, err);
      }
    }
  }
  if (handle->cached && inodes_.CloseCachedReader(handle->node, handle->version)) {
    // The last reader of an old value is gone: drop the pages it may have
    // left before readers may use the page cache again.
    if (kernel_cache_) kernel_cache_->InvalidateInode(handle->node);
    inodes_.StaleReadersGone(handle->node);
  }
  if (handle->writable) {
    std::lock_guard lock(writers_mutex_);
    auto [first, last] = writers_.equal_range(handle->node);
    for (auto it = first; it != last; ++it) {
      if (it->second == handle) {
        writers_.erase(it);
        break;
      }
    }
  }
  NodeId node = handle->node;
  inodes_.CloseHandle(node, handle->writable);
  delete handle;
  DropDetachedIfFreed(node);
}

int Filesystem::Truncate(View& view, const NodeInfo& node, uint64_t fh, uint64_t size,
                         pid_t caller) {
  if (size > options_.max_value_size) return EFBIG;
  FileHandle* handle = fh ? FileHandleFrom(fh) : nullptr;
  if (!handle && size == 0 && caller != 0) {
    // open(O_TRUNC): the kernel truncates by path (no fh) right after the
    // open, in the opening thread. Its handle is the one that thread opened
    // last, and it has seen no write and no close (FLUSH). A handle the
    // thread closed may still be here, its RELEASE queued: a truncate then
    // is truncate(2), committed at once. (Taking it for that handle's
    // O_TRUNC lost the truncate, or the next open's O_TRUNC, and committed
    // an empty file at its release.)
    std::lock_guard lock(writers_mutex_);
    auto [first, last] = writers_.equal_range(node.id);
    for (auto it = first; it != last; ++it) {
      FileHandle* candidate = it->second;
      if (candidate->opener != caller || candidate->written || candidate->flushed) continue;
      if (!handle || candidate->open_seq > handle->open_seq) handle = candidate;
    }
  }
  if (handle && handle->writable) {
    std::lock_guard lock(handle->mutex);
    handle->buffer.resize(size, '\0');
    handle->dirty = true;
    handle->written = true;
    handle->modified = NowNs();
    inodes_.SetWriterSize(handle->node, size);
    return 0;
  }
  if (node.detached) return 0;
  std::shared_lock ns(namespace_mutex_);
  std::unique_lock value_lock(ValueLock(node.id));  // as in CommitLocked
  kv::Value value;
  kv::Status s = view.store->Get({}, view.data, node.key, &value);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", node.key);
  bool resized = value.size() != size;
  kv::Batch batch;
  std::optional<Metadata> meta;
  if (!options_.nometa) {
    // truncate(2) sets mtime and ctime even when the size stays.
    if (int err = EnsureMeta(view)) return err;
    meta = FileMetaOrDefaults(view, node.key);
    meta->mtime = meta->ctime = NowNs();
    batch.ExpectPresent(view.data, node.key);
  } else if (!resized) {
    return 0;
  }
  if (resized) {
    std::string bytes(value.view().substr(0, size));
    bytes.resize(size, '\0');
    PutValueForAllNames(view, node.key, meta ? &*meta : nullptr, bytes, &batch);
  } else {
    PutMetaForAllNames(view, node.key, *meta, &batch);
  }
  s = view.store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return ENOENT;
  if (!s.ok()) return Fail(s, "truncate", node.key);
  if (resized) {
    inodes_.NoteCommit(node.id, value.size());
    if (node.open_writers > 0) inodes_.SetWriterSize(node.id, size);
  }
  value_lock.unlock();
  if (meta) {  // hard links
    OtherNamesChanged(node.id, node.key, *meta,
                      resized ? std::optional<uint64_t>(value.size()) : std::nullopt);
  }
  return 0;
}

}  // namespace rocksfs::fs
