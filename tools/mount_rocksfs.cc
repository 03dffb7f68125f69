// mount.rocksfs: mount a RocksDB database as a directory tree.
//
//   mount.rocksfs DB_PATH MOUNTPOINT [-o OPT[,OPT...]] [-f] [-d]
//   mount.rocksfs -V | --version
//
// Follows the mount(8) helper convention. Without -f it detaches: the parent
// waits until the daemon has opened the DB and mounted (or failed), prints
// the daemon's one-line error if any, and exits with its status.
#include <fcntl.h>
#define FUSE_USE_VERSION 314  // as fs/fuse_adapter.cc
#include <fuse.h>         // fuse_pkgversion() only: the adapter is the FUSE code
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "fs/filesystem.h"
#include "fs/fuse_adapter.h"
#include "fs/mount_options.h"
#include "fs/snapshot_catalog.h"
#include "kv/db_lock.h"
#ifdef ROCKSFS_WITH_ETCD
#include "kv/etcd_store.h"
#endif
#include "kv/rocks_store.h"
#include "kv/snapshots.h"
#include "tools/version.h"

namespace {

using rocksfs::fs::MountOptions;

constexpr const char* kProgram = "mount.rocksfs";

// -V (as mount(8) helpers such as mount.nfs) and --version print the versions
// of rocksfs, RocksDB and libfuse. They are answered here, before the option
// parser of fs/mount_options.cc sees the arguments, and kVersionHelp joins
// that parser's --help text after its own -h line.
constexpr const char* kVersionFlags[] = {"-V", "--version"};
constexpr const char* kVersionHelp =
    "  -V, --version           print the versions of rocksfs, RocksDB and libfuse";

bool VersionRequested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "-o") ++i;  // an option list, never a flag
    for (const char* flag : kVersionFlags) {
      if (arg == flag) return true;
    }
  }
  return false;
}

std::string VersionText() {
  return rocksfs::tools::VersionText(kProgram,
                                     {"libfuse " + std::string(::fuse_pkgversion())});
}

// The parser's help text with the -V line after the -h line (or at the end,
// should the -h line ever move).
std::string HelpText(std::string parser_help) {
  size_t help_line = parser_help.find("\n  -h, --help");
  if (help_line == std::string::npos) return parser_help + "\n\n" + kVersionHelp;
  size_t end = parser_help.find('\n', help_line + 1);
  if (end == std::string::npos) return parser_help + "\n" + kVersionHelp;
  return parser_help.insert(end + 1, std::string(kVersionHelp) + "\n");
}

// Large files live in memory whole: a reader's open copies the value out of
// the memtable into fresh heap memory, and a writer's buffer grows to the
// file's size. With 4 KiB pages, faulting in and zeroing those allocations
// costs more than the copy itself. glibc's glibc.malloc.hugetlb=1 tunable
// makes malloc advise transparent huge pages on large chunks, but glibc reads
// tunables only at start: set it and re-exec once. Measured (256 MiB file on
// a mount, open after fio's sequential write, THP mode "madvise"): open took
// 170-230 ms before, 27-34 ms after; bench.sh --only big_seqread (fio 1 MiB
// reads, medians of 3): 815 MiB/s = 0.46x ext4 before, 1,684 MiB/s = 0.73x
// ext4 after (2026-11-21, loaded 2-vCPU machine).
// Skipped when THP is not in "madvise" mode or the user set the tunable.
void UseHugePagesForLargeAllocations(char** argv) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string current = tunables ? tunables : "";
  if (current.find("glibc.malloc.hugetlb") != std::string::npos) return;
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(thp, modes);
  if (modes.find("[madvise]") == std::string::npos) return;  // "always" needs no advice
  std::string wanted =
      current.empty() ? "glibc.malloc.hugetlb=1" : current + ":glibc.malloc.hugetlb=1";
  // Exec the binary by its own path, not /proc/self/exe: the process name
  // (comm, what ps and pgrep show) comes from the path's last component.
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  if (::setenv("GLIBC_TUNABLES", wanted.c_str(), 1) != 0) return;
  ::execv(self, argv);
  // Not re-executed (no /proc): run on with 4 KiB pages.
  if (tunables) {
    ::setenv("GLIBC_TUNABLES", current.c_str(), 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

std::string Absolute(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd)) return std::string(cwd) + "/" + path;
  return path;
}

void SetUpLogging(const MountOptions& options, bool detached) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (!options.log_file.empty()) {
      logger = spdlog::basic_logger_mt("rocksfs", options.log_file);
    } else if (detached) {
      logger = spdlog::syslog_logger_mt("rocksfs", "rocksfs", LOG_PID, LOG_DAEMON);
    } else {
      logger = spdlog::stderr_color_mt("rocksfs");
    }
  } catch (const spdlog::spdlog_ex& e) {
    std::fprintf(stderr, "%s: cannot open log file %s: %s\n", kProgram, options.log_file.c_str(),
                 e.what());
    logger = spdlog::stderr_color_mt("rocksfs");
  }
  logger->set_level(spdlog::level::from_str(options.log_level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

// Tells the waiting parent how the mount went (detached mode only).
class Reporter {
 public:
  explicit Reporter(int fd) : fd_(fd) {}
  void Ok() { Send("OK"); }
  void Error(const std::string& message) { Send("ERR " + message); }

 private:
  void Send(const std::string& line) {
    if (fd_ < 0) return;
    std::string out = line + "\n";
    (void)!::write(fd_, out.data(), out.size());
    ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

int Fail(Reporter* reporter, const std::string& message, int status = 1) {
  spdlog::error("{}", message);
  reporter->Error(message);
  return status;
}

int ServeStore(const MountOptions& options, rocksfs::kv::Store* store,
               rocksfs::fs::SnapshotCatalog* snapshots, bool shared, Reporter* reporter);
int ServeCluster(const MountOptions& options, Reporter* reporter);

// True when the source names a cluster by URL (etcd://...), not a directory.
bool IsClusterSource(const std::string& source) { return source.find("://") != std::string::npos; }

// Opens the etcd cluster named by options.db_path, or returns a one-line error.
std::string OpenCluster(const MountOptions& options, std::unique_ptr<rocksfs::kv::Store>* store) {
#ifdef ROCKSFS_WITH_ETCD
  rocksfs::kv::EtcdOpenOptions open;
  if (rocksfs::kv::Status s = rocksfs::kv::ParseEtcdUrl(options.db_path, &open.endpoints); !s.ok()) {
    return s.message();
  }
  if (rocksfs::kv::Status s = rocksfs::kv::ValidateEtcdPrefix(options.prefix); !s.ok()) {
    return s.message();
  }
  open.prefix = options.prefix;
  open.read_only = options.read_only;
  open.timeout_ms = static_cast<uint32_t>(std::max(1.0, options.cluster_timeout * 1000));
  // ttl=: every put is attached to an etcd lease (kv/etcd_store.h).
  open.ttl_seconds = static_cast<uint32_t>(std::min<uint64_t>(options.ttl_seconds, UINT32_MAX));
  if (rocksfs::kv::Status s = rocksfs::kv::OpenEtcdStore(open, store); !s.ok()) {
    return s.message();
  }
  return "";
#else
  return "this mount.rocksfs was built without the etcd engine (see scripts/setup.sh)";
#endif
}

int Serve(const MountOptions& options, Reporter* reporter) {
  const std::string& db_path = options.db_path;
  if (IsClusterSource(db_path)) return ServeCluster(options, reporter);

  rocksfs::kv::RocksOpenOptions open;
  open.path = db_path;
  open.create_if_missing = options.create;
  open.mode = options.secondary   ? rocksfs::kv::OpenMode::kSecondary
              : options.read_only ? rocksfs::kv::OpenMode::kReadOnly
                                  : rocksfs::kv::OpenMode::kReadWrite;
  if (!options.snapshot.empty()) {
    // A stored snapshot is a checkpoint directory: open it read-only.
    if (rocksfs::kv::Status s = rocksfs::kv::ValidateSnapshotName(options.snapshot); !s.ok()) {
      return Fail(reporter, s.message());
    }
    open.path = rocksfs::kv::SnapshotPath(db_path, options.snapshot);
    open.mode = rocksfs::kv::OpenMode::kReadOnly;
    struct stat st;
    if (::stat(open.path.c_str(), &st) != 0) {
      return Fail(reporter, "no snapshot named '" + options.snapshot + "' in " + db_path +
                                " (list them with: rocksfs snapshot list " + db_path + ")");
    }
  }
  open.ttl_seconds = static_cast<int32_t>(options.ttl_seconds);
  open.db_options = options.db_options;
  open.cf_options = options.cf_options;
  open.options_file = options.options_file;
  std::unique_ptr<rocksfs::kv::Store> store;
  rocksfs::kv::Status s = rocksfs::kv::OpenRocksStore(open, &store);
  if (!s.ok()) {
    if (s.code() == rocksfs::kv::Code::kBusy) {
      std::string where = rocksfs::kv::FindRocksfsMount(db_path);
      return Fail(reporter, "database " + db_path + " is in use by another process" +
                                (where.empty() ? "" : " (mounted at " + where + ")"));
    }
    if (s.IsNotFound()) {
      return Fail(reporter, "database not found at " + db_path + " (use -o create to create it)");
    }
    return Fail(reporter, "cannot open database " + db_path + ": " + s.ToString());
  }

  std::unique_ptr<rocksfs::fs::StoredSnapshots> snapshots;
  if (options.snapshot.empty()) {
    snapshots = std::make_unique<rocksfs::fs::StoredSnapshots>(store.get(), db_path);
  }
  int rc = ServeStore(options, store.get(), snapshots.get(), false, reporter);
  snapshots.reset();
  store.reset();
  return rc;
}

// A cluster (etcd://): other hosts change keys behind this kernel's back.
// Every open reads the value with a linearizable read, so an open sees every
// change whose close returned before it (close-to-open); the kernel keeps
// its pages only while the value's mod_revision is unchanged. Cached names
// and attributes follow a watch of the prefix (Filesystem::FollowChanges),
// and expire after kClusterCacheSeconds for what a watch cannot tell (a
// directory whose last key went, a watch between members).
constexpr double kClusterCacheSeconds = 1.0;

int ServeCluster(const MountOptions& options, Reporter* reporter) {
  std::unique_ptr<rocksfs::kv::Store> store;
  std::string error = OpenCluster(options, &store);
  if (!error.empty()) return Fail(reporter, error);
  MountOptions shared = options;
  auto given = [&](std::string_view name) {
    return std::find(options.given.begin(), options.given.end(), name) != options.given.end();
  };
  // The metadata column family exists from the start: a mount notices it
  // only at its own start, and another host's mkdir must show here.
  if (!options.nometa && !options.read_only) {
    rocksfs::kv::ColumnFamily* meta = nullptr;
    rocksfs::kv::Status s = store->GetColumnFamily(
        rocksfs::fs::MetaColumnFamilyName(options.column_family), true, &meta);
    if (!s.ok()) return Fail(reporter, "cannot create the metadata column family: " + s.ToString());
  }
  if (!given("attr_timeout")) shared.attr_timeout = kClusterCacheSeconds;
  if (!given("entry_timeout")) shared.entry_timeout = kClusterCacheSeconds;
  // Stored snapshots are revisions the store records (/.rocksfs/snapshots).
  rocksfs::fs::EngineSnapshots snapshots(store.get());
  int rc = ServeStore(shared, store.get(), &snapshots, true, reporter);
  store.reset();
  return rc;
}

// Mounts the filesystem view of `store` and serves it until unmounted.
// `shared`: other writers change the store behind the kernel's back.
int ServeStore(const MountOptions& options, rocksfs::kv::Store* store,
               rocksfs::fs::SnapshotCatalog* snapshots, bool shared, Reporter* reporter) {
  const std::string& db_path = options.db_path;
  rocksfs::fs::FilesystemOptions fs_options;
  fs_options.delimiter = options.delimiter;
  fs_options.column_family = options.column_family;
  fs_options.nometa = options.nometa;
  fs_options.sync = options.sync;
  fs_options.commit_interval_ns = static_cast<rocksfs::fs::TimeNs>(options.commit_seconds * 1e9);
  fs_options.max_value_size = options.max_value_size;
  fs_options.defaults.uid = options.uid;
  fs_options.defaults.gid = options.gid;
  fs_options.defaults.file_mode = options.file_mode;
  fs_options.defaults.dir_mode = options.dir_mode;
  // Opens drop the page cache, and listings are not cached by the kernel,
  // where others write behind the kernel (a RocksDB primary, or other hosts
  // of a cluster).
  fs_options.secondary = options.secondary || shared;
  fs_options.expiring_keys = options.ttl_seconds > 0;
  fs_options.snapshots = snapshots;
  std::unique_ptr<rocksfs::fs::Filesystem> fs;
  std::string error;
  if (rocksfs::fs::Filesystem::Create(store, fs_options, &fs, &error) != 0) {
    return Fail(reporter, error);
  }

  if (options.secondary) fs->FollowPrimary(options.catchup_ms);

  rocksfs::fs::FuseConfig fuse;
  fuse.mountpoint = options.mountpoint;
  fuse.fsname = db_path;
  fuse.fuse_options = options.fuse_options;
  fuse.threads = options.threads;
  fuse.writeback_cache = options.writeback_cache;
  fuse.attr_timeout = options.attr_timeout;
  fuse.entry_timeout = options.entry_timeout;
  if (options.secondary) {
    // The primary changes keys behind the kernel: cache no longer than one
    // catch-up period.
    double period = options.catchup_ms / 1000.0;
    fuse.attr_timeout = std::min(fuse.attr_timeout, period);
    fuse.entry_timeout = std::min(fuse.entry_timeout, period);
  }
  fuse.debug = options.debug;
  std::unique_ptr<rocksfs::fs::FuseSession> session;
  if (rocksfs::fs::FuseSession::Mount(fs.get(), fuse, &session, &error) != 0) {
    return Fail(reporter, error);
  }
  if (shared && fs->FollowChanges(&error) != 0) return Fail(reporter, error);
  spdlog::info("mounted {} at {}{}", db_path, fuse.mountpoint, fs->read_only() ? " (read-only)" : "");
  reporter->Ok();
  int rc = session->Run();
  fs->StopFollowingChanges();  // it invalidates through the session
  session.reset();  // unmount before the DB closes
  fs.reset();
  spdlog::info("unmounted {}", fuse.mountpoint);
  return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (VersionRequested(argc, argv)) {
    std::cout << VersionText();
    return 0;
  }
  UseHugePagesForLargeAllocations(argv);
  MountOptions options;
  std::string error;
  bool help = false;
  int rc = rocksfs::fs::ParseMountArgs(argc, argv, &options, &error, &help);
  if (help) {
    std::cout << HelpText(error) << "\n";
    return 0;
  }
  if (rc != 0) {
    std::fprintf(stderr, "%s: %s\n", kProgram, error.c_str());
    return rc;
  }
  struct stat st;
  if (::stat(options.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "%s: mountpoint %s is not a directory\n", kProgram,
                 options.mountpoint.c_str());
    return 1;
  }
  if (!IsClusterSource(options.db_path)) options.db_path = Absolute(options.db_path);
  options.mountpoint = Absolute(options.mountpoint);

  if (options.foreground) {
    SetUpLogging(options, false);
    Reporter reporter(-1);
    return Serve(options, &reporter);
  }

  // Detach before any thread exists (RocksDB and spdlog start threads), and
  // keep the parent until the child knows whether the mount worked.
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    std::perror("mount.rocksfs: pipe");
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("mount.rocksfs: fork");
    return 1;
  }
  if (pid > 0) {
    ::close(pipe_fds[1]);
    std::string reply;
    char buf[512];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) reply.append(buf, n);
    if (reply.rfind("OK", 0) == 0) return 0;
    if (reply.rfind("ERR ", 0) == 0) {
      while (!reply.empty() && reply.back() == '\n') reply.pop_back();
      std::fprintf(stderr, "%s: %s\n", kProgram, reply.c_str() + 4);
      return 1;
    }
    std::fprintf(stderr, "%s: the daemon exited before mounting (see syslog or -o log_file)\n",
                 kProgram);
    return 1;
  }
  ::close(pipe_fds[0]);
  ::setsid();
  (void)!::chdir("/");  // paths were made absolute before the fork
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) ::close(null_fd);
  }
  SetUpLogging(options, true);
  Reporter reporter(pipe_fds[1]);
  return Serve(options, &reporter);
}
