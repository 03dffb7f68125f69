// Filesystem: open files, their shared state, reads, writes and commits.
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {

std::shared_ptr<Filesystem::OpenFile> Filesystem::AcquireOpenFile(
    const std::shared_ptr<View>& view, NodeId node, bool writable) {
  if (view->read_only) {
    // Nothing is written through a read-only tree: each handle keeps the
    // value it opened, and on a secondary mount a new open sees what the
    // primary has written since, even while older handles stay open.
    auto file = std::make_shared<OpenFile>();
    file->node = node;
    file->view = view;
    file->handles = 1;
    return file;
  }
  std::lock_guard lock(open_files_mutex_);
  auto& slot = open_files_[node];
  if (!slot) {
    slot = std::make_shared<OpenFile>();
    slot->node = node;
    slot->view = view;
    open_file_count_.store(open_files_.size(), std::memory_order_relaxed);
  }
  slot->handles++;
  if (writable) slot->writers++;
  return slot;
}

void Filesystem::ReleaseOpenFile(const std::shared_ptr<OpenFile>& file, bool writable) {
  std::lock_guard lock(open_files_mutex_);
  if (writable && file->writers > 0) file->writers--;
  if (--file->handles > 0) return;
  auto it = open_files_.find(file->node);
  if (it != open_files_.end() && it->second == file) open_files_.erase(it);
  open_file_count_.store(open_files_.size(), std::memory_order_relaxed);
}

uint32_t Filesystem::WritersOf(const OpenFile& file) {
  std::lock_guard lock(open_files_mutex_);
  return file.writers;
}

std::shared_ptr<Filesystem::OpenFile> Filesystem::FindOpenFile(NodeId node) {
  if (open_file_count_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(open_files_mutex_);
  auto it = open_files_.find(node);
  return it == open_files_.end() ? nullptr : it->second;
}

int Filesystem::LoadLocked(OpenFile& file, const NodeInfo& info) {
  if (file.loaded) return 0;
  // Unlinked before its first open (the kernel held the node): no value.
  if (!info.detached) {
    kv::Status s = file.view->store->Get({}, file.view->data, info.key, &file.value);
    if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", info.key);
  }
  file.loaded = true;
  return 0;
}

bool Filesystem::KeepPagesOf(NodeId node, uint64_t version) {
  uint64_t cached = inodes_.SwapPageVersion(node, version);
  return version != 0 && version == cached;
}

bool Filesystem::ApplyOpenFile(NodeId node, struct stat* st) {
  std::shared_ptr<OpenFile> file = FindOpenFile(node);
  if (!file) return false;
  std::shared_lock lock(file->mutex);
  if (!file->loaded) return false;
  st->st_size = static_cast<off_t>(file->bytes().size());
  st->st_blocks = (st->st_size + 511) / 512;
  if (file->mtime != 0) SetTime(&st->st_mtim, file->mtime);
  if (file->ctime != 0) SetTime(&st->st_ctim, file->ctime);
  return true;
}

void Filesystem::FreshSize(View& view, NodeId node, std::string_view key, uint64_t generation,
                           struct stat* st) {
  if (inodes_.LastCommit(node) <= generation) return;
  kv::Value value;
  if (!view.store->Get({}, view.data, key, &value).ok()) return;
  st->st_size = static_cast<off_t>(value.size());
  st->st_blocks = (st->st_size + 511) / 512;
  // The times may have moved with the commit too.
  Metadata meta;
  if (LoadMeta(view, FileMetaKey(key), &meta)) {
    SetTime(&st->st_mtim, meta.mtime);
    SetTime(&st->st_ctim, meta.ctime);
  }
}

int Filesystem::Open(NodeId node, int flags, OpenResult* out) {
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
    handle->control_text = kv::Value::Copy(StatsText());
    inodes_.OpenHandle(node);
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
  bool truncate = (flags & O_TRUNC) != 0;  // Linux truncates on O_RDONLY|O_TRUNC too
  if (truncate && !writable) {
    if (int err = CheckWritable(*view)) return err;
  }
  auto handle = std::make_unique<FileHandle>();
  handle->node = node;
  handle->writable = writable;
  handle->file = AcquireOpenFile(view, node, writable);
  inodes_.OpenHandle(node);
  int err = 0;
  LinkedCommit linked;
  bool keep_cache = !options_.secondary;
  bool stale_attrs = false;
  {
    OpenFile& file = *handle->file;
    std::unique_lock lock(file.mutex);
    if (!file.loaded) {
      // The node's key and the value read under it must be of one moment:
      // a rename that replaced the name in between would load the new
      // value into the old node, whose size the kernel still holds.
      std::shared_lock ns(namespace_mutex_);
      if (!inodes_.Get(node, &info)) err = ENOENT;
      else if (info.detached) err = ESTALE;
      else err = LoadLocked(file, info);
      if (!err && options_.secondary) {
        uint64_t version = file.value.version();
        keep_cache = KeepPagesOf(node, version);
        stale_attrs = !keep_cache && version != 0;
      }
    } else if (options_.secondary && !view->read_only) {
      keep_cache = true;  // the kernel's pages are those of the open file here
    }
    if (!err && truncate) {
      file.Mutable().clear();
      file.Touch(NowNs());
      if (WritersOf(file) == 0) err = CommitLocked(file, false, &linked);
    }
  }
  NotifyLinked(linked);
  // The kernel may hold the size of another version (from a lookup or stat
  // within the attribute timeout): a read would stop there. Dropped outside
  // file.mutex, which writing back dirty pages would need.
  if (stale_attrs && kernel_cache_) kernel_cache_->InvalidateInode(node);
  if (err) {
    ReleaseOpenFile(handle->file, writable);
    inodes_.CloseHandle(node);
    return err;
  }
  out->keep_cache = keep_cache;
  out->noflush = !writable;
  out->direct_io = false;
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
  bool created = false;
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
      created = true;
    } else if (flags & O_EXCL) {
      return EEXIST;
    }
  }
  if (int err = FillEntry(*view, parent, child, entry, 1)) return err;
  if (int err = Open(entry->node, flags, out)) {
    Forget(entry->node, 1);
    *entry = {};
    return err;
  }
  ApplyOpenFile(entry->node, &entry->attr);  // an existing file opened with O_TRUNC
  // A file created here and opened write-only writes around the page cache
  // (FOPEN_DIRECT_IO): the kernel's page-cache write path first asks the
  // daemon for security.capability (file_remove_privs, a GETXATTR round
  // trip on the first write of each inode), its direct path does not. Such
  // a descriptor can neither read nor be mapped, so nothing is lost; the
  // kernel drops pages that other descriptors cached of the range it
  // writes. A setuid or setgid file keeps the page-cache path, whose
  // file_remove_privs clears those bits on write.
  if (created && (flags & O_ACCMODE) == O_WRONLY && !(mode & (S_ISUID | S_ISGID))) {
    out->direct_io = true;
  }
  return 0;
}

int Filesystem::Read(NodeId node, uint64_t fh, uint64_t offset, size_t size, ReadResult* out) {
  if (fh != 0) {
    FileHandle* handle = FileHandleFrom(fh);
    if (!handle->file) {
      out->data = handle->control_text.Sub(offset, size);
      return 0;
    }
    OpenFile& file = *handle->file;
    std::shared_lock lock(file.mutex);
    if (!file.changed) {
      out->data = file.value.Sub(offset, size);  // shares the committed value
    } else if (offset < file.data.size()) {
      out->data = kv::Value::Copy(std::string_view(file.data).substr(offset, size));
    } else {
      out->data = kv::Value();
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

int Filesystem::Write(uint64_t fh, uint64_t offset, std::string_view data, size_t* written) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle || !handle->writable || !handle->file) return EBADF;
  uint64_t end = offset + data.size();
  if (end > options_.max_value_size || end < offset) return EFBIG;
  OpenFile& file = *handle->file;
  std::unique_lock lock(file.mutex);
  std::string& bytes = file.Mutable();
  // Bytes past the end are appended, not zeroed first and then copied over:
  // a growing file's new pages are touched once. A hole reads as zeros.
  if (offset > bytes.size()) bytes.resize(offset, '\0');
  size_t overwritten = std::min<size_t>(bytes.size() - offset, data.size());
  if (overwritten != 0) std::memcpy(bytes.data() + offset, data.data(), overwritten);
  bytes.append(data.substr(overwritten));
  file.Touch(NowNs());
  *written = data.size();
  counters_.bytes_written.fetch_add(data.size(), std::memory_order_relaxed);
  return 0;
}

int Filesystem::CommitLocked(OpenFile& file, bool sync, LinkedCommit* linked) {
  View& view = *file.view;
  if (!file.dirty) {
    if (!sync) return 0;
    kv::Status s = view.store->SyncWal();
    return s.ok() ? 0 : Fail(s, "sync WAL", "");
  }
  // Under the namespace lock the node's key is the one it has now: a rename
  // cannot move it between here and the write.
  std::shared_lock ns(namespace_mutex_);
  NodeInfo info;
  if (!inodes_.Get(file.node, &info)) return ENOENT;
  if (info.detached) {
    // Unlinked while open: the bytes live on in memory only.
    file.dirty = false;
    return 0;
  }
  kv::Batch batch;
  std::optional<Metadata> meta;
  if (!options_.nometa) {
    if (int err = EnsureMeta(view)) return err;
    meta = FileMetaOrDefaults(view, info.key);
    if (file.mtime != 0) meta->mtime = file.mtime;
    meta->ctime = file.ctime != 0 ? file.ctime : NowNs();
  }
  // The bytes move into the batch and back: a large file is not copied.
  std::string bytes = file.changed ? std::move(file.data) : std::string(file.value.view());
  size_t taken = PutValueForAllNames(view, info.key, meta ? &*meta : nullptr, std::move(bytes),
                                     &batch);
  kv::Status s = view.store->Write({sync || options_.sync}, batch);
  if (file.changed) file.data = batch.TakeValue(taken);
  if (!s.ok()) return Fail(s, "commit", info.key);
  inodes_.NoteCommit(file.node, commit_generation_.fetch_add(1, std::memory_order_acq_rel) + 1);
  counters_.commits.fetch_add(1, std::memory_order_relaxed);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  file.dirty = false;
  file.mtime = file.ctime = 0;  // the record holds them now
  if (meta && !meta->links.empty() && linked) {
    linked->node = file.node;
    linked->key = std::move(info.key);
    linked->meta = std::move(*meta);
    linked->value.assign(file.bytes());
  }
  return 0;
}

void Filesystem::NotifyLinked(const LinkedCommit& linked) {
  if (linked.node != 0) OtherNamesChanged(linked.node, linked.key, linked.meta, &linked.value);
}

int Filesystem::Commit(OpenFile& file, bool sync) {
  LinkedCommit linked;
  std::unique_lock lock(file.mutex);
  int err = CommitLocked(file, sync, &linked);
  lock.unlock();
  NotifyLinked(linked);
  return err;
}

int Filesystem::Flush(uint64_t fh) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle || !handle->writable || !handle->file) return 0;
  return Commit(*handle->file, false);
}

int Filesystem::Fsync(uint64_t fh, bool datasync) {
  FileHandle* handle = FileHandleFrom(fh);
  if (!handle) return EBADF;
  if (!handle->file) {
    kv::Status s = store_->SyncWal();
    return s.ok() ? 0 : Fail(s, "sync WAL", "");
  }
  return Commit(*handle->file, true);
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
  if (handle->file) {
    if (handle->writable) {
      if (int err = Commit(*handle->file, false)) {
        spdlog::error("writes to node {} were lost at release: errno {}", handle->node, err);
      }
    }
    ReleaseOpenFile(handle->file, handle->writable);
  }
  NodeId node = handle->node;
  inodes_.CloseHandle(node);
  delete handle;
  DropDetachedIfFreed(node);
}

int Filesystem::Truncate(const std::shared_ptr<View>& view, const NodeInfo& node, uint64_t size) {
  if (size > options_.max_value_size) return EFBIG;
  // Through the shared state, opened for the call if need be: descriptors
  // open now see the new size at once, and an open that starts meanwhile
  // shares the result instead of reading the value being replaced.
  std::shared_ptr<OpenFile> file = AcquireOpenFile(view, node.id, false);
  int err = 0;
  LinkedCommit linked;
  {
    std::unique_lock lock(file->mutex);
    err = LoadLocked(*file, node);
    if (!err) {
      file->Mutable().resize(size, '\0');
      file->Touch(NowNs());  // truncate(2) sets the times even when the size stays
      if (WritersOf(*file) == 0) err = CommitLocked(*file, false, &linked);
    }
  }
  NotifyLinked(linked);
  ReleaseOpenFile(file, false);
  return err;
}

void Filesystem::RunCommitter() {
  const auto interval = std::chrono::nanoseconds(options_.commit_interval_ns);
  // Wake often enough that no change waits much past the interval.
  const auto tick = std::max<std::chrono::nanoseconds>(
      std::min<std::chrono::nanoseconds>(interval / 4, std::chrono::seconds(1)),
      std::chrono::milliseconds(10));
  std::unique_lock lock(committer_mutex_);
  while (!committer_cv_.wait_for(lock, tick, [this] { return committer_stop_; })) {
    lock.unlock();
    std::vector<std::shared_ptr<OpenFile>> files;
    {
      std::lock_guard files_lock(open_files_mutex_);
      for (const auto& [node, file] : open_files_) {
        if (file->writers > 0) files.push_back(file);
      }
    }
    TimeNs now = NowNs();
    for (const auto& file : files) {
      LinkedCommit linked;
      std::unique_lock file_lock(file->mutex);
      if (!file->dirty || now - file->dirty_since < options_.commit_interval_ns) continue;
      if (int err = CommitLocked(*file, false, &linked)) {
        spdlog::warn("periodic commit of node {} failed: errno {}", file->node, err);
      }
      file_lock.unlock();
      NotifyLinked(linked);
    }
    lock.lock();
  }
}

}  // namespace rocksfs::fs
