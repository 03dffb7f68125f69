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

#include <memory>
#include <string>
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

  Filesystem* fs_;
  FuseConfig config_;
  fuse_session* session_ = nullptr;
  bool mounted_ = false;
  bool signals_installed_ = false;
};

}  // namespace rocksfs::fs
