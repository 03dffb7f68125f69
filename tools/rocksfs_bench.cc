// rocksfs_bench: the in-process driver of scripts/bench.sh.
//
// It runs the loops that no existing tool runs without a fork per file, on a
// directory tree (any filesystem: ext4, tmpfs, a rocksfs mount) and, with the
// kv-* commands, the same operations through the direct key-value API
// (kv::OpenRocksStore with the RocksDB options rocksfs uses), so the two can
// be compared op for op.
//
// Files are named by a list (--list FILE: one path per line, relative to
// --base, or used as the key for kv-* commands); --start and --count pick a
// slice of it, --random N picks N random entries of the slice per worker.
// Each timed pass prints one JSON line on standard output:
//   {"op":"stat","pass":1,"ops":100000,"seconds":0.52,"errors":0,"bytes":0}
// Only the loop is timed: loading the list and opening the store are not.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "kv/rocks_store.h"
#include "kv/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string list;
  std::string base;
  std::string db;
  std::string db_options;
  std::string cf_options;
  bool read_only = false;
  size_t start = 0;
  size_t count = SIZE_MAX;
  size_t random = 0;  // > 0: this many random picks per worker
  uint64_t seed = 1;
  int passes = 1;
  int threads = 1;
  int procs = 1;
  size_t size = 100;           // create: bytes per file; bigfile: total bytes
  size_t block = 1 << 20;      // bigfile: bytes per I/O
  std::string fill = "zero";   // zero or random
  std::string dir;             // ls, walk: the directory; kv-*: the key prefix
  std::string out;             // walk: where to write the list
  std::string key = "big";     // kv-bigfile
  std::string mode;            // kv-bigfile: seqwrite, seqread, randread, randwrite
  size_t batch = 1;            // kv-create: keys per batch (1: one Write per file)
};

struct Tally {
  uint64_t ops = 0;
  uint64_t errors = 0;
  uint64_t bytes = 0;
  void Add(const Tally& other) {
    ops += other.ops;
    errors += other.errors;
    bytes += other.bytes;
  }
};

void PrintResult(const std::string& op, int pass, const Tally& tally, double seconds) {
  std::printf("{\"op\":\"%s\",\"pass\":%d,\"ops\":%llu,\"seconds\":%.9f,\"errors\":%llu,"
              "\"bytes\":%llu}\n",
              op.c_str(), pass, static_cast<unsigned long long>(tally.ops), seconds,
              static_cast<unsigned long long>(tally.errors),
              static_cast<unsigned long long>(tally.bytes));
  std::fflush(stdout);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::vector<std::string> LoadList(const Options& o) {
  std::vector<std::string> all;
  if (o.list.empty()) return all;
  std::ifstream in(o.list);
  if (!in) {
    std::fprintf(stderr, "rocksfs_bench: cannot read %s\n", o.list.c_str());
    std::exit(2);
  }
  std::string line;
  size_t index = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (index >= o.start && all.size() < o.count) all.push_back(line);
    ++index;
    if (all.size() >= o.count) break;
  }
  return all;
}

std::string Payload(const Options& o, size_t size) {
  std::string bytes(size, '\0');
  if (o.fill == "random") {
    std::mt19937_64 rng(o.seed * 7919 + size);
    for (char& c : bytes) c = static_cast<char>(rng());
  }
  return bytes;
}

// The work of worker `w` of `workers`: its share of [0, n), or `random`
// random indices into it.
std::vector<size_t> Share(size_t n, int w, int workers, const Options& o) {
  std::vector<size_t> picks;
  if (n == 0) return picks;
  if (o.random > 0) {
    std::mt19937_64 rng(o.seed * 1000003 + static_cast<uint64_t>(w));
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    picks.reserve(o.random);
    for (size_t i = 0; i < o.random; ++i) picks.push_back(pick(rng));
    return picks;
  }
  for (size_t i = static_cast<size_t>(w); i < n; i += static_cast<size_t>(workers)) {
    picks.push_back(i);
  }
  return picks;
}

// Runs body(worker, picks) on `threads` threads and returns the summed tally
// and the wall time of the whole.
double RunThreads(int threads, size_t n, const Options& o,
                  const std::function<Tally(int, const std::vector<size_t>&)>& body,
                  Tally* total) {
  std::vector<std::vector<size_t>> shares;
  for (int w = 0; w < threads; ++w) shares.push_back(Share(n, w, threads, o));
  std::vector<Tally> tallies(static_cast<size_t>(threads));
  auto start = Clock::now();
  if (threads == 1) {
    tallies[0] = body(0, shares[0]);
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < threads; ++w) {
      pool.emplace_back([&, w] { tallies[static_cast<size_t>(w)] = body(w, shares[static_cast<size_t>(w)]); });
    }
    for (auto& t : pool) t.join();
  }
  double seconds = Seconds(start);
  for (const Tally& t : tallies) total->Add(t);
  return seconds;
}

// Runs body in `procs` forked processes, released together once all are
// ready; the time runs from the release to the last one's report.
double RunProcesses(int procs, size_t n, const Options& o,
                    const std::function<Tally(int, const std::vector<size_t>&)>& body,
                    Tally* total) {
  int go[2], done[2];
  if (::pipe(go) != 0 || ::pipe(done) != 0) {
    std::perror("rocksfs_bench: pipe");
    std::exit(2);
  }
  std::vector<pid_t> children;
  for (int w = 0; w < procs; ++w) {
    std::vector<size_t> picks = Share(n, w, procs, o);
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("rocksfs_bench: fork");
      std::exit(2);
    }
    if (pid == 0) {
      ::close(go[1]);
      ::close(done[0]);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(2);
      Tally t = body(w, picks);
      if (::write(done[1], &t, sizeof t) != sizeof t) ::_exit(2);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(done[1]);
  ::usleep(100000);  // let every child reach its read()
  auto start = Clock::now();
  std::string release(static_cast<size_t>(procs), 'g');
  if (::write(go[1], release.data(), release.size()) != static_cast<ssize_t>(release.size())) {
    std::perror("rocksfs_bench: write");
  }
  for (int w = 0; w < procs; ++w) {
    Tally t;
    if (::read(done[0], &t, sizeof t) == sizeof t) total->Add(t);
    else total->errors++;
  }
  double seconds = Seconds(start);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  ::close(go[1]);
  ::close(done[0]);
  return seconds;
}

double Run(const Options& o, size_t n,
           const std::function<Tally(int, const std::vector<size_t>&)>& body, Tally* total) {
  if (o.procs > 1) return RunProcesses(o.procs, n, o, body, total);
  return RunThreads(o.threads, n, o, body, total);
}

std::string Join(const std::string& base, const std::string& rel) {
  if (base.empty()) return rel;
  return base + "/" + rel;
}

// The list's entries as paths under --base.
std::vector<std::string> LoadPaths(const Options& o) {
  std::vector<std::string> paths = LoadList(o);
  for (std::string& path : paths) path = Join(o.base, path);
  return paths;
}

// ---- filesystem loops --------------------------------------------------------

int FsStat(const Options& o) {
  std::vector<std::string> paths = LoadPaths(o);
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally total;
    double s = Run(o, paths.size(), [&](int, const std::vector<size_t>& picks) {
      Tally t;
      struct stat st;
      for (size_t i : picks) {
        if (::stat(paths[i].c_str(), &st) != 0) t.errors++;
        t.ops++;
      }
      return t;
    }, &total);
    PrintResult("stat", pass, total, s);
  }
  return 0;
}

int FsRead(const Options& o) {
  std::vector<std::string> paths = LoadPaths(o);
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally total;
    double s = Run(o, paths.size(), [&](int, const std::vector<size_t>& picks) {
      Tally t;
      constexpr size_t kBuffer = 1 << 20;
      std::unique_ptr<char[]> buffer(new char[kBuffer]);
      for (size_t i : picks) {
        t.ops++;
        int fd = ::open(paths[i].c_str(), O_RDONLY);
        if (fd < 0) {
          t.errors++;
          continue;
        }
        // Read until a short read: one read() for a small file.
        while (true) {
          ssize_t n = ::read(fd, buffer.get(), kBuffer);
          if (n < 0) {
            t.errors++;
            break;
          }
          t.bytes += static_cast<uint64_t>(n);
          if (static_cast<size_t>(n) < kBuffer) break;
        }
        if (::close(fd) != 0) t.errors++;
      }
      return t;
    }, &total);
    PrintResult("read", pass, total, s);
  }
  return 0;
}

int FsUnlink(const Options& o) {
  std::vector<std::string> paths = LoadPaths(o);
  Tally total;
  double s = Run(o, paths.size(), [&](int, const std::vector<size_t>& picks) {
    Tally t;
    for (size_t i : picks) {
      if (::unlink(paths[i].c_str()) != 0) t.errors++;
      t.ops++;
    }
    return t;
  }, &total);
  PrintResult("unlink", 1, total, s);
  return 0;
}

// Creates every directory above `path` that `made` does not hold yet.
void MakeParents(const std::string& path, std::set<std::string>* made) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string parent = path.substr(0, slash);
  if (made->count(parent)) return;
  MakeParents(parent, made);
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "rocksfs_bench: mkdir %s: %s\n", parent.c_str(), std::strerror(errno));
  }
  made->insert(parent);
}

int FsCreate(const Options& o) {
  std::vector<std::string> paths = LoadPaths(o);
  // Directories first (untimed): the loop measures file creation.
  std::set<std::string> made;
  if (!o.base.empty()) made.insert(o.base);
  for (const auto& p : paths) MakeParents(p, &made);
  const std::string payload = Payload(o, o.size);
  Tally total;
  double s = Run(o, paths.size(), [&](int, const std::vector<size_t>& picks) {
    Tally t;
    for (size_t i : picks) {
      t.ops++;
      int fd = ::open(paths[i].c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) {
        t.errors++;
        continue;
      }
      if (::write(fd, payload.data(), payload.size()) != static_cast<ssize_t>(payload.size())) {
        t.errors++;
      } else {
        t.bytes += payload.size();
      }
      if (::close(fd) != 0) t.errors++;
    }
    return t;
  }, &total);
  PrintResult("create", 1, total, s);
  return 0;
}

// Lists one directory (opendir, readdir to the end, closedir).
int FsList(const Options& o) {
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally t;
    auto start = Clock::now();
    DIR* dir = ::opendir(o.dir.c_str());
    if (!dir) {
      t.errors++;
    } else {
      while (::readdir(dir) != nullptr) t.ops++;
      ::closedir(dir);
    }
    PrintResult("ls", pass, t, Seconds(start));
  }
  return 0;
}

void Walk(const std::string& root, const std::string& rel, std::vector<std::string>* files,
          uint64_t* errors) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  DIR* dir = ::opendir(path.c_str());
  if (!dir) {
    (*errors)++;
    return;
  }
  std::vector<std::string> subdirs;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = rel.empty() ? name : rel + "/" + name;
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat((root + "/" + child).c_str(), &st) != 0) {
        (*errors)++;
        continue;
      }
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_DIR) subdirs.push_back(child);
    else if (type == DT_REG) files->push_back(child);
  }
  ::closedir(dir);
  for (const auto& sub : subdirs) Walk(root, sub, files, errors);
}

// Writes the sorted list of regular files under --dir to --out.
int FsWalk(const Options& o) {
  std::vector<std::string> files;
  uint64_t errors = 0;
  auto start = Clock::now();
  Walk(o.dir, "", &files, &errors);
  double s = Seconds(start);
  std::sort(files.begin(), files.end());
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    for (const auto& f : files) out << f << '\n';
  }
  Tally t;
  t.ops = files.size();
  t.errors = errors;
  PrintResult("walk", 1, t, s);
  return 0;
}

// ---- direct key-value API ------------------------------------------------------

std::unique_ptr<rocksfs::kv::Store> OpenStore(const Options& o, bool create) {
  rocksfs::kv::RocksOpenOptions open;
  open.path = o.db;
  open.create_if_missing = create && !o.read_only;
  open.mode = o.read_only ? rocksfs::kv::OpenMode::kReadOnly : rocksfs::kv::OpenMode::kReadWrite;
  open.db_options = o.db_options;
  open.cf_options = o.cf_options;
  std::unique_ptr<rocksfs::kv::Store> store;
  rocksfs::kv::Status s = rocksfs::kv::OpenRocksStore(open, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "rocksfs_bench: cannot open %s: %s\n", o.db.c_str(),
                 s.ToString().c_str());
    std::exit(2);
  }
  return store;
}

std::vector<std::string> Keys(const Options& o) {
  std::vector<std::string> keys = LoadList(o);
  if (!o.dir.empty()) {
    for (auto& k : keys) k = o.dir + "/" + k;
  }
  return keys;
}

int KvCreate(const Options& o) {
  std::vector<std::string> keys = Keys(o);
  auto store = OpenStore(o, true);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  const std::string payload = Payload(o, o.size);
  Tally total;
  const size_t batch_size = std::max<size_t>(1, o.batch);
  double s = Run(o, keys.size(), [&](int, const std::vector<size_t>& picks) {
    Tally t;
    rocksfs::kv::Batch batch;
    size_t in_batch = 0;
    auto flush = [&] {
      if (in_batch == 0) return;
      if (!store->Write({}, batch).ok()) t.errors += in_batch;
      batch = rocksfs::kv::Batch();
      in_batch = 0;
    };
    for (size_t i : picks) {
      batch.Put(cf, keys[i], payload);
      t.ops++;
      t.bytes += payload.size();
      if (++in_batch >= batch_size) flush();
    }
    flush();
    return t;
  }, &total);
  PrintResult("kv-create", 1, total, s);
  return 0;
}

// "stat": the value's size, as a Get (the direct API has no cheaper size).
// "read": Get and copy the bytes out.
int KvGet(const Options& o, bool copy) {
  std::vector<std::string> keys = Keys(o);
  auto store = OpenStore(o, false);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally total;
    double s = Run(o, keys.size(), [&](int, const std::vector<size_t>& picks) {
      Tally t;
      std::string buffer;
      for (size_t i : picks) {
        t.ops++;
        rocksfs::kv::Value value;
        if (!store->Get({}, cf, keys[i], &value).ok()) {
          t.errors++;
          continue;
        }
        if (copy) {
          buffer.assign(value.view());
          t.bytes += buffer.size();
        } else {
          t.bytes += value.size();
        }
      }
      return t;
    }, &total);
    PrintResult(copy ? "kv-read" : "kv-stat", pass, total, s);
  }
  return 0;
}

int KvDelete(const Options& o) {
  std::vector<std::string> keys = Keys(o);
  auto store = OpenStore(o, false);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  Tally total;
  double s = Run(o, keys.size(), [&](int, const std::vector<size_t>& picks) {
    Tally t;
    for (size_t i : picks) {
      rocksfs::kv::Batch batch;
      batch.Delete(cf, keys[i]);
      if (!store->Write({}, batch).ok()) t.errors++;
      t.ops++;
    }
    return t;
  }, &total);
  PrintResult("kv-unlink", 1, total, s);
  return 0;
}

// Lists the children of directory prefix --dir ("" for the root) the way
// rocksfs does: a bounded iterator that skips each child's subtree. With
// `sizes`, reads each file child's value size too (ls -l).
int KvList(const Options& o, bool sizes) {
  auto store = OpenStore(o, false);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  const std::string prefix = o.dir.empty() ? "" : o.dir + "/";
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally t;
    auto start = Clock::now();
    rocksfs::kv::ScanOptions scan;
    scan.lower_bound = prefix;
    scan.upper_bound = rocksfs::kv::PrefixSuccessor(prefix);
    auto it = store->NewIterator(cf, scan);
    it->Seek(prefix);
    while (it->Valid()) {
      std::string_view rest = it->key().substr(prefix.size());
      size_t slash = rest.find('/');
      t.ops++;
      if (slash == std::string_view::npos) {
        if (sizes) t.bytes += it->value().size();
        it->Next();
      } else {
        std::string next = prefix + std::string(rest.substr(0, slash)) + char('/' + 1);
        it->SkipTo(next);
      }
    }
    if (!it->status().ok()) t.errors++;
    PrintResult(sizes ? "kv-lsl" : "kv-ls", pass, t, Seconds(start));
  }
  return 0;
}

// The whole keyspace under --dir in order (find).
int KvWalk(const Options& o) {
  auto store = OpenStore(o, false);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  const std::string prefix = o.dir.empty() ? "" : o.dir + "/";
  for (int pass = 1; pass <= o.passes; ++pass) {
    Tally t;
    auto start = Clock::now();
    rocksfs::kv::ScanOptions scan;
    scan.lower_bound = prefix;
    scan.upper_bound = rocksfs::kv::PrefixSuccessor(prefix);
    auto it = store->NewIterator(cf, scan);
    for (it->Seek(prefix); it->Valid(); it->Next()) t.ops++;
    if (!it->status().ok()) t.errors++;
    PrintResult("kv-walk", pass, t, Seconds(start));
  }
  return 0;
}

// rm -r: one DeleteRange over the subtree's prefix.
int KvRemoveTree(const Options& o) {
  auto store = OpenStore(o, false);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  const std::string prefix = o.dir + "/";
  Tally t;
  auto start = Clock::now();
  rocksfs::kv::Batch batch;
  batch.DeleteRange(cf, prefix, rocksfs::kv::PrefixSuccessor(prefix));
  if (!store->Write({}, batch).ok()) t.errors++;
  t.ops = 1;
  PrintResult("kv-rmr", 1, t, Seconds(start));
  return 0;
}

// Compacts the default column family (memtable included) into its final
// form, so that a small tree is read from table files as a large one is.
int KvCompact(const Options& o) {
  auto store = OpenStore(o, false);
  Tally t;
  auto start = Clock::now();
  if (!store->CompactAll(store->DefaultColumnFamily()).ok()) t.errors++;
  t.ops = 1;
  PrintResult("kv-compact", 1, t, Seconds(start));
  return 0;
}

// One large value, the way an application holding it in memory would use the
// API: writes build the value and Put it once; reads Get it once and copy
// blocks out of it.
int KvBigFile(const Options& o) {
  auto store = OpenStore(o, true);
  rocksfs::kv::ColumnFamily* cf = store->DefaultColumnFamily();
  Options random_fill = o;
  random_fill.fill = "random";
  const std::string block = Payload(random_fill, o.block);
  const size_t blocks = o.size / o.block;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> pick(0, blocks - 1);
  Tally t;
  auto start = Clock::now();
  if (o.mode == "seqwrite") {
    std::string value;
    value.reserve(o.size);
    for (size_t i = 0; i < blocks; ++i) value.append(block), t.ops++;
    rocksfs::kv::Batch batch;
    batch.Put(cf, o.key, std::move(value));
    if (!store->Write({.sync = true}, batch).ok()) t.errors++;
    t.bytes = blocks * o.block;
  } else if (o.mode == "randwrite") {
    rocksfs::kv::Value old;
    if (!store->Get({}, cf, o.key, &old).ok()) t.errors++;
    std::string value(old.view());
    old.Reset();
    value.resize(std::max(value.size(), blocks * o.block));
    for (size_t i = 0; i < blocks; ++i) {
      std::memcpy(value.data() + pick(rng) * o.block, block.data(), o.block);
      t.ops++;
    }
    rocksfs::kv::Batch batch;
    batch.Put(cf, o.key, std::move(value));
    if (!store->Write({.sync = true}, batch).ok()) t.errors++;
    t.bytes = blocks * o.block;
  } else if (o.mode == "seqread" || o.mode == "randread") {
    rocksfs::kv::Value value;
    if (!store->Get({}, cf, o.key, &value).ok()) t.errors++;
    std::string buffer(o.block, '\0');
    std::string_view v = value.view();
    for (size_t i = 0; i < blocks && v.size() >= o.block; ++i) {
      size_t at = o.mode == "seqread" ? i : pick(rng);
      std::memcpy(buffer.data(), v.data() + at * o.block, o.block);
      t.ops++;
      t.bytes += o.block;
    }
  } else {
    std::fprintf(stderr, "rocksfs_bench: unknown --mode %s\n", o.mode.c_str());
    return 2;
  }
  PrintResult("kv-" + o.mode, 1, t, Seconds(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("rocksfs_bench: in-process benchmark loops for scripts/bench.sh");
  app.require_subcommand(1);
  Options o;
  int result = 0;

  auto common = [&o](CLI::App* sub) {
    sub->add_option("--list", o.list, "file with one relative path (or key) per line");
    sub->add_option("--base", o.base, "directory the list's paths are relative to");
    sub->add_option("--start", o.start, "first list entry to use");
    sub->add_option("--count", o.count, "number of list entries to use");
    sub->add_option("--random", o.random, "random picks per worker (0: each entry once)");
    sub->add_option("--seed", o.seed, "random seed");
    sub->add_option("--passes", o.passes, "timed passes (pass 1: first access)");
    sub->add_option("--threads", o.threads, "worker threads");
    sub->add_option("--procs", o.procs, "worker processes (forked once, not per file)");
    sub->add_option("--size", o.size, "create: bytes per file; kv-bigfile: bytes in all");
    sub->add_option("--block", o.block, "kv-bigfile: bytes per I/O");
    sub->add_option("--fill", o.fill, "zero or random file contents")
        ->check(CLI::IsMember({"zero", "random"}));
    sub->add_option("--dir", o.dir, "ls/walk: the directory; kv-*: the key prefix");
    sub->add_option("--out", o.out, "walk: write the sorted file list here");
    sub->add_option("--db", o.db, "kv-*: the RocksDB directory");
    sub->add_option("--db-options", o.db_options, "kv-*: RocksDB DBOptions string");
    sub->add_option("--cf-options", o.cf_options, "kv-*: RocksDB ColumnFamilyOptions string");
    sub->add_flag("--readonly", o.read_only, "kv-*: open the DB read-only");
    sub->add_option("--key", o.key, "kv-bigfile: the key");
    sub->add_option("--mode", o.mode, "kv-bigfile: seqwrite, seqread, randread or randwrite");
    sub->add_option("--batch", o.batch, "kv-create: keys per write batch");
  };
  struct Command {
    const char* name;
    const char* help;
    std::function<int()> run;
  };
  const std::vector<Command> commands = {
      {"stat", "stat() each listed path", [&] { return FsStat(o); }},
      {"read", "open+read+close each listed path", [&] { return FsRead(o); }},
      {"unlink", "unlink() each listed path", [&] { return FsUnlink(o); }},
      {"create", "create+write+close each listed path", [&] { return FsCreate(o); }},
      {"ls", "list one directory (readdir only)", [&] { return FsList(o); }},
      {"walk", "list the regular files under --dir into --out", [&] { return FsWalk(o); }},
      {"kv-create", "one Put per listed key (per --batch keys)", [&] { return KvCreate(o); }},
      {"kv-stat", "Get each listed key (its size)", [&] { return KvGet(o, false); }},
      {"kv-read", "Get each listed key and copy the value", [&] { return KvGet(o, true); }},
      {"kv-unlink", "one Delete per listed key", [&] { return KvDelete(o); }},
      {"kv-ls", "list the children of prefix --dir (skip-scan)", [&] { return KvList(o, false); }},
      {"kv-lsl", "kv-ls with each file child's value size", [&] { return KvList(o, true); }},
      {"kv-walk", "scan every key under --dir", [&] { return KvWalk(o); }},
      {"kv-rmr", "DeleteRange of the subtree --dir", [&] { return KvRemoveTree(o); }},
      {"kv-compact", "compact the whole default column family", [&] { return KvCompact(o); }},
      {"kv-bigfile", "one large value: --mode seqwrite|seqread|randread|randwrite",
       [&] { return KvBigFile(o); }},
  };
  for (const Command& command : commands) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    common(sub);
    sub->callback([&result, &command] { result = command.run(); });
  }
  CLI11_PARSE(app, argc, argv);
  return result;
}
