// rocksfs_fuse_floor: the FUSE floor of scripts/bench.sh. A benchmark floor,
// not a filesystem.
//
//   rocksfs_fuse_floor NAME MOUNTPOINT [-o OPT[,OPT...]] [-f] [-d]
//
// A minimal in-memory filesystem on the libfuse low-level API that does as
// little as a request allows, so that the benchmark can measure, in the same
// run as rocksfs, what the kernel round trips alone cost. Everything else is
// rocksfs's:
//   - the command line is mount.rocksfs's (fs/mount_options.h): threads=,
//     attr_timeout=, entry_timeout=, writeback_cache and the FUSE options
//     act as they do there; NAME stands where the database path goes and
//     is only the fsname; the rocksfs options that concern the database
//     are accepted and ignored;
//   - the capabilities asked for in init and the worker loop are the
//     adapter's (fs/fuse_settings.h); max_write is libfuse's default;
//   - opens keep the page cache, read-only handles need no FLUSH, a missing
//     name is a negative entry cached for the entry timeout, and listings
//     stay in the kernel's readdir cache;
//   - requests are counted by type in /.rocksfs/stats, as rocksfs counts
//     them, so the benchmark reads requests per operation the same way.
//
// It answers lookup, forget, getattr, setattr, create, open, read, write,
// flush, fsync, release, unlink, mkdir, rmdir, opendir, readdir(plus),
// releasedir, statfs (plenty free) and getxattr/listxattr (no attributes,
// as rocksfs answers for a file without any). Each directory holds a
// hash map from name to nodeid, all under one mutex. Nothing reaches a disk;
// everything is lost at unmount. No rename, links, symlinks, special files,
// setxattr or permission checks: libfuse answers those with ENOSYS.
#define FUSE_USE_VERSION 314  // as fs/fuse_adapter.cc
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fs/counters.h"
#include "fs/fuse_settings.h"
#include "fs/mount_options.h"

namespace {

using rocksfs::fs::Counters;
using rocksfs::fs::Op;

// The control directory and its stats file, as rocksfs names them.
constexpr char kControlName[] = ".rocksfs";
constexpr char kStatsName[] = "stats";
constexpr fuse_ino_t kControlNode = 2;
constexpr fuse_ino_t kStatsNode = 3;
constexpr fuse_ino_t kFirstNode = 16;

struct Node {
  struct stat attr {};
  std::string data;                                       // a file's bytes
  std::unordered_map<std::string, fuse_ino_t> children;   // a directory's names
  uint64_t lookups = 0;                                   // the kernel's references
};

// What opendir hands to readdir: the names and nodeids at opendir time.
struct DirHandle {
  std::vector<std::pair<std::string, fuse_ino_t>> entries;
};

// An open /.rocksfs/stats: its text as of the open.
struct StatsHandle {
  std::string text;
};

class Floor {
 public:
  explicit Floor(const rocksfs::fs::MountOptions& options) : options_(options) {
    Node root;
    root.attr = NewAttr(FUSE_ROOT_ID, S_IFDIR | options.dir_mode);
    root.attr.st_nlink = 2;
    root.lookups = 1;  // never forgotten
    nodes_.emplace(FUSE_ROOT_ID, std::make_unique<Node>(std::move(root)));
  }

  const rocksfs::fs::MountOptions& options() const { return options_; }
  Counters& counters() { return counters_; }

  // Every function below returns 0 or an errno, under mutex_.

  int Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* e) {
    std::lock_guard lock(mutex_);
    if (parent == FUSE_ROOT_ID && std::strcmp(name, kControlName) == 0) {
      return ControlEntry(kControlNode, e);
    }
    if (parent == kControlNode) {
      if (std::strcmp(name, kStatsName) != 0) return ENOENT;
      return ControlEntry(kStatsNode, e);
    }
    Node* dir = Find(parent);
    if (!dir) return ENOENT;
    auto it = dir->children.find(name);
    FillEntry(it == dir->children.end() ? 0 : it->second, e);  // 0: a negative entry
    return 0;
  }

  void Forget(fuse_ino_t ino, uint64_t count) {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return;
    Node& node = *it->second;
    node.lookups -= std::min(node.lookups, count);
    if (node.lookups == 0 && node.attr.st_nlink == 0) nodes_.erase(it);
  }

  int GetAttr(fuse_ino_t ino, struct stat* st) {
    std::lock_guard lock(mutex_);
    if (ino == kControlNode || ino == kStatsNode) return ControlAttr(ino, st);
    Node* node = Find(ino);
    if (!node) return ENOENT;
    *st = node->attr;
    return 0;
  }

  int SetAttr(fuse_ino_t ino, const struct stat& in, int to_set, struct stat* st) {
    std::lock_guard lock(mutex_);
    Node* node = Find(ino);
    if (!node) return ino == kControlNode || ino == kStatsNode ? EPERM : ENOENT;
    struct stat& a = node->attr;
    timespec now = Now();
    if (to_set & FUSE_SET_ATTR_MODE) a.st_mode = (a.st_mode & S_IFMT) | (in.st_mode & 07777);
    if (to_set & FUSE_SET_ATTR_UID) a.st_uid = in.st_uid;
    if (to_set & FUSE_SET_ATTR_GID) a.st_gid = in.st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) {
      if (S_ISDIR(a.st_mode)) return EISDIR;
      node->data.resize(static_cast<size_t>(in.st_size));
      a.st_size = in.st_size;
      a.st_mtim = now;
    }
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) a.st_atim = now;
    else if (to_set & FUSE_SET_ATTR_ATIME) a.st_atim = in.st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) a.st_mtim = now;
    else if (to_set & FUSE_SET_ATTR_MTIME) a.st_mtim = in.st_mtim;
    a.st_ctim = now;
    *st = a;
    return 0;
  }

  // A new file or directory `name` in `parent`. EEXIST when the name is taken
  // (create without O_EXCL opens an existing file instead: see Create()).
  int Make(fuse_ino_t parent, const char* name, mode_t mode, const fuse_ctx* caller,
           fuse_entry_param* e) {
    std::lock_guard lock(mutex_);
    return MakeLocked(parent, name, mode, caller, e);
  }

  int Create(fuse_ino_t parent, const char* name, mode_t mode, int flags, const fuse_ctx* caller,
             fuse_entry_param* e) {
    std::lock_guard lock(mutex_);
    Node* dir = Find(parent);
    if (!dir) return ENOENT;
    auto it = dir->children.find(name);
    if (it == dir->children.end()) return MakeLocked(parent, name, S_IFREG | mode, caller, e);
    if (flags & O_EXCL) return EEXIST;
    Node* node = Find(it->second);
    if (S_ISDIR(node->attr.st_mode)) return EISDIR;
    if (flags & O_TRUNC) Truncate(node);
    FillEntry(it->second, e);
    return 0;
  }

  int Open(fuse_ino_t ino, int flags) {
    std::lock_guard lock(mutex_);
    Node* node = Find(ino);
    if (!node) return ENOENT;
    if (S_ISDIR(node->attr.st_mode)) return EISDIR;
    if (flags & O_TRUNC) Truncate(node);  // FUSE_CAP_ATOMIC_O_TRUNC
    return 0;
  }

  int Read(fuse_ino_t ino, size_t size, off_t offset, std::string* out) {
    std::lock_guard lock(mutex_);
    Node* node = Find(ino);
    if (!node) return ENOENT;
    const std::string& data = node->data;
    size_t start = std::min(data.size(), static_cast<size_t>(offset));
    out->assign(data, start, std::min(size, data.size() - start));
    return 0;
  }

  int Write(fuse_ino_t ino, const char* buf, size_t size, off_t offset) {
    std::lock_guard lock(mutex_);
    Node* node = Find(ino);
    if (!node) return ENOENT;
    std::string& data = node->data;
    size_t end = static_cast<size_t>(offset) + size;
    if (data.size() < end) data.resize(end);
    std::memcpy(data.data() + offset, buf, size);
    node->attr.st_size = static_cast<off_t>(data.size());
    node->attr.st_mtim = node->attr.st_ctim = Now();
    return 0;
  }

  int Remove(fuse_ino_t parent, const char* name, bool directory) {
    std::lock_guard lock(mutex_);
    Node* dir = Find(parent);
    if (!dir) return ENOENT;
    auto it = dir->children.find(name);
    if (it == dir->children.end()) return ENOENT;
    auto node_it = nodes_.find(it->second);
    Node& node = *node_it->second;
    if (directory) {
      if (!S_ISDIR(node.attr.st_mode)) return ENOTDIR;
      if (!node.children.empty()) return ENOTEMPTY;
      dir->attr.st_nlink--;
    } else if (S_ISDIR(node.attr.st_mode)) {
      return EISDIR;
    }
    dir->children.erase(it);
    dir->attr.st_mtim = dir->attr.st_ctim = Now();
    node.attr.st_nlink = 0;
    if (node.lookups == 0) nodes_.erase(node_it);
    return 0;
  }

  int OpenDir(fuse_ino_t ino, std::unique_ptr<DirHandle>* out) {
    std::lock_guard lock(mutex_);
    auto handle = std::make_unique<DirHandle>();
    if (ino == kControlNode) {
      handle->entries = {{".", 0}, {"..", 0}, {kStatsName, kStatsNode}};
    } else {
      Node* dir = Find(ino);
      if (!dir) return ENOENT;
      if (!S_ISDIR(dir->attr.st_mode)) return ENOTDIR;
      handle->entries.reserve(dir->children.size() + 2);
      handle->entries.emplace_back(".", 0);
      handle->entries.emplace_back("..", 0);
      for (const auto& [name, child] : dir->children) handle->entries.emplace_back(name, child);
    }
    *out = std::move(handle);
    return 0;
  }

  // Fills `buffer` from entry `offset` of `handle` on; readdirplus entries
  // other than "." and ".." count as lookups, as the kernel counts them.
  size_t ReadDir(fuse_req_t req, const DirHandle& handle, off_t offset, bool plus,
                 std::string* buffer) {
    std::lock_guard lock(mutex_);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(offset); i < handle.entries.size(); ++i) {
      const auto& [name, ino] = handle.entries[i];
      fuse_entry_param e{};
      if (ino != 0) {
        struct stat st {};
        if (ino == kStatsNode) ControlAttr(ino, &st);
        else if (Node* node = Find(ino)) st = node->attr;
        else continue;  // removed since opendir
        e.attr = st;
      } else {
        e.attr.st_mode = S_IFDIR;
      }
      size_t room = buffer->size() - used;
      size_t needed;
      off_t next = static_cast<off_t>(i + 1);
      if (plus) {
        if (ino != 0 && ino != kStatsNode) {
          e.ino = ino;
          e.attr_timeout = options_.attr_timeout;
          e.entry_timeout = options_.entry_timeout;
        } else if (ino == kStatsNode) {
          e.ino = ino;
        }
        needed = fuse_add_direntry_plus(req, buffer->data() + used, room, name.c_str(), &e, next);
        if (needed <= room && ino != 0 && ino != kStatsNode) Find(ino)->lookups++;
      } else {
        needed = fuse_add_direntry(req, buffer->data() + used, room, name.c_str(), &e.attr, next);
      }
      if (needed > room) break;
      used += needed;
    }
    return used;
  }

  std::string StatsText() const {
    return "# rocksfs_fuse_floor counters since mount\n" + counters_.ToText();
  }

 private:
  static timespec Now() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
  }

  struct stat NewAttr(fuse_ino_t ino, mode_t mode) const {
    struct stat st {};
    st.st_ino = ino;
    st.st_mode = mode;
    st.st_nlink = 1;
    st.st_uid = options_.uid ? options_.uid : ::getuid();
    st.st_gid = options_.gid ? options_.gid : ::getgid();
    st.st_blksize = 4096;
    st.st_atim = st.st_mtim = st.st_ctim = Now();
    return st;
  }

  Node* Find(fuse_ino_t ino) {
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : it->second.get();
  }

  static void Truncate(Node* node) {
    node->data.clear();
    node->attr.st_size = 0;
    node->attr.st_mtim = node->attr.st_ctim = Now();
  }

  // REQUIRES: mutex_ held. `ino` 0 makes a negative entry.
  void FillEntry(fuse_ino_t ino, fuse_entry_param* e) {
    *e = fuse_entry_param{};
    e->attr_timeout = options_.attr_timeout;
    e->entry_timeout = options_.entry_timeout;
    if (ino == 0) return;
    Node* node = Find(ino);
    e->ino = ino;
    e->attr = node->attr;
    node->lookups++;
  }

  int ControlEntry(fuse_ino_t ino, fuse_entry_param* e) {
    *e = fuse_entry_param{};
    e->ino = ino;
    ControlAttr(ino, &e->attr);
    // The stats file's size changes with every request: never cached.
    double timeout = ino == kStatsNode ? 0 : options_.entry_timeout;
    e->attr_timeout = e->entry_timeout = timeout;
    return 0;
  }

  int ControlAttr(fuse_ino_t ino, struct stat* st) const {
    *st = NewAttr(ino, ino == kControlNode ? (S_IFDIR | 0555) : (S_IFREG | 0444));
    if (ino == kControlNode) st->st_nlink = 2;
    return 0;
  }

  int MakeLocked(fuse_ino_t parent, const char* name, mode_t mode, const fuse_ctx* caller,
                 fuse_entry_param* e) {
    Node* dir = Find(parent);
    if (!dir) return parent == kControlNode ? EPERM : ENOENT;
    if (!S_ISDIR(dir->attr.st_mode)) return ENOTDIR;
    if (parent == FUSE_ROOT_ID && std::strcmp(name, kControlName) == 0) return EEXIST;
    if (dir->children.count(name)) return EEXIST;
    fuse_ino_t ino = next_node_++;
    auto node = std::make_unique<Node>();
    node->attr = NewAttr(ino, mode);
    node->attr.st_uid = caller->uid;
    node->attr.st_gid = caller->gid;
    if (S_ISDIR(mode)) {
      node->attr.st_nlink = 2;
      dir->attr.st_nlink++;
    }
    nodes_.emplace(ino, std::move(node));
    dir->children.emplace(name, ino);
    dir->attr.st_mtim = dir->attr.st_ctim = Now();
    FillEntry(ino, e);
    return 0;
  }

  const rocksfs::fs::MountOptions options_;
  Counters counters_;
  std::mutex mutex_;
  std::unordered_map<fuse_ino_t, std::unique_ptr<Node>> nodes_;
  fuse_ino_t next_node_ = kFirstNode;
};

// ---- the callbacks: unpack, call Floor, reply --------------------------------

Floor& FloorOf(fuse_req_t req) { return *static_cast<Floor*>(fuse_req_userdata(req)); }

// Counts the request and runs `body`; bad_alloc becomes ENOMEM.
template <typename Body>
void Serve(fuse_req_t req, Op op, Body&& body) {
  FloorOf(req).counters().Count(op);
  try {
    body();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  }
}

void ReplyEntry(fuse_req_t req, int err, const fuse_entry_param& e) {
  if (err) fuse_reply_err(req, err);
  else fuse_reply_entry(req, &e);
}

void ReplyAttr(fuse_req_t req, fuse_ino_t ino, int err, const struct stat& st) {
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, &st, ino == kStatsNode ? 0 : FloorOf(req).options().attr_timeout);
}

void OnInit(void* userdata, fuse_conn_info* conn) {
  rocksfs::fs::RequestCapabilities(conn, static_cast<Floor*>(userdata)->options().writeback_cache);
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, Op::kLookup, [&] {
    fuse_entry_param e;
    int err = FloorOf(req).Lookup(parent, name, &e);
    ReplyEntry(req, err, e);
  });
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  FloorOf(req).counters().Count(Op::kForget);
  FloorOf(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FloorOf(req).counters().Count(Op::kForget);
  for (size_t i = 0; i < count; ++i) FloorOf(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OnGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kGetAttr, [&] {
    struct stat st {};
    int err = FloorOf(req).GetAttr(ino, &st);
    ReplyAttr(req, ino, err, st);
  });
}

void OnSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Serve(req, Op::kSetAttr, [&] {
    struct stat st {};
    int err = FloorOf(req).SetAttr(ino, *attr, to_set, &st);
    ReplyAttr(req, ino, err, st);
  });
}

void OnMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Serve(req, Op::kMkdir, [&] {
    fuse_entry_param e;
    int err = FloorOf(req).Make(parent, name, S_IFDIR | (mode & 07777), fuse_req_ctx(req), &e);
    ReplyEntry(req, err, e);
  });
}

void OnCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Serve(req, Op::kCreate, [&] {
    fuse_entry_param e;
    int err = FloorOf(req).Create(parent, name, mode & 07777, fi->flags, fuse_req_ctx(req), &e);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = 0;
    fi->keep_cache = 1;
    // As rocksfs (Filesystem::Create): a write-only descriptor of a file
    // created here writes around the page cache, which spares the kernel's
    // GETXATTR of security.capability before the first write.
    fi->direct_io = (fi->flags & O_ACCMODE) == O_WRONLY && !(mode & (S_ISUID | S_ISGID));
    if (fuse_reply_create(req, &e, fi) == -ENOENT) FloorOf(req).Forget(e.ino, 1);
  });
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kOpen, [&] {
    bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (ino == kStatsNode) {
      if (writable) {
        fuse_reply_err(req, EACCES);
        return;
      }
      auto handle = std::make_unique<StatsHandle>(StatsHandle{FloorOf(req).StatsText()});
      fi->fh = reinterpret_cast<uint64_t>(handle.get());
      fi->direct_io = 1;  // read afresh at every open
      fi->noflush = 1;
      if (fuse_reply_open(req, fi) == 0) handle.release();
      return;
    }
    int err = FloorOf(req).Open(ino, fi->flags);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = 0;
    fi->keep_cache = 1;
    fi->noflush = !writable;
    fuse_reply_open(req, fi);
  });
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Serve(req, Op::kRead, [&] {
    if (ino == kStatsNode) {
      const std::string& text = reinterpret_cast<StatsHandle*>(fi->fh)->text;
      size_t start = std::min(text.size(), static_cast<size_t>(off));
      fuse_reply_buf(req, text.data() + start, std::min(size, text.size() - start));
      return;
    }
    std::string data;
    int err = FloorOf(req).Read(ino, size, off, &data);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_buf(req, data.data(), data.size());
  });
}

void OnWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Serve(req, Op::kWrite, [&] {
    int err = FloorOf(req).Write(ino, buf, size, off);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_write(req, size);
  });
}

void OnFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kFlush, [&] { fuse_reply_err(req, 0); });
}

void OnFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Serve(req, Op::kFsync, [&] { fuse_reply_err(req, 0); });
}

void OnRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kRelease, [&] {
    if (ino == kStatsNode) delete reinterpret_cast<StatsHandle*>(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, Op::kUnlink, [&] { fuse_reply_err(req, FloorOf(req).Remove(parent, name, false)); });
}

void OnRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, Op::kRmdir, [&] { fuse_reply_err(req, FloorOf(req).Remove(parent, name, true)); });
}

void OnOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kOpenDir, [&] {
    std::unique_ptr<DirHandle> handle;
    int err = FloorOf(req).OpenDir(ino, &handle);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = reinterpret_cast<uint64_t>(handle.get());
    // The kernel's readdir cache, kept across opens, as rocksfs's read-write
    // mounts have it for every directory but the control directory. The
    // kernel drops it itself when a name changes through the mount. (Offsets
    // are indexes into one handle's snapshot: a listing resumed on another
    // handle under concurrent changes may repeat or miss a name, which no
    // benchmark workload does.)
    bool cache = ino != kControlNode;
    fi->keep_cache = cache;
    fi->cache_readdir = cache;
    if (fuse_reply_open(req, fi) == 0) handle.release();
  });
}

void DoReadDir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  Serve(req, plus ? Op::kReadDirPlus : Op::kReadDir, [&] {
    std::string buffer(size, '\0');
    size_t used = FloorOf(req).ReadDir(req, *reinterpret_cast<DirHandle*>(fi->fh), off, plus,
                                       &buffer);
    fuse_reply_buf(req, buffer.data(), used);
  });
}

void OnReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, size, off, fi, false);
}

void OnReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, size, off, fi, true);
}

void OnReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, Op::kReleaseDir, [&] {
    delete reinterpret_cast<DirHandle*>(fi->fh);
    fuse_reply_err(req, 0);
  });
}

// Memory is the limit, not blocks: plenty free, so that tools that check
// (fs_mark) go on.
void OnStatFs(fuse_req_t req, fuse_ino_t ino) {
  Serve(req, Op::kStatFs, [&] {
    struct statvfs st {};
    st.f_bsize = st.f_frsize = 4096;
    st.f_blocks = st.f_bfree = st.f_bavail = 1ull << 30;  // 4 TiB
    st.f_files = st.f_ffree = st.f_favail = 1ull << 32;
    st.f_namemax = 255;
    fuse_reply_statfs(req, &st);
  });
}

// Extended attributes as on a rocksfs file without any: user.* names are
// supported and absent (ENODATA), the others are not supported (ENOTSUP, so
// that ls(1) stops asking for ACLs and labels); never ENOSYS, which would
// stop the kernel from asking at all, unlike rocksfs.
void OnGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Serve(req, Op::kGetXattr, [&] {
    fuse_reply_err(req, std::strncmp(name, "user.", 5) == 0 ? ENODATA : ENOTSUP);
  });
}

void OnListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Serve(req, Op::kListXattr, [&] {
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, nullptr, 0);
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetAttr;
  ops.setattr = OnSetAttr;
  ops.mkdir = OnMkdir;
  ops.unlink = OnUnlink;
  ops.rmdir = OnRmdir;
  ops.create = OnCreate;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.write = OnWrite;
  ops.flush = OnFlush;
  ops.fsync = OnFsync;
  ops.release = OnRelease;
  ops.opendir = OnOpenDir;
  ops.readdir = OnReadDir;
  ops.readdirplus = OnReadDirPlus;
  ops.releasedir = OnReleaseDir;
  ops.statfs = OnStatFs;
  ops.getxattr = OnGetXattr;
  ops.listxattr = OnListXattr;
  return ops;
}

int Run(const rocksfs::fs::MountOptions& options) {
  Floor floor(options);
  // The FUSE options as the adapter passes them (fs/fuse_adapter.cc).
  char* joined = nullptr;
  bool has_fsname = false;
  for (const std::string& option : options.fuse_options) {
    if (option == "kernel_cache") continue;
    if (option.rfind("fsname=", 0) == 0) has_fsname = true;
    fuse_opt_add_opt_escaped(&joined, option.c_str());
  }
  if (!has_fsname) fuse_opt_add_opt_escaped(&joined, ("fsname=" + options.db_path).c_str());
  fuse_opt_add_opt_escaped(&joined, "subtype=rocksfs_floor");
  std::string option_text = joined ? joined : "";
  std::free(joined);
  std::vector<std::string> argv_storage = {"rocksfs_fuse_floor", "-o", option_text};
  if (options.debug) argv_storage.push_back("-d");
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops = MakeOps();
  fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), &floor);
  fuse_opt_free_args(&args);
  if (!session) {
    std::fprintf(stderr, "rocksfs_fuse_floor: cannot create the FUSE session ('%s')\n",
                 option_text.c_str());
    return 1;
  }
  int rc = 1;
  if (fuse_set_signal_handlers(session) == 0) {
    if (fuse_session_mount(session, options.mountpoint.c_str()) == 0) {
      rc = rocksfs::fs::RunSessionLoop(session, options.threads) < 0 ? 1 : 0;
      fuse_session_unmount(session);
    } else {
      std::fprintf(stderr, "rocksfs_fuse_floor: cannot mount on %s\n",
                   options.mountpoint.c_str());
    }
    fuse_remove_signal_handlers(session);
  }
  fuse_session_destroy(session);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  rocksfs::fs::MountOptions options;
  std::string error;
  bool help = false;
  int rc = rocksfs::fs::ParseMountArgs(argc, argv, &options, &error, &help);
  if (help) {
    std::printf("rocksfs_fuse_floor NAME MOUNTPOINT [-o OPT[,OPT...]] [-f] [-d]: the in-memory "
                "FUSE floor of scripts/bench.sh,\nwith mount.rocksfs's options:\n\n%s\n",
                error.c_str());
    return 0;
  }
  if (rc != 0) {
    std::fprintf(stderr, "rocksfs_fuse_floor: %s\n", error.c_str());
    return rc;
  }
  if (!options.foreground && !options.debug) {
    std::fprintf(stderr, "rocksfs_fuse_floor: runs in the foreground only: add -f\n");
    return 1;
  }
  return Run(options);
}
