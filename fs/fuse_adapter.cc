// The libfuse low-level adapter: unpack, call Filesystem, reply.
#define FUSE_USE_VERSION 314  // FUSE_MAKE_VERSION(3, 14): the fuse_loop_cfg API
#include "fs/fuse_adapter.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "fs/fuse_settings.h"

namespace rocksfs::fs {
namespace {

FuseSession* SessionOf(fuse_req_t req) { return static_cast<FuseSession*>(fuse_req_userdata(req)); }
Filesystem& FsOf(fuse_req_t req) { return *SessionOf(req)->fs(); }

Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid};
}

// Counts the request and runs `body`, turning any exception into an error
// reply.
template <typename Body>
void Guard(fuse_req_t req, Op op, Body&& body) {
  FsOf(req).counters().Count(op);
  try {
    body();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    spdlog::error("{} failed with an exception: {}", OpName(op), e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    spdlog::error("{} failed with an unknown exception", OpName(op));
    fuse_reply_err(req, EIO);
  }
}

fuse_entry_param ToEntryParam(fuse_req_t req, const Entry& entry) {
  const FuseConfig& config = SessionOf(req)->config();
  fuse_entry_param e{};
  e.ino = entry.node;
  e.generation = 0;  // nodeids are never reused
  e.attr = entry.attr;
  e.attr_timeout = config.attr_timeout;
  e.entry_timeout = config.entry_timeout;
  if (entry.node) {
    double timeout = FsOf(req).CacheTimeout(entry.node);
    if (timeout >= 0) e.attr_timeout = e.entry_timeout = timeout;
  }
  return e;
}

void ReplyEntry(fuse_req_t req, int err, const Entry& entry) {
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_entry_param e = ToEntryParam(req, entry);
  fuse_reply_entry(req, &e);  // ino 0: a negative entry the kernel caches
}

void ReplyAttr(fuse_req_t req, fuse_ino_t ino, int err, const struct stat& st) {
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  double timeout = FsOf(req).CacheTimeout(ino);
  fuse_reply_attr(req, &st, timeout >= 0 ? timeout : SessionOf(req)->config().attr_timeout);
}

void ApplyOpenResult(const OpenResult& result, fuse_file_info* fi) {
  fi->fh = result.fh;
  fi->keep_cache = result.keep_cache;
  fi->noflush = result.noflush;
  fi->direct_io = result.direct_io;
}

void OnInit(void* userdata, fuse_conn_info* conn) {
  auto* session = static_cast<FuseSession*>(userdata);
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  // The writeback cache only on request (FuseConfig::writeback_cache). O_TRUNC
  // arrives with the open (no separate SETATTR) and empties the file's shared
  // state there.
  RequestCapabilities(conn, session->config().writeback_cache);
  // On read-only mounts every read first checks the inode's attributes, so
  // a changed mtime drops old pages: /.rocksfs/stats stays fresh without
  // opens, and a secondary's files follow its primary. A read-write mount
  // sees every change to its files' bytes come through the kernel, whose
  // page cache therefore stays valid, and would only lose it after writes.
  if (session->fs()->read_only()) want(FUSE_CAP_AUTO_INVAL_DATA);
  if (session->fs()->read_only() && !session->fs()->options().secondary) {
    want(FUSE_CAP_NO_OPEN_SUPPORT);
  }
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, Op::kLookup, [&] {
    Entry entry;
    int err = FsOf(req).Lookup(parent, name, &entry);
    ReplyEntry(req, err, entry);
  });
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  FsOf(req).counters().Count(Op::kForget);
  FsOf(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FsOf(req).counters().Count(Op::kForget);
  for (size_t i = 0; i < count; ++i) FsOf(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OnGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kGetAttr, [&] {
    struct stat st {};
    int err = FsOf(req).GetAttr(ino, &st);
    ReplyAttr(req, ino, err, st);
  });
}

void OnSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Guard(req, Op::kSetAttr, [&] {
    SetAttrRequest request;
    if (to_set & FUSE_SET_ATTR_MODE) request.mode = attr->st_mode;
    if (to_set & FUSE_SET_ATTR_UID) request.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) request.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) request.size = static_cast<uint64_t>(attr->st_size);
    auto ns = [](const struct timespec& ts) {
      return static_cast<TimeNs>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    };
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) request.atime = NowNs();
    else if (to_set & FUSE_SET_ATTR_ATIME) request.atime = ns(attr->st_atim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) request.mtime = NowNs();
    else if (to_set & FUSE_SET_ATTR_MTIME) request.mtime = ns(attr->st_mtim);
    struct stat st {};
    int err = FsOf(req).SetAttr(ino, fi ? fi->fh : 0, request, &st);
    ReplyAttr(req, ino, err, st);
  });
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kOpen, [&] {
    OpenResult result;
    int err = FsOf(req).Open(ino, fi->flags, &result);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    ApplyOpenResult(result, fi);
    if (fuse_reply_open(req, fi) == -ENOENT) FsOf(req).Release(result.fh);  // interrupted
  });
}

// Read-only mounts (not secondary): the first OPEN is answered with ENOSYS
// on purpose. The kernel then stops sending OPEN for good and opens files
// with FOPEN_KEEP_CACHE, so a warm read costs no request. (Leaving open
// unset is not the same: libfuse 3.14 then answers OPEN with success and no
// keep_cache, and every open drops the page cache.)
void OnOpenZeroMessage(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FsOf(req).counters().Count(Op::kOpen);
  fuse_reply_err(req, ENOSYS);
}

void OnCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guard(req, Op::kCreate, [&] {
    Entry entry;
    OpenResult result;
    int err = FsOf(req).Create(parent, name, mode, fi->flags, CallerOf(req), &entry, &result);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    ApplyOpenResult(result, fi);
    fuse_entry_param e = ToEntryParam(req, entry);
    if (fuse_reply_create(req, &e, fi) == -ENOENT) {
      FsOf(req).Release(result.fh);
      FsOf(req).Forget(entry.node, 1);
    }
  });
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, Op::kRead, [&] {
    ReadResult result;
    int err = FsOf(req).Read(ino, fi ? fi->fh : 0, static_cast<uint64_t>(off), size, &result);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    std::string_view data = result.data.view();
    fuse_reply_buf(req, data.data(), data.size());
  });
}

void OnWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Guard(req, Op::kWrite, [&] {
    size_t written = 0;
    int err = FsOf(req).Write(fi->fh, static_cast<uint64_t>(off), std::string_view(buf, size),
                              &written);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_write(req, written);
  });
}

void OnFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kFlush, [&] {
    fuse_reply_err(req, FsOf(req).Flush(fi->fh));
  });
}

void OnFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Guard(req, Op::kFsync, [&] { fuse_reply_err(req, FsOf(req).Fsync(fi->fh, datasync != 0)); });
}

void OnRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kRelease, [&] {
    FsOf(req).Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Guard(req, Op::kMknod, [&] {
    Entry entry;
    int err = FsOf(req).Mknod(parent, name, mode, rdev, CallerOf(req), &entry);
    ReplyEntry(req, err, entry);
  });
}

void OnMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guard(req, Op::kMkdir, [&] {
    Entry entry;
    int err = FsOf(req).Mkdir(parent, name, mode, CallerOf(req), &entry);
    ReplyEntry(req, err, entry);
  });
}

void OnUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, Op::kUnlink, [&] { fuse_reply_err(req, FsOf(req).Unlink(parent, name)); });
}

void OnRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, Op::kRmdir, [&] { fuse_reply_err(req, FsOf(req).Rmdir(parent, name)); });
}

void OnRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  Guard(req, Op::kRename, [&] {
    fuse_reply_err(req, FsOf(req).Rename(parent, name, new_parent, new_name, flags));
  });
}

void OnSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  Guard(req, Op::kSymlink, [&] {
    Entry entry;
    int err = FsOf(req).Symlink(target, parent, name, CallerOf(req), &entry);
    ReplyEntry(req, err, entry);
  });
}

void OnReadlink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, Op::kReadlink, [&] {
    std::string target;
    int err = FsOf(req).Readlink(ino, &target);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_readlink(req, target.c_str());
  });
}

void OnLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  Guard(req, Op::kLink, [&] {
    Entry entry;
    int err = FsOf(req).Link(ino, new_parent, new_name, &entry);
    ReplyEntry(req, err, entry);
  });
}

void OnOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kOpenDir, [&] {
    uint64_t fh = 0;
    bool cache_listing = false;
    int err = FsOf(req).OpenDir(ino, &fh, &cache_listing);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = fh;
    // The kernel's readdir cache (FOPEN_CACHE_DIR), kept across opens. When
    // it is dropped halfway, the kernel resumes on this handle at an offset
    // another handle handed out: Filesystem's offsets are shared by every
    // handle of a directory (fs/dir_positions.h).
    fi->cache_readdir = cache_listing;
    fi->keep_cache = cache_listing;
    if (fuse_reply_open(req, fi) == -ENOENT) FsOf(req).ReleaseDir(fh);
  });
}

void DoReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus) {
  Guard(req, plus ? Op::kReadDirPlus : Op::kReadDir, [&] {
    std::string buffer(size, '\0');
    size_t used = 0;
    auto fill = [&](const DirEntry& entry, off_t next) {
      size_t room = size - used;
      size_t needed;
      if (plus) {
        fuse_entry_param e{};
        if (entry.node) {
          e = ToEntryParam(req, Entry{entry.node, entry.attr});
        } else {
          e.attr = entry.attr;  // "." and "..": no lookup
        }
        needed = fuse_add_direntry_plus(req, buffer.data() + used, room, entry.name.c_str(), &e,
                                        next);
      } else {
        needed = fuse_add_direntry(req, buffer.data() + used, room, entry.name.c_str(),
                                   &entry.attr, next);
      }
      if (needed > room) return false;
      used += needed;
      return true;
    };
    int err = FsOf(req).ReadDir(ino, fi->fh, off, plus, fill);
    if (err && used == 0) fuse_reply_err(req, err);
    else fuse_reply_buf(req, buffer.data(), used);
  });
}

void OnReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, ino, size, off, fi, false);
}

void OnReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, ino, size, off, fi, true);
}

void OnReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, Op::kReleaseDir, [&] {
    FsOf(req).ReleaseDir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnFsyncDir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Guard(req, Op::kFsyncDir, [&] { fuse_reply_err(req, FsOf(req).FsyncDir(ino, datasync != 0)); });
}

// Only without -o default_permissions: with it the kernel checks modes.
void OnAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Guard(req, Op::kAccess, [&] { fuse_reply_err(req, FsOf(req).Access(ino, mask)); });
}

void OnStatFs(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, Op::kStatFs, [&] {
    struct statvfs st {};
    int err = FsOf(req).StatFs(&st);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_statfs(req, &st);
  });
}

void OnSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  Guard(req, Op::kSetXattr, [&] {
    fuse_reply_err(req, FsOf(req).SetXattr(ino, name, std::string_view(value, size), flags));
  });
}

// getxattr and listxattr share the size protocol: size 0 asks for the
// length; a buffer too small is ERANGE.
void ReplySized(fuse_req_t req, int err, const std::string& bytes, size_t size) {
  if (err) fuse_reply_err(req, err);
  else if (size == 0) fuse_reply_xattr(req, bytes.size());
  else if (bytes.size() > size) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, bytes.data(), bytes.size());
}

void OnGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, Op::kGetXattr, [&] {
    std::string value;
    int err = FsOf(req).GetXattr(ino, name, &value);
    ReplySized(req, err, value, size);
  });
}

void OnListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, Op::kListXattr, [&] {
    std::string names;
    int err = FsOf(req).ListXattr(ino, &names);
    ReplySized(req, err, names, size);
  });
}

void OnRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guard(req, Op::kRemoveXattr, [&] { fuse_reply_err(req, FsOf(req).RemoveXattr(ino, name)); });
}

fuse_lowlevel_ops MakeOps(bool read_only, bool secondary) {
  fuse_lowlevel_ops ops{};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetAttr;
  ops.setattr = OnSetAttr;
  ops.readlink = OnReadlink;
  ops.mknod = OnMknod;
  ops.mkdir = OnMkdir;
  ops.unlink = OnUnlink;
  ops.rmdir = OnRmdir;
  ops.symlink = OnSymlink;
  ops.rename = OnRename;
  ops.link = OnLink;
  ops.read = OnRead;
  ops.write = OnWrite;
  ops.fsync = OnFsync;
  ops.opendir = OnOpenDir;
  ops.readdir = OnReadDir;
  ops.readdirplus = OnReadDirPlus;
  ops.releasedir = OnReleaseDir;
  ops.fsyncdir = OnFsyncDir;
  ops.statfs = OnStatFs;
  ops.access = OnAccess;
  ops.setxattr = OnSetXattr;
  ops.getxattr = OnGetXattr;
  ops.listxattr = OnListXattr;
  ops.removexattr = OnRemoveXattr;
  ops.create = OnCreate;
  if (!read_only || secondary) {
    // Secondary mounts keep open, to drop the page cache at each one.
    ops.open = OnOpen;
    ops.flush = OnFlush;
    ops.release = OnRelease;
  } else {
    // Read-only mounts: zero-message opens (FUSE_CAP_NO_OPEN_SUPPORT), and
    // no flush handler, so the kernel stops sending FLUSH too.
    ops.open = OnOpenZeroMessage;
  }
  return ops;
}

void LogFromFuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  switch (level) {
    case FUSE_LOG_EMERG:
    case FUSE_LOG_ALERT:
    case FUSE_LOG_CRIT:
    case FUSE_LOG_ERR: spdlog::error("fuse: {}", text); break;
    case FUSE_LOG_WARNING: spdlog::warn("fuse: {}", text); break;
    case FUSE_LOG_NOTICE:
    case FUSE_LOG_INFO: spdlog::info("fuse: {}", text); break;
    case FUSE_LOG_DEBUG: spdlog::debug("fuse: {}", text); break;
  }
}

}  // namespace

int FuseSession::Mount(Filesystem* fs, const FuseConfig& config, std::unique_ptr<FuseSession>* out,
                       std::string* error) {
  fuse_set_log_func(LogFromFuse);
  std::unique_ptr<FuseSession> session(new FuseSession(fs, config));
  // fuse_opt_add_opt_escaped keeps commas inside values (fsname=a\,b).
  char* options = nullptr;
  auto add = [&options](const std::string& option) {
    fuse_opt_add_opt_escaped(&options, option.c_str());
  };
  bool has_fsname = false;
  for (const std::string& option : config.fuse_options) {
    if (option == "kernel_cache") continue;  // the high-level API's name for keep_cache: always on
    if (option.rfind("fsname=", 0) == 0) has_fsname = true;
    add(option);
  }
  if (!has_fsname) add("fsname=" + config.fsname);
  add("subtype=rocksfs");
  if (fs->read_only()) add("ro");
  std::string joined = options ? options : "";
  free(options);
  std::vector<std::string> argv_storage = {"mount.rocksfs", "-o", joined};
  if (config.debug) argv_storage.push_back("-d");
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops = MakeOps(fs->read_only(), fs->options().secondary);
  session->session_ = fuse_session_new(&args, &ops, sizeof(ops), session.get());
  fuse_opt_free_args(&args);
  if (!session->session_) {
    *error = "cannot create the FUSE session (bad FUSE option in '" + joined + "'?)";
    return EINVAL;
  }
  if (fuse_set_signal_handlers(session->session_) != 0) {
    *error = "cannot install signal handlers";
    return EIO;
  }
  session->signals_installed_ = true;
  if (fuse_session_mount(session->session_, config.mountpoint.c_str()) != 0) {
    *error = "cannot mount on " + config.mountpoint +
             " (does it exist, is it empty, is /dev/fuse usable?)";
    return EIO;
  }
  session->mounted_ = true;
  session->notifier_ = std::thread([raw = session.get()] { raw->RunNotifier(); });
  fs->SetKernelCache(session.get());
  *out = std::move(session);
  return 0;
}

FuseSession::~FuseSession() {
  fs_->SetKernelCache(nullptr);
  {
    std::lock_guard lock(notify_mutex_);
    notify_stop_ = true;
  }
  notify_cv_.notify_all();
  if (notifier_.joinable()) notifier_.join();
  if (session_) {
    if (mounted_) fuse_session_unmount(session_);
    if (signals_installed_) fuse_remove_signal_handlers(session_);
    fuse_session_destroy(session_);
  }
}

int FuseSession::Run() {
  int rc = RunSessionLoop(session_, config_.threads);
  fuse_session_unmount(session_);
  mounted_ = false;
  // A signal ends the loop with rc = the signal number: a clean end too.
  return rc < 0 ? -rc : 0;
}

void FuseSession::InvalidateInode(NodeId node) {
  // -ENOENT: the kernel holds nothing of this node, nothing to drop.
  if (session_) (void)fuse_lowlevel_notify_inval_inode(session_, node, 0, 0);
}

void FuseSession::InvalidateEntry(NodeId parent, std::string_view name) {
  {
    std::lock_guard lock(notify_mutex_);
    notify_queue_.emplace_back(parent, std::string(name));
  }
  notify_cv_.notify_one();
}

void FuseSession::RunNotifier() {
  std::unique_lock lock(notify_mutex_);
  while (true) {
    notify_cv_.wait(lock, [this] { return notify_stop_ || !notify_queue_.empty(); });
    if (notify_stop_) return;
    auto [parent, name] = std::move(notify_queue_.front());
    notify_queue_.pop_front();
    lock.unlock();
    int rc = fuse_lowlevel_notify_inval_entry(session_, parent, name.c_str(), name.size());
    if (rc != 0 && rc != -ENOENT) spdlog::debug("invalidating entry {} failed: {}", name, rc);
    lock.lock();
  }
}

}  // namespace rocksfs::fs
