// The libfuse settings of a rocksfs mount that do not depend on what the
// filesystem holds: the capabilities asked for in init, and the worker loop.
//
// fs/fuse_adapter.cc serves rocksfs with them, and tools/fuse_floor.cc, the
// benchmark's in-memory floor, serves its hash map with them, so that the two
// are measured with the same settings. Entry and attr timeouts and the
// number of workers come from MountOptions in both.
//
// Include it only after fuse_lowlevel.h with FUSE_USE_VERSION 314 (the
// fuse_loop_cfg API), that is from the adapter or a benchmark tool.
//
// Thread-safety: stateless functions.
#pragma once

#include <fuse_lowlevel.h>

namespace rocksfs::fs {

// Asks, where the kernel offers them, for what every read-write rocksfs
// mount wants: readdirplus (adaptive), parallel directory operations, cached
// symlinks, asynchronous reads, and O_TRUNC with the OPEN rather than as a
// separate SETATTR. The writeback cache only when `writeback_cache`;
// FUSE_CAP_AUTO_INVAL_DATA never (a read-write mount sees every change to
// its files' bytes come through the kernel). max_write is libfuse's default.
// Read-only mounts add their own capabilities after this.
inline void RequestCapabilities(fuse_conn_info* conn, bool writeback_cache) {
  auto want = [conn](unsigned capability) {
    if (conn->capable & capability) conn->want |= capability;
  };
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_READDIRPLUS_AUTO);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_CACHE_SYMLINKS);
  want(FUSE_CAP_ASYNC_READ);
  if (writeback_cache) want(FUSE_CAP_WRITEBACK_CACHE);
  else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  want(FUSE_CAP_ATOMIC_O_TRUNC);
}

// Serves `session` until it is unmounted or a signal ends it: on one thread
// with fuse_session_loop when `threads` <= 1, else with fuse_session_loop_mt
// and `threads` workers, all kept when idle, on the shared /dev/fuse fd (no
// clone_fd). Returns what the libfuse loop returns.
[[nodiscard]] inline int RunSessionLoop(fuse_session* session, unsigned threads) {
  if (threads <= 1) return fuse_session_loop(session);
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, threads);
  fuse_loop_cfg_set_idle_threads(loop, threads);
  int rc = fuse_session_loop_mt(session, loop);
  fuse_loop_cfg_destroy(loop);
  return rc;
}

}  // namespace rocksfs::fs
