// FuseSession: serves a Filesystem through the libfuse low-level API.
//
// This is the thin adapter of ../shared/STYLE.md: each callback unpacks its
// request, calls the Filesystem, and replies (the passthrough_hp.cc split).
// No exception crosses a callback: bad_alloc becomes ENOMEM, anything else is
// logged and becomes EIO. libfuse's own log lines go to spdlog.
//
// Kernel caching: entries and attributes are cached for the configured
// timeouts, misses are cached as negative entries, reads keep the page cache
// across opens, and read-only handles need no FLUSH. On read-only mounts open
// and flush are not implemented at all (FUSE_CAP_NO_OPEN_SUPPORT), so a warm
// read costs no request.
//
// Thread-safety: one FuseSession per mount; Run() blocks the calling thread
// and serves requests on `threads` worker threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fs/filesystem.h"

struct fuse_session;

namespace rocksfs::fs {

struct FuseConfig {
  std::string mountpoint;
  std::string fsname;                    // shown in /proc/mounts (the DB path)
  std::vector<std::string> fuse_options; // "allow_other", "default_permissions", ...
  unsigned threads = 4;
  double attr_timeout = 3600.0;          // seconds
  double entry_timeout = 3600.0;         // seconds; also for negative entries
  bool debug = false;                    // libfuse request tracing
  // The kernel's writeback cache: writes gather in the page cache and reach
  // the daemon in large WRITEs (before every FLUSH, so close still commits).
  // It costs small files a SETATTR of the times per close, hence opt-in.
  bool writeback_cache = false;
};

class FuseSession : public KernelCache {
 public:
  // Creates the session and mounts it. Fails with a one-line *error (bad
  // FUSE option, mountpoint unusable, /dev/fuse missing).
  [[nodiscard]] static int Mount(Filesystem* fs, const FuseConfig& config,
                                 std::unique_ptr<FuseSession>* out, std::string* error);
  ~FuseSession() override;  // unmounts if still mounted

  // Serves requests until the filesystem is unmounted (fusermount3 -u,
  // umount) or SIGINT/SIGTERM/SIGHUP arrives. Returns 0 on a clean end.
  [[nodiscard]] int Run();

  // KernelCache.
  void InvalidateInode(NodeId node) override;
  void InvalidateEntry(NodeId parent, std::string_view name) override;

  Filesystem* fs() const { return fs_; }
  const FuseConfig& config() const { return config_; }

 private:
  FuseSession(Filesystem* fs, FuseConfig config) : fs_(fs), config_(std::move(config)) {}

  // Entry invalidations run on their own thread: the request that causes
  // one may hold the kernel's lock on the parent directory.
  void RunNotifier();

  Filesystem* fs_;
  FuseConfig config_;
  fuse_session* session_ = nullptr;
  bool mounted_ = false;
  bool signals_installed_ = false;
  std::mutex notify_mutex_;
  std::condition_variable notify_cv_;
  std::deque<std::pair<NodeId, std::string>> notify_queue_;
  bool notify_stop_ = false;
  std::thread notifier_;
};

}  // namespace rocksfs::fs
