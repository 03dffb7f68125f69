// Filesystem: following the changes other clients make to a shared store
// (other hosts' mounts of an etcd prefix), so the kernel's caches of names,
// attributes, pages and listings do not outlive them.
#include <cerrno>

#include "fs/errno_map.h"
#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {

int Filesystem::FollowChanges(std::string* error) {
  if (!kernel_cache_) {
    *error = "following changes needs the kernel's caches (mount first)";
    return EINVAL;
  }
  change_follower_ = std::make_unique<ChangeFollower>(this);
  kv::Status s = store_->WatchChanges(change_follower_.get(), &change_watch_);
  if (!s.ok()) {
    *error = "cannot watch " + store_->path() + " for other clients' changes: " + s.ToString();
    change_follower_.reset();
    return ErrnoFromStatus(s);
  }
  return 0;
}

void Filesystem::StopFollowingChanges() {
  change_watch_.reset();
  change_follower_.reset();
}

// Key (or directory prefix, with its trailing delimiter) `path` changed:
// the kernel forgets the names along it that may now mean something else,
// the attributes (and listings) of the directories on it, and the name,
// attributes and pages of the file it names, unless an open here already
// loaded that version (`version`, kv::Value::version) or a later one: the
// name still stands for that file, and the kernel's pages and attributes
// are of it (an event can arrive after the open that read past it). Names
// of directories the kernel holds as nodes stay cached (the directory still
// exists unless its last key went); the entry timeout bounds that case.
void Filesystem::ForgetCachedKey(kv::ColumnFamily* cf, std::string_view key, uint64_t version) {
  KernelCache* cache = kernel_cache_;
  auto view = ViewOf(kMainView);
  if (!cache || !view) return;
  std::string_view path;
  if (cf == view->data) {
    path = key;
  } else if (cf == view->meta.load() && !key.empty() && (key[0] == 'f' || key[0] == 'd')) {
    path = key.substr(1);  // FileMetaKey / DirMetaKey
  } else {
    return;
  }
  if (path.empty()) {  // the root's record
    cache->InvalidateInode(kRootNode);
    return;
  }
  const char delimiter = options_.delimiter;
  NodeId dir = kRootNode;
  while (!path.empty()) {
    size_t end = path.find(delimiter);
    std::string_view component = path.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? "" : path.substr(end + 1);
    cache->InvalidateInode(dir);
    if (component.empty()) return;  // an empty component names nothing
    const bool last = end == std::string_view::npos;
    NodeId file = last ? inodes_.Find(dir, NodeKind::kFile, component) : 0;
    if (file && inodes_.PageVersion(file) >= version) return;  // already seen here
    NodeId subdir = inodes_.Find(dir, NodeKind::kDirectory, component);
    if (rest.empty() || !subdir) {
      bool at_root = dir == kRootNode;
      cache->InvalidateEntry(dir, codec_.Encode(component, NameRole::kPlain, at_root));
      cache->InvalidateEntry(dir, codec_.Encode(component, NameRole::kDirValue, at_root));
    }
    if (last) {
      if (file) cache->InvalidateInode(file);
      return;
    }
    if (!subdir) return;
    if (rest.empty()) cache->InvalidateInode(subdir);
    dir = subdir;
    path = rest;
  }
}

void Filesystem::ForgetAllCached() {
  KernelCache* cache = kernel_cache_;
  if (!cache) return;
  for (const NodeInfo& node : inodes_.MainViewNodes()) {
    cache->InvalidateInode(node.id);
    if (node.id == kRootNode) continue;
    bool at_root = node.parent == kRootNode;
    cache->InvalidateEntry(node.parent, codec_.Encode(node.component, NameRole::kPlain, at_root));
    if (node.kind == NodeKind::kFile) {
      cache->InvalidateEntry(node.parent,
                             codec_.Encode(node.component, NameRole::kDirValue, at_root));
    }
  }
}

}  // namespace rocksfs::fs
