// MountOptions: everything `mount.rocksfs` is told on its command line.
//
// ParseMountArgs follows the mount(8) helper convention:
//   mount.rocksfs DB_PATH MOUNTPOINT [-o OPT[,OPT...]] [-f] [-d]
// where every -o option may also be given as --name=value (or --flag). The
// standard mount(8) and FUSE options listed in the README are accepted and
// passed to FUSE in `fuse_options`; anything unknown is an error, so a typo
// never silently changes behaviour.
//
// Thread-safety: plain data; ParseMountArgs is reentrant.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rocksfs::fs {

struct MountOptions {
  std::string db_path;
  std::string mountpoint;

  bool create = false;        // create the DB when missing
  bool read_only = false;     // RocksDB read-only open; EROFS on writes
  bool secondary = false;     // RocksDB secondary instance (read-only)
  uint32_t catchup_ms = 1000; // secondary: TryCatchUpWithPrimary period
  std::string column_family = "default";
  char delimiter = '/';
  std::string db_options;     // RocksDB "k=v;k=v" DBOptions string
  std::string cf_options;     // RocksDB "k=v;k=v" ColumnFamilyOptions string
  std::string options_file;   // a RocksDB OPTIONS file
  std::string snapshot;       // mount this stored snapshot, read-only
  uint64_t ttl_seconds = 0;   // 0: no TTL
  bool sync = false;          // every commit syncs the WAL
  double commit_seconds = 5.0;  // a file kept open for writing is committed this often; 0: never
  bool writeback_cache = false; // the kernel's writeback cache (FUSE_CAP_WRITEBACK_CACHE)

  uid_t uid = 0;              // owner of keys without metadata (default: caller's)
  gid_t gid = 0;
  mode_t file_mode = 0644;    // permission bits of keys without metadata
  mode_t dir_mode = 0755;
  double attr_timeout = 3600.0;   // seconds the kernel may cache attributes
  double entry_timeout = 3600.0;  // seconds the kernel may cache names (and misses)
  unsigned threads = 4;           // FUSE worker threads (>= 1)
  uint64_t max_value_size = 256ull << 20;  // bytes; larger files fail with EFBIG
  bool nometa = false;        // never create the metadata column family

  // Sources that name a cluster by URL ("etcd://HOST:PORT,..."), not a
  // RocksDB directory: the key prefix mounted (required there), and how long
  // one call may wait for the cluster before it fails with EIO.
  std::string prefix;
  double cluster_timeout = 5.0;  // seconds
  // The names of the rocksfs options given (-o or --name), in order, so the
  // caller can tell a default from an explicit value.
  std::vector<std::string> given;

  bool foreground = false;    // -f
  bool debug = false;         // -d: foreground with debug logs
  std::string log_level = "info";  // trace|debug|info|warn|error|critical|off
  std::string log_file;       // empty: stderr in the foreground, syslog-less file otherwise

  // Options for FUSE and the kernel mount, e.g. "allow_other",
  // "default_permissions", "noatime", "fsname=x": passed to fuse_session_new.
  std::vector<std::string> fuse_options;
};

// Parses argv (argv[0] is the program name). Returns 0 and fills *out, or
// returns a non-zero exit status and sets *error to a one-line message naming
// the bad argument. "--help" returns 0 with *error holding the usage text and
// `*help_shown` set.
[[nodiscard]] int ParseMountArgs(int argc, const char* const* argv, MountOptions* out,
                                 std::string* error, bool* help_shown);

}  // namespace rocksfs::fs
