// rocksfs_fsx: an fsx-style exerciser (after the classic BSD/Apple fsx) for
// rocksfs's file semantics.
//
//   rocksfs_fsx [--seed N] [--ops N] [--files N] [--max-size BYTES]
//               [--no-mmap] [--manifest FILE] [--history N] [--verbose] DIR
//
// Runs a random sequence of operations on a few files in DIR (f0, f1, ...):
// open, read, pread, write, pwrite, ftruncate, truncate by path, O_APPEND
// appends, mmap reads (MAP_SHARED, PROT_READ on a read-only descriptor),
// MAP_PRIVATE writes (which must never reach the file), fsync, close and
// reopen, rename, unlink (descriptors of unlinked or replaced files stay open
// and in use for a while), stat and readdir. Every byte read is compared with
// an in-memory model; on a mismatch it prints the seed, the operation and the
// last 20 operations, and exits with status 1. Status 2 is a usage or setup
// error.
//
// The model is POSIX's, which rocksfs follows inside one mount (SPEC section
// 3): a file has one content, every write, O_TRUNC and truncate is visible at
// once through every descriptor, so the same seeds run on tmpfs or ext4
// check the exerciser itself.
//
// The program keeps one descriptor per file at a time (plus short-lived ones
// for mmap reads and whole-file reads).
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum class Mode { kNone, kRead, kWrite, kAppend };

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kNone: return "closed";
    case Mode::kRead: return "O_RDONLY";
    case Mode::kWrite: return "O_RDWR";
    case Mode::kAppend: return "O_RDWR|O_APPEND";
  }
  return "?";
}

// One file (an inode): its content, and the descriptor open on it.
struct Object {
  std::string content;  // what every descriptor reads
  int fd = -1;
  Mode mode = Mode::kNone;
  bool linked = true;   // false once unlinked or replaced by a rename
  int id = 0;             // for messages
};

struct Options {
  uint64_t seed = 0;
  uint64_t ops = 10000;
  int files = 4;
  uint64_t max_size = 256 * 1024;
  bool mmap = true;
  bool verbose = false;
  std::string manifest;
  std::string dir;
  size_t history = 20;  // operations shown on a mismatch
};

sigjmp_buf g_fault_jump;
volatile sig_atomic_t g_fault_armed = 0;

void OnFault(int signum) {
  if (g_fault_armed) siglongjmp(g_fault_jump, signum);
  signal(signum, SIG_DFL);
  raise(signum);
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

class Exerciser {
 public:
  explicit Exerciser(const Options& options)
      : options_(options), rng_(options.seed), slots_(options.files) {}

  int Run();

 private:
  // ---- bookkeeping ----
  [[noreturn]] void Fail(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void Log(const char* format, ...) __attribute__((format(printf, 2, 3)));
  uint64_t Random(uint64_t bound) { return bound == 0 ? 0 : rng_() % bound; }
  bool Chance(int percent) { return Random(100) < static_cast<uint64_t>(percent); }
  std::string Path(int slot) const { return options_.dir + "/f" + std::to_string(slot); }
  std::string Name(int slot) const { return "f" + std::to_string(slot); }
  std::string Pattern(uint64_t offset, size_t length) const;
  void Compare(const std::string& what, std::string_view expected, std::string_view got,
               uint64_t base_offset);

  // ---- descriptors ----
  void Open(int slot, Mode mode, bool truncate);
  void Close(Object& object);
  // Makes sure the slot's file exists (creating it empty) and returns it.
  Object& Ensure(int slot);
  void EnsureMode(int slot, bool writable);
  void CheckFstat(Object& object, const char* what);
  // Reads [offset, offset + length) through fd into a string (loops over
  // short reads; stops at EOF).
  std::string ReadAt(int fd, uint64_t offset, size_t length, const char* what);
  // Compares `length` bytes at `map` with `expected`, turning SIGBUS/SIGSEGV
  // into a mismatch report.
  void CompareMapping(const std::string& what, const char* map, std::string_view expected);

  // ---- operations ----
  void DoRead(int slot);
  void DoCat(int slot);
  void DoWrite(int slot);
  void DoAppend(int slot);
  void DoTruncate(int slot);
  void DoFsync(int slot);
  void DoClose(int slot);
  void DoReopen(int slot);
  void DoRename(int from, int to);
  void DoUnlink(int slot);
  void DoMmapRead(int slot);
  void DoMmapPrivateWrite(int slot);
  void DoStat(int slot);
  void DoListDir();
  void DoOrphan();
  void VerifyAll();
  void WriteManifest();

  Options options_;
  std::mt19937_64 rng_;
  std::vector<std::shared_ptr<Object>> slots_;
  std::vector<std::shared_ptr<Object>> orphans_;  // unlinked, still open
  std::deque<std::string> history_;
  uint64_t op_ = 0;
  int next_id_ = 1;
  uint64_t counts_[16] = {};
  uint64_t mmap_mapped_ = 0;  // MAP_SHARED mappings made
};

void Exerciser::Log(const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  char numbered[600];
  snprintf(numbered, sizeof numbered, "%6" PRIu64 " %s", op_, line);
  history_.emplace_back(numbered);
  if (history_.size() > options_.history) history_.pop_front();
  if (options_.verbose) fprintf(stderr, "%s\n", numbered);
}

void Exerciser::Fail(const char* format, ...) {
  char line[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  fprintf(stderr, "rocksfs_fsx: MISMATCH at operation %" PRIu64 " (seed %" PRIu64 ", dir %s): %s\n",
          op_, options_.seed, options_.dir.c_str(), line);
  fprintf(stderr, "rocksfs_fsx: the last %zu operations:\n", history_.size());
  for (const std::string& entry : history_) fprintf(stderr, "  %s\n", entry.c_str());
  fprintf(stderr, "rocksfs_fsx: rerun with: rocksfs_fsx --seed %" PRIu64 " --ops %" PRIu64
          " --files %d --max-size %" PRIu64 "%s DIR\n",
          options_.seed, options_.ops, options_.files, options_.max_size,
          options_.mmap ? "" : " --no-mmap");
  exit(1);
}

// Bytes that tell which operation wrote them: never 0 (holes read as 0).
std::string Exerciser::Pattern(uint64_t offset, size_t length) const {
  std::string data(length, '\0');
  for (size_t i = 0; i < length; ++i) {
    data[i] = static_cast<char>(1 + (op_ * 7 + offset + i) % 255);
  }
  return data;
}

void Exerciser::Compare(const std::string& what, std::string_view expected, std::string_view got,
                        uint64_t base_offset) {
  if (expected == got) return;
  size_t i = 0;
  while (i < expected.size() && i < got.size() && expected[i] == got[i]) ++i;
  auto byte_at = [](std::string_view s, size_t k) {
    return k < s.size() ? static_cast<int>(static_cast<unsigned char>(s[k])) : -1;
  };
  Fail("%s: %zu bytes expected, %zu read; first difference at file offset %" PRIu64
       " (expected byte %d, got %d)",
       what.c_str(), expected.size(), got.size(), base_offset + i, byte_at(expected, i),
       byte_at(got, i));
}

std::string Exerciser::ReadAt(int fd, uint64_t offset, size_t length, const char* what) {
  std::string data(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail("%s: pread(%zu at %" PRIu64 "): %s", what, length - done, offset + done,
           strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

void Exerciser::CompareMapping(const std::string& what, const char* map,
                               std::string_view expected) {
  std::string copy(expected.size(), '\0');
  int signum = sigsetjmp(g_fault_jump, 1);
  if (signum != 0) {
    g_fault_armed = 0;
    Fail("%s: %s while reading the mapping of %zu bytes", what.c_str(),
         signum == SIGBUS ? "SIGBUS" : "SIGSEGV", expected.size());
  }
  g_fault_armed = 1;
  std::memcpy(copy.data(), map, expected.size());
  g_fault_armed = 0;
  Compare(what, expected, copy, 0);
}

// Opens the slot's name with `mode`. REQUIRES: the slot's file, if any, has
// no descriptor open; for kRead the file exists.
void Exerciser::Open(int slot, Mode mode, bool truncate) {
  std::shared_ptr<Object>& object = slots_[slot];
  int flags = 0;
  switch (mode) {
    case Mode::kRead: flags = O_RDONLY; break;
    case Mode::kWrite: flags = O_RDWR | O_CREAT; break;
    case Mode::kAppend: flags = O_RDWR | O_CREAT | O_APPEND; break;
    case Mode::kNone: return;
  }
  if (truncate) flags |= O_TRUNC;
  int fd = open(Path(slot).c_str(), flags, 0644);
  if (fd < 0) {
    Fail("open(%s, %s%s): %s", Name(slot).c_str(), ModeName(mode), truncate ? "|O_TRUNC" : "",
         strerror(errno));
  }
  Log("open %s %s%s -> fd %d%s", Name(slot).c_str(), ModeName(mode), truncate ? "|O_TRUNC" : "",
      fd, object ? "" : " (created)");
  if (!object) {
    // O_CREAT commits the empty file at once, in rocksfs too.
    object = std::make_shared<Object>();
    object->id = next_id_++;
  }
  object->fd = fd;
  object->mode = mode;
  if (truncate && mode != Mode::kRead) object->content.clear();
}

void Exerciser::Close(Object& object) {
  if (object.fd < 0) return;
  Log("close fd %d (file #%d, %s%s)", object.fd, object.id, ModeName(object.mode),
      object.linked ? "" : ", unlinked");
  if (close(object.fd) != 0) {
    Fail("close(fd %d of file #%d, %s): %s", object.fd, object.id, ModeName(object.mode),
         strerror(errno));
  }
  object.fd = -1;
  object.mode = Mode::kNone;
}

Object& Exerciser::Ensure(int slot) {
  if (!slots_[slot]) Open(slot, Mode::kWrite, false);
  return *slots_[slot];
}

void Exerciser::EnsureMode(int slot, bool writable) {
  Object& object = Ensure(slot);
  bool is_writable = object.mode == Mode::kWrite || object.mode == Mode::kAppend;
  if (writable && !is_writable) {
    Close(object);
    Open(slot, Mode::kWrite, false);
  } else if (!writable && object.mode == Mode::kNone) {
    Open(slot, Chance(70) ? Mode::kRead : Mode::kWrite, false);
  }
}

void Exerciser::CheckFstat(Object& object, const char* what) {
  if (object.fd < 0) return;
  struct stat st;
  if (fstat(object.fd, &st) != 0) Fail("%s: fstat(fd %d): %s", what, object.fd, strerror(errno));
  uint64_t expected = object.content.size();
  if (static_cast<uint64_t>(st.st_size) != expected) {
    Fail("%s: fstat(fd %d, %s) size %lld, expected %" PRIu64, what, object.fd,
         ModeName(object.mode), static_cast<long long>(st.st_size), expected);
  }
}

void Exerciser::DoRead(int slot) {
  if (!slots_[slot]) {
    int fd = open(Path(slot).c_str(), O_RDONLY);
    Log("open %s O_RDONLY (missing)", Name(slot).c_str());
    if (fd >= 0 || errno != ENOENT) {
      Fail("open(%s) of a missing file: %s", Name(slot).c_str(),
           fd >= 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  EnsureMode(slot, false);
  Object& object = *slots_[slot];
  const std::string& seen = object.content;
  uint64_t offset = Random(seen.size() + 4096);
  size_t length = 1 + Random(Chance(20) ? options_.max_size : 65536);
  Log("pread %s fd %d [%" PRIu64 ", +%zu) of %zu", Name(slot).c_str(), object.fd, offset, length,
      seen.size());
  std::string got = ReadAt(object.fd, offset, length, "pread");
  std::string expected = offset < seen.size() ? seen.substr(offset, length) : std::string();
  Compare("pread of " + Name(slot) + " through fd " + std::to_string(object.fd) + " (" +
              ModeName(object.mode) + ")",
          expected, got, offset);
}

void Exerciser::DoCat(int slot) {
  int fd = open(Path(slot).c_str(), O_RDONLY);
  if (!slots_[slot]) {
    Log("cat %s (missing)", Name(slot).c_str());
    if (fd >= 0 || errno != ENOENT) {
      Fail("open(%s) of a missing file: %s", Name(slot).c_str(),
           fd >= 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  if (fd < 0) Fail("open(%s, O_RDONLY) for a whole read: %s", Name(slot).c_str(), strerror(errno));
  Object& object = *slots_[slot];
  Log("cat %s (a new fd %d; %zu bytes)", Name(slot).c_str(), fd,
      object.content.size());
  std::string got;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, 1 + Random(sizeof buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail("read of %s through a new fd: %s", Name(slot).c_str(), strerror(errno));
    }
    if (n == 0) break;
    got.append(buffer, static_cast<size_t>(n));
    if (got.size() > 2 * options_.max_size + 65536) break;
  }
  struct stat st;
  long long size_after = fstat(fd, &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  close(fd);
  Compare("whole read of " + Name(slot) + " through a new descriptor (fstat after the read: " +
              std::to_string(size_after) + " bytes)",
          object.content, got, 0);
}

void Exerciser::DoWrite(int slot) {
  EnsureMode(slot, true);
  Object& object = *slots_[slot];
  std::string& seen = object.content;
  size_t length = 1 + Random(Chance(10) ? options_.max_size / 4 : 16384);
  uint64_t limit = options_.max_size > length ? options_.max_size - length : 0;
  uint64_t offset = Chance(50) ? Random(std::min<uint64_t>(limit, seen.size() + 1))
                               : Random(limit + 1);
  if (object.mode == Mode::kAppend) offset = seen.size();  // O_APPEND ignores the offset
  std::string data = Pattern(offset, length);
  bool positional = Chance(60);
  Log("%s %s fd %d (%s) [%" PRIu64 ", +%zu) of %zu", positional ? "pwrite" : "lseek+write",
      Name(slot).c_str(), object.fd, ModeName(object.mode), offset, length, seen.size());
  ssize_t n;
  if (positional) {
    n = pwrite(object.fd, data.data(), length, static_cast<off_t>(offset));
  } else {
    if (lseek(object.fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      Fail("lseek(fd %d, %" PRIu64 "): %s", object.fd, offset, strerror(errno));
    }
    n = write(object.fd, data.data(), length);
  }
  if (n != static_cast<ssize_t>(length)) {
    Fail("write of %zu bytes at %" PRIu64 " to %s: %s", length, offset, Name(slot).c_str(),
         n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
  }
  if (offset + length > seen.size()) seen.resize(offset + length, '\0');
  seen.replace(offset, length, data);
  if (Chance(30)) CheckFstat(object, "after a write");
}

void Exerciser::DoAppend(int slot) {
  Object& object = Ensure(slot);
  if (object.mode != Mode::kAppend) {
    Close(object);
    Open(slot, Mode::kAppend, false);
  }
  std::string& seen = object.content;
  size_t length = 1 + Random(8192);
  if (seen.size() + length > options_.max_size) {
    // Keep files bounded: start the append series over.
    Close(object);
    Open(slot, Mode::kAppend, true);
  }
  std::string& now = object.content;
  std::string data = Pattern(now.size(), length);
  Log("append %s fd %d +%zu to %zu", Name(slot).c_str(), object.fd, length, now.size());
  ssize_t n = write(object.fd, data.data(), length);
  if (n != static_cast<ssize_t>(length)) {
    Fail("O_APPEND write of %zu bytes to %s: %s", length, Name(slot).c_str(),
         n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
  }
  now += data;
  if (Chance(30)) CheckFstat(object, "after an O_APPEND write");
}

void Exerciser::DoTruncate(int slot) {
  if (!slots_[slot]) return;
  Object& object = *slots_[slot];
  uint64_t old_size = (object.fd >= 0 ? object.content : object.content).size();
  uint64_t size;
  switch (Random(4)) {
    case 0: size = 0; break;
    case 1: size = Random(old_size + 1); break;
    case 2: size = old_size + Random(8192); break;
    default: size = Random(options_.max_size + 1); break;
  }
  size = std::min<uint64_t>(size, options_.max_size);
  if (object.mode == Mode::kWrite || object.mode == Mode::kAppend) {
    Log("ftruncate %s fd %d %zu -> %" PRIu64, Name(slot).c_str(), object.fd, object.content.size(),
        size);
    if (ftruncate(object.fd, static_cast<off_t>(size)) != 0) {
      Fail("ftruncate(%s, %" PRIu64 "): %s", Name(slot).c_str(), size, strerror(errno));
    }
    object.content.resize(size, '\0');
    if (Chance(50)) CheckFstat(object, "after ftruncate");
    return;
  }
  // No writer open: truncate by path.
  Log("truncate %s %zu -> %" PRIu64 "%s", Name(slot).c_str(), object.content.size(), size,
      object.fd >= 0 ? " (a reader is open)" : "");
  if (truncate(Path(slot).c_str(), static_cast<off_t>(size)) != 0) {
    Fail("truncate(%s, %" PRIu64 "): %s", Name(slot).c_str(), size, strerror(errno));
  }
  object.content.resize(size, '\0');
  CheckFstat(object, "after truncate");
}

void Exerciser::DoFsync(int slot) {
  if (!slots_[slot] || slots_[slot]->fd < 0) return;
  Object& object = *slots_[slot];
  Log("fsync %s fd %d (%s)", Name(slot).c_str(), object.fd, ModeName(object.mode));
  if (fsync(object.fd) != 0) Fail("fsync(%s): %s", Name(slot).c_str(), strerror(errno));
}

void Exerciser::DoClose(int slot) {
  if (slots_[slot]) Close(*slots_[slot]);
}

void Exerciser::DoReopen(int slot) {
  if (slots_[slot]) Close(*slots_[slot]);
  uint64_t pick = Random(100);
  if (pick < 40 && slots_[slot]) {
    Open(slot, Mode::kRead, false);
  } else if (pick < 70) {
    Open(slot, Mode::kWrite, false);
  } else if (pick < 85) {
    Open(slot, Mode::kWrite, true);
  } else {
    Open(slot, Mode::kAppend, Chance(20));
  }
}

void Exerciser::DoRename(int from, int to) {
  Log("rename %s -> %s%s%s", Name(from).c_str(), Name(to).c_str(),
      slots_[from] ? "" : " (missing)", slots_[to] ? " (replaces it)" : "");
  int rc = rename(Path(from).c_str(), Path(to).c_str());
  if (!slots_[from]) {
    if (rc == 0 || errno != ENOENT) {
      Fail("rename of missing %s: %s", Name(from).c_str(), rc == 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  if (rc != 0) Fail("rename(%s, %s): %s", Name(from).c_str(), Name(to).c_str(), strerror(errno));
  if (slots_[to]) {
    slots_[to]->linked = false;
    if (slots_[to]->fd >= 0) orphans_.push_back(slots_[to]);
  }
  slots_[to] = std::move(slots_[from]);
  slots_[from].reset();
}

void Exerciser::DoUnlink(int slot) {
  Log("unlink %s%s", Name(slot).c_str(), slots_[slot] ? "" : " (missing)");
  int rc = unlink(Path(slot).c_str());
  if (!slots_[slot]) {
    if (rc == 0 || errno != ENOENT) {
      Fail("unlink of missing %s: %s", Name(slot).c_str(), rc == 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  if (rc != 0) Fail("unlink(%s): %s", Name(slot).c_str(), strerror(errno));
  slots_[slot]->linked = false;
  if (slots_[slot]->fd >= 0) orphans_.push_back(slots_[slot]);
  slots_[slot].reset();
}

void Exerciser::DoMmapRead(int slot) {
  if (!slots_[slot]) return;
  Object& object = *slots_[slot];
  int fd;
  std::string expected;
  bool own = object.mode == Mode::kRead && Chance(50);
  if (own) {
    fd = object.fd;
    expected = object.content;
  } else {
    fd = open(Path(slot).c_str(), O_RDONLY);
    if (fd < 0) Fail("open(%s, O_RDONLY) for mmap: %s", Name(slot).c_str(), strerror(errno));
    expected = object.content;
  }
  Log("mmap MAP_SHARED PROT_READ %s %s fd %d, %zu bytes", Name(slot).c_str(),
      own ? "its" : "a new", fd, expected.size());
  // As programs do before mapping: the size to map.
  struct stat st;
  if (fstat(fd, &st) != 0) Fail("fstat(fd %d): %s", fd, strerror(errno));
  if (static_cast<uint64_t>(st.st_size) != expected.size()) {
    Fail("fstat(%s fd %d) before mmap: size %lld, expected %zu", own ? "its" : "a new", fd,
         static_cast<long long>(st.st_size), expected.size());
  }
  if (!expected.empty()) {
    void* map = mmap(nullptr, expected.size(), PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      Fail("mmap(MAP_SHARED, PROT_READ) of %s (%zu bytes): %s", Name(slot).c_str(),
           expected.size(), strerror(errno));
    }
    mmap_mapped_++;
    CompareMapping("MAP_SHARED read of " + Name(slot), static_cast<const char*>(map), expected);
    munmap(map, expected.size());
  }
  if (!own) close(fd);
}

void Exerciser::DoMmapPrivateWrite(int slot) {
  EnsureMode(slot, false);
  Object& object = *slots_[slot];
  std::string expected = object.content;
  CheckFstat(object, "before MAP_PRIVATE mmap");
  if (expected.empty()) return;
  size_t length = expected.size();
  Log("mmap MAP_PRIVATE PROT_WRITE %s fd %d (%s), %zu bytes", Name(slot).c_str(), object.fd,
      ModeName(object.mode), length);
  void* map = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, object.fd, 0);
  if (map == MAP_FAILED) {
    Fail("mmap(MAP_PRIVATE, PROT_READ|PROT_WRITE) of %s (%zu bytes): %s", Name(slot).c_str(),
         length, strerror(errno));
  }
  char* bytes = static_cast<char*>(map);
  CompareMapping("MAP_PRIVATE mapping of " + Name(slot) + " before writing", bytes, expected);
  uint64_t offset = Random(length);
  size_t count = 1 + Random(std::min<size_t>(length - offset, 8192));
  std::string data = Pattern(offset, count);
  for (size_t i = 0; i < count; ++i) data[i] = static_cast<char>(~data[i]);
  std::memcpy(bytes + offset, data.data(), count);
  std::string mine = expected;
  mine.replace(offset, count, data);
  CompareMapping("MAP_PRIVATE mapping of " + Name(slot) + " after writing", bytes, mine);
  munmap(map, length);
  std::string after = ReadAt(object.fd, 0, object.content.size() + 1,
                             "pread after MAP_PRIVATE writes");
  Compare("read of " + Name(slot) + " after MAP_PRIVATE writes (must not reach the file)",
          object.content, after, 0);
}

void Exerciser::DoStat(int slot) {
  struct stat st;
  int rc = stat(Path(slot).c_str(), &st);
  if (!slots_[slot]) {
    Log("stat %s (missing)", Name(slot).c_str());
    if (rc == 0 || errno != ENOENT) {
      Fail("stat of missing %s: %s", Name(slot).c_str(), rc == 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  if (rc != 0) Fail("stat(%s): %s", Name(slot).c_str(), strerror(errno));
  if (!S_ISREG(st.st_mode)) Fail("stat(%s): not a regular file", Name(slot).c_str());
  Object& object = *slots_[slot];
  Log("stat %s size %lld", Name(slot).c_str(), static_cast<long long>(st.st_size));
  uint64_t expected = object.content.size();
  if (static_cast<uint64_t>(st.st_size) != expected) {
    Fail("stat(%s) size %lld, expected %" PRIu64, Name(slot).c_str(),
         static_cast<long long>(st.st_size), expected);
  }
}

void Exerciser::DoListDir() {
  DIR* dir = opendir(options_.dir.c_str());
  if (!dir) Fail("opendir(%s): %s", options_.dir.c_str(), strerror(errno));
  std::multiset<std::string> names;
  errno = 0;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  if (errno != 0) Fail("readdir(%s): %s", options_.dir.c_str(), strerror(errno));
  closedir(dir);
  std::multiset<std::string> expected;
  for (int i = 0; i < options_.files; ++i) {
    if (slots_[i]) expected.insert(Name(i));
  }
  std::string listed, wanted;
  for (const auto& name : names) listed += " " + name;
  for (const auto& name : expected) wanted += " " + name;
  Log("readdir:%s", listed.c_str());
  if (names != expected) Fail("readdir listed [%s ], expected [%s ]", listed.c_str(), wanted.c_str());
}

void Exerciser::DoOrphan() {
  if (orphans_.empty()) return;
  size_t index = Random(orphans_.size());
  Object& object = *orphans_[index];
  std::string& seen = object.content;
  uint64_t pick = Random(100);
  if (pick < 40) {
    uint64_t offset = Random(seen.size() + 1);
    size_t length = 1 + Random(65536);
    Log("pread unlinked file #%d fd %d [%" PRIu64 ", +%zu) of %zu", object.id, object.fd, offset,
        length, seen.size());
    std::string got = ReadAt(object.fd, offset, length, "pread of an unlinked file");
    std::string expected = offset < seen.size() ? seen.substr(offset, length) : std::string();
    Compare("pread of unlinked file #" + std::to_string(object.id), expected, got, offset);
  } else if (pick < 70 && (object.mode == Mode::kWrite || object.mode == Mode::kAppend)) {
    size_t length = 1 + Random(4096);
    uint64_t offset = object.mode == Mode::kAppend ? seen.size() : Random(seen.size() + 1);
    std::string data = Pattern(offset, length);
    Log("pwrite unlinked file #%d fd %d [%" PRIu64 ", +%zu)", object.id, object.fd, offset, length);
    ssize_t n = pwrite(object.fd, data.data(), length, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) {
      Fail("pwrite to unlinked file #%d: %s", object.id,
           n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
    }
    if (offset + length > seen.size()) seen.resize(offset + length, '\0');
    seen.replace(offset, length, data);
  } else {
    Close(object);
    orphans_.erase(orphans_.begin() + static_cast<long>(index));
  }
}

void Exerciser::VerifyAll() {
  for (auto& orphan : orphans_) Close(*orphan);
  orphans_.clear();
  for (int i = 0; i < options_.files; ++i) {
    if (slots_[i]) Close(*slots_[i]);
  }
  for (int i = 0; i < options_.files; ++i) DoCat(i);
  DoListDir();
}

void Exerciser::WriteManifest() {
  if (options_.manifest.empty()) return;
  FILE* out = fopen(options_.manifest.c_str(), "w");
  if (!out) {
    fprintf(stderr, "rocksfs_fsx: cannot write %s: %s\n", options_.manifest.c_str(),
            strerror(errno));
    exit(2);
  }
  for (int i = 0; i < options_.files; ++i) {
    if (!slots_[i]) continue;
    const std::string& content = slots_[i]->content;
    fprintf(out, "%s %zu %016" PRIX64 "\n", Name(i).c_str(), content.size(), Fnv1a64(content));
  }
  fclose(out);
}

int Exerciser::Run() {
  enum Kind {
    kRead, kCat, kWrite, kAppend, kTruncate, kFsync, kClose, kReopen, kRename, kUnlink,
    kMmapRead, kMmapPrivate, kStat, kListDir, kOrphan, kKinds
  };
  static constexpr const char* kNames[kKinds] = {
      "read", "whole read", "write", "append", "truncate", "fsync", "close", "reopen", "rename",
      "unlink", "mmap read", "MAP_PRIVATE write", "stat", "readdir", "unlinked-fd op"};
  // Weights out of 100.
  static constexpr int kWeights[kKinds] = {18, 6, 20, 8, 6, 4, 6, 6, 3, 2, 6, 4, 4, 2, 5};
  // Start from an empty directory of our own.
  for (int i = 0; i < options_.files; ++i) {
    if (unlink(Path(i).c_str()) != 0 && errno != ENOENT) {
      fprintf(stderr, "rocksfs_fsx: cannot remove %s: %s\n", Path(i).c_str(), strerror(errno));
      return 2;
    }
  }
  auto started = std::chrono::steady_clock::now();
  for (op_ = 1; op_ <= options_.ops; ++op_) {
    int roll = static_cast<int>(Random(100));
    int kind = 0;
    while (kind < kKinds - 1 && roll >= kWeights[kind]) roll -= kWeights[kind++];
    if (!options_.mmap && (kind == kMmapRead || kind == kMmapPrivate)) kind = kRead;
    int slot = static_cast<int>(Random(options_.files));
    counts_[kind]++;
    switch (kind) {
      case kRead: DoRead(slot); break;
      case kCat: DoCat(slot); break;
      case kWrite: DoWrite(slot); break;
      case kAppend: DoAppend(slot); break;
      case kTruncate: DoTruncate(slot); break;
      case kFsync: DoFsync(slot); break;
      case kClose: DoClose(slot); break;
      case kReopen: DoReopen(slot); break;
      case kRename: {
        int to = static_cast<int>(Random(options_.files));
        if (to == slot) to = (to + 1) % options_.files;
        if (to != slot) DoRename(slot, to);
        break;
      }
      case kUnlink: DoUnlink(slot); break;
      case kMmapRead: DoMmapRead(slot); break;
      case kMmapPrivate: DoMmapPrivateWrite(slot); break;
      case kStat: DoStat(slot); break;
      case kListDir: DoListDir(); break;
      case kOrphan: DoOrphan(); break;
    }
    while (orphans_.size() > 4) {
      Close(*orphans_.front());
      orphans_.erase(orphans_.begin());
    }
  }
  op_ = options_.ops + 1;
  VerifyAll();
  WriteManifest();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  printf("rocksfs_fsx: seed %" PRIu64 ": %" PRIu64 " operations on %d files in %s passed in %.1f s (",
         options_.seed, options_.ops, options_.files, options_.dir.c_str(), seconds);
  for (int kind = 0; kind < kKinds; ++kind) {
    printf("%s%s %" PRIu64, kind ? ", " : "", kNames[kind], counts_[kind]);
  }
  printf("; MAP_SHARED mappings %" PRIu64 ")\n", mmap_mapped_);
  return 0;
}

[[noreturn]] void Usage(const char* message) {
  if (message) fprintf(stderr, "rocksfs_fsx: %s\n", message);
  fprintf(stderr,
          "usage: rocksfs_fsx [--seed N] [--ops N] [--files N] [--max-size BYTES] [--no-mmap]\n"
          "                   [--manifest FILE] [--history N] [--verbose] DIR\n");
  exit(2);
}

uint64_t Number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    fprintf(stderr, "rocksfs_fsx: %s needs a number, not '%s'\n", flag, text);
    exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.seed = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count() % 1000000007);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--seed") options.seed = Number("--seed", value());
    else if (arg == "--ops") options.ops = Number("--ops", value());
    else if (arg == "--files") options.files = static_cast<int>(Number("--files", value()));
    else if (arg == "--max-size") options.max_size = Number("--max-size", value());
    else if (arg == "--no-mmap") options.mmap = false;
    else if (arg == "--manifest") options.manifest = value();
    else if (arg == "--verbose") options.verbose = true;
    else if (arg == "--history") options.history = Number("--history", value());
    else if (arg == "-h" || arg == "--help") Usage(nullptr);
    else if (!arg.empty() && arg[0] == '-') Usage(("unknown option " + arg).c_str());
    else if (options.dir.empty()) options.dir = arg;
    else Usage("more than one DIR");
  }
  if (options.dir.empty()) Usage("missing DIR");
  if (options.files < 2 || options.files > 64) Usage("--files must be 2..64");
  if (options.max_size < 4096) Usage("--max-size must be at least 4096");
  struct stat st;
  if (stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "rocksfs_fsx: %s is not a directory\n", options.dir.c_str());
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = OnFault;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
  sigaction(SIGSEGV, &action, nullptr);
  Exerciser exerciser(options);
  return exerciser.Run();
}
