// rocksfs_fsx: an fsx-style exerciser (after the classic BSD/Apple fsx) of
// file semantics, for rocksfs mounts and any local filesystem.
//
//   rocksfs_fsx [--seed N] [--ops N] [--files N] [--max-size BYTES]
//               [--no-mmap] [--manifest FILE] [--history N] [--verbose] DIR
//
// Runs a random sequence of operations, fixed by the seed, on a few files in
// DIR (f0, f1, ...) and checks every byte read, every size and every listing
// against an in-memory model. The model is POSIX's, as ext4 and tmpfs
// implement it, which rocksfs follows inside one mount (SPEC section 3): a
// file (an inode) has one content, shared by all its descriptors and
// mappings, so the same seeds on tmpfs check the exerciser itself. What it
// checks:
//
// - Several descriptors per file: up to 3 open at once, each O_RDONLY,
//   O_RDWR or O_RDWR|O_APPEND (writable ones sometimes with O_TRUNC).
//   After a write through one of them, the written range is read back
//   through every other descriptor and every live mapping of the file
//   (read-your-writes), or through a new descriptor when there is no other.
// - O_APPEND from two descriptors of one file: series of appends through
//   either land one after the other at the end, none lost or overwritten.
// - ftruncate, truncate by path and open(O_TRUNC) take effect when called:
//   fstat through every descriptor and stat by path show the new size at
//   once, and reads around the new end agree.
// - MAP_SHARED mappings: read-only ones through any descriptor, and writable
//   ones (PROT_WRITE) through an O_RDWR one. A store into a writable mapping
//   is read at once by read() through every descriptor; a mapping may live
//   on across other operations (writes, truncates, the close of its
//   descriptor, unlink or rename of its name), and the file is read again
//   after munmap (sometimes after msync). MAP_PRIVATE stores never reach
//   the file.
// - Close, then open again: closing the last descriptor and mapping of a
//   name, or every descriptor at once, and reading the name through a new
//   descriptor gives the same content.
// - Descriptors and mappings of unlinked or replaced files stay in use for a
//   while (reads, writes, stores); fsync, rename, unlink, stat and readdir.
//
// On a mismatch it prints the seed, the operation, the last --history
// operations (default 30) and the command line that repeats the run, and
// exits with status 1. Status 2 is a usage or setup error. --manifest FILE
// writes each file's final size and FNV-1a hash (after every descriptor and
// mapping is closed), for checking the store afterwards.
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

enum class Mode { kRead, kWrite, kAppend };

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kRead: return "O_RDONLY";
    case Mode::kWrite: return "O_RDWR";
    case Mode::kAppend: return "O_RDWR|O_APPEND";
  }
  return "?";
}

// Which descriptor an operation needs.
enum class Want {
  kAny,
  kWritable,  // O_RDWR, with or without O_APPEND
  kPlain,     // O_RDWR without O_APPEND (writes land where they are aimed)
  kAppend,    // O_RDWR|O_APPEND
};

bool Matches(Mode mode, Want want) {
  switch (want) {
    case Want::kAny: return true;
    case Want::kWritable: return mode != Mode::kRead;
    case Want::kPlain: return mode == Mode::kWrite;
    case Want::kAppend: return mode == Mode::kAppend;
  }
  return false;
}

struct Descriptor {
  int fd = -1;
  Mode mode = Mode::kRead;
};

// A live MAP_SHARED mapping of [0, length) of a file.
struct Mapping {
  char* addr = nullptr;
  size_t length = 0;
  bool writable = false;
};

// One file (an inode): its content, which every descriptor and mapping of
// it shares, and what is open on it.
struct File {
  int id = 0;  // for messages: "file #3"
  std::string content;
  bool linked = true;  // false once unlinked or replaced by a rename
  std::vector<Descriptor> fds;
  std::vector<Mapping> maps;

  bool InUse() const { return !fds.empty() || !maps.empty(); }
  size_t Count(Want want) const {
    size_t n = 0;
    for (const Descriptor& d : fds) n += Matches(d.mode, want) ? 1 : 0;
    return n;
  }
};

constexpr size_t kMaxDescriptors = 3;  // per file
constexpr size_t kMaxMappings = 2;     // live MAP_SHARED mappings per file
constexpr size_t kMaxOrphans = 4;      // unlinked files still in use

struct Options {
  uint64_t seed = 0;
  uint64_t ops = 10000;
  int files = 4;
  uint64_t max_size = 256 * 1024;
  bool mmap = true;
  bool verbose = false;
  std::string manifest;
  std::string dir;
  size_t history = 30;  // operations shown on a mismatch
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

// Checks that ran, printed at the end (and asserted on by test_fsx.py).
struct Checks {
  uint64_t other_descriptor_reads = 0;  // read-your-writes through another descriptor
  uint64_t mapping_reads = 0;           // ...through a live mapping
  uint64_t sizes = 0;                   // fstat/stat sizes compared
  uint64_t reopens = 0;                 // whole reads after closing, through a new descriptor
  uint64_t two_appender_writes = 0;     // O_APPEND writes while two O_APPEND descriptors are open
  uint64_t read_mappings = 0;           // MAP_SHARED PROT_READ mappings made
  uint64_t write_mappings = 0;          // MAP_SHARED PROT_WRITE mappings made
  uint64_t mapping_stores = 0;          // stores into MAP_SHARED mappings
};

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
  // The slot holding `file`, or -1 if it has no name any more.
  int SlotOf(const File& file) const;
  // "f2 (file #3)" or "unlinked file #3".
  std::string Label(const File& file) const;
  // Bytes that tell which operation wrote them (and, by `salt`, which kind
  // of write): never 0, as holes read as 0.
  std::string Pattern(uint64_t offset, size_t length, unsigned salt = 0) const;
  void Compare(const std::string& what, std::string_view expected, std::string_view got,
               uint64_t base_offset);
  // content[offset, offset + length), clipped at its end.
  static std::string Slice(const std::string& content, uint64_t offset, size_t length);

  // ---- descriptors and mappings ----
  // Opens the slot's name with `mode` (creating the file for writable
  // modes) as one more descriptor of its file, first closing one if the
  // file has kMaxDescriptors open. Returns the new descriptor.
  int OpenDescriptor(int slot, Mode mode, bool truncate);
  // A descriptor of the slot's file matching `want`: an open one picked at
  // random, or a new one. REQUIRES: for kAny, the file exists.
  int DescriptorFor(int slot, Want want);
  // Index of a random descriptor of `file` matching `want`, or -1.
  int FindDescriptor(const File& file, Want want);
  Mode ModeOf(const File& file, int fd) const;
  void CloseDescriptor(File& file, size_t index);
  void Unmap(File& file, size_t index, bool sync);
  void ReleaseAll(File& file);

  // ---- checks ----
  // Reads [offset, offset + length) through every descriptor of `file` but
  // `except_fd`, and compares every live mapping's part of the range; if no
  // other descriptor is open and the file has a name, reads it through a new
  // one. `after` names the operation being checked.
  void CheckRange(File& file, uint64_t offset, size_t length, int except_fd,
                  const std::string& after);
  // fstat through every descriptor and stat by name must give the model's size.
  void CheckSizes(File& file, const std::string& after);
  // Reads [offset, offset + length) through fd into a string (loops over
  // short reads; stops at EOF). With `sequential`, lseek and read instead.
  std::string ReadAt(int fd, uint64_t offset, size_t length, const char* what,
                     bool sequential = false);
  // Compares expected.size() bytes at `map` with `expected` (offset `base`
  // in the file), turning SIGBUS/SIGSEGV into a mismatch report.
  void CompareMapping(const std::string& what, const char* map, std::string_view expected,
                      uint64_t base);
  // Stores `data` at `map`, turning SIGBUS/SIGSEGV into a mismatch report.
  void StoreToMapping(const std::string& what, char* map, std::string_view data);
  // A store of random bytes into the accessible part of a writable mapping,
  // checked through every descriptor and mapping.
  void StoreAndCheck(File& file, size_t map_index);

  // ---- operations ----
  void DoRead(int slot);
  void DoCat(int slot);
  void DoWrite(int slot);
  void DoAppend(int slot);
  void DoTruncate(int slot);
  void DoFsync(int slot);
  void DoOpen(int slot);
  void DoClose(int slot);
  void DoReopen(int slot);
  void DoRename(int from, int to);
  void DoUnlink(int slot);
  void DoMmapRead(int slot);
  void DoMmapWrite(int slot);
  void DoMappingOp();
  void DoMmapPrivateWrite(int slot);
  void DoStat(int slot);
  void DoListDir();
  void DoOrphan();
  // The name stopped naming `file` (unlink, or a rename over it).
  void Unlinked(std::shared_ptr<File> file);
  void VerifyAll();
  void WriteManifest();

  Options options_;
  std::mt19937_64 rng_;
  std::vector<std::shared_ptr<File>> slots_;
  std::vector<std::shared_ptr<File>> orphans_;  // unlinked, still in use
  std::deque<std::string> history_;
  uint64_t op_ = 0;
  int next_id_ = 1;
  uint64_t counts_[32] = {};
  Checks checks_;
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

int Exerciser::SlotOf(const File& file) const {
  for (int i = 0; i < options_.files; ++i) {
    if (slots_[i].get() == &file) return i;
  }
  return -1;
}

std::string Exerciser::Label(const File& file) const {
  int slot = SlotOf(file);
  if (slot < 0) return "unlinked file #" + std::to_string(file.id);
  return Name(slot) + " (file #" + std::to_string(file.id) + ")";
}

std::string Exerciser::Pattern(uint64_t offset, size_t length, unsigned salt) const {
  std::string data(length, '\0');
  for (size_t i = 0; i < length; ++i) {
    data[i] = static_cast<char>(1 + (op_ * 7 + salt + offset + i) % 255);
  }
  return data;
}

std::string Exerciser::Slice(const std::string& content, uint64_t offset, size_t length) {
  return offset < content.size() ? content.substr(offset, length) : std::string();
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

std::string Exerciser::ReadAt(int fd, uint64_t offset, size_t length, const char* what,
                              bool sequential) {
  std::string data(length, '\0');
  size_t done = 0;
  if (sequential && lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    Fail("%s: lseek(fd %d, %" PRIu64 "): %s", what, fd, offset, strerror(errno));
  }
  while (done < length) {
    ssize_t n = sequential
                    ? read(fd, data.data() + done, length - done)
                    : pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail("%s: %s(fd %d, %zu at %" PRIu64 "): %s", what, sequential ? "read" : "pread", fd,
           length - done, offset + done, strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

void Exerciser::CompareMapping(const std::string& what, const char* map,
                               std::string_view expected, uint64_t base) {
  std::string copy(expected.size(), '\0');
  int signum = sigsetjmp(g_fault_jump, 1);
  if (signum != 0) {
    g_fault_armed = 0;
    Fail("%s: %s while reading %zu bytes of the mapping at file offset %" PRIu64, what.c_str(),
         signum == SIGBUS ? "SIGBUS" : "SIGSEGV", expected.size(), base);
  }
  g_fault_armed = 1;
  std::memcpy(copy.data(), map, expected.size());
  g_fault_armed = 0;
  Compare(what, expected, copy, base);
}

void Exerciser::StoreToMapping(const std::string& what, char* map, std::string_view data) {
  int signum = sigsetjmp(g_fault_jump, 1);
  if (signum != 0) {
    g_fault_armed = 0;
    Fail("%s: %s while storing %zu bytes into the mapping", what.c_str(),
         signum == SIGBUS ? "SIGBUS" : "SIGSEGV", data.size());
  }
  g_fault_armed = 1;
  std::memcpy(map, data.data(), data.size());
  g_fault_armed = 0;
}

// ---- descriptors and mappings ----

int Exerciser::OpenDescriptor(int slot, Mode mode, bool truncate) {
  std::shared_ptr<File>& file = slots_[slot];
  if (file && file->fds.size() >= kMaxDescriptors) CloseDescriptor(*file, Random(file->fds.size()));
  int flags = 0;
  switch (mode) {
    case Mode::kRead: flags = O_RDONLY; break;
    case Mode::kWrite: flags = O_RDWR | O_CREAT; break;
    case Mode::kAppend: flags = O_RDWR | O_CREAT | O_APPEND; break;
  }
  if (truncate) flags |= O_TRUNC;
  int fd = open(Path(slot).c_str(), flags, 0644);
  if (fd < 0) {
    Fail("open(%s, %s%s): %s", Name(slot).c_str(), ModeName(mode), truncate ? "|O_TRUNC" : "",
         strerror(errno));
  }
  Log("open %s %s%s -> fd %d%s", Name(slot).c_str(), ModeName(mode), truncate ? "|O_TRUNC" : "",
      fd, file ? (" (" + std::to_string(file->fds.size()) + " open before)").c_str() : " (created)");
  if (!file) {
    file = std::make_shared<File>();
    file->id = next_id_++;
  }
  file->fds.push_back({fd, mode});
  if (truncate && mode != Mode::kRead) {
    file->content.clear();
    // O_TRUNC takes effect at the open, for every descriptor.
    CheckSizes(*file, "open(O_TRUNC)");
  }
  return fd;
}

int Exerciser::FindDescriptor(const File& file, Want want) {
  std::vector<int> candidates;
  for (size_t i = 0; i < file.fds.size(); ++i) {
    if (Matches(file.fds[i].mode, want)) candidates.push_back(static_cast<int>(i));
  }
  if (candidates.empty()) return -1;
  return candidates[Random(candidates.size())];
}

int Exerciser::DescriptorFor(int slot, Want want) {
  if (slots_[slot]) {
    int index = FindDescriptor(*slots_[slot], want);
    if (index >= 0) return slots_[slot]->fds[index].fd;
  }
  Mode mode = Mode::kWrite;
  if (want == Want::kAppend) mode = Mode::kAppend;
  if (want == Want::kAny && slots_[slot] && Chance(60)) mode = Mode::kRead;
  return OpenDescriptor(slot, mode, false);
}

Mode Exerciser::ModeOf(const File& file, int fd) const {
  for (const Descriptor& d : file.fds) {
    if (d.fd == fd) return d.mode;
  }
  return Mode::kRead;
}

void Exerciser::CloseDescriptor(File& file, size_t index) {
  Descriptor d = file.fds[index];
  Log("close fd %d of %s (%s)", d.fd, Label(file).c_str(), ModeName(d.mode));
  if (close(d.fd) != 0) {
    Fail("close(fd %d of %s, %s): %s", d.fd, Label(file).c_str(), ModeName(d.mode),
         strerror(errno));
  }
  file.fds.erase(file.fds.begin() + static_cast<long>(index));
}

void Exerciser::Unmap(File& file, size_t index, bool sync) {
  Mapping m = file.maps[index];
  Log("%smunmap %s mapping of %s (%zu bytes)", sync && m.writable ? "msync(MS_SYNC), " : "",
      m.writable ? "a writable" : "a read-only", Label(file).c_str(), m.length);
  if (sync && m.writable && msync(m.addr, m.length, MS_SYNC) != 0) {
    Fail("msync of a mapping of %s (%zu bytes): %s", Label(file).c_str(), m.length,
         strerror(errno));
  }
  if (munmap(m.addr, m.length) != 0) {
    Fail("munmap of a mapping of %s: %s", Label(file).c_str(), strerror(errno));
  }
  file.maps.erase(file.maps.begin() + static_cast<long>(index));
}

void Exerciser::ReleaseAll(File& file) {
  while (!file.maps.empty()) Unmap(file, file.maps.size() - 1, Chance(30));
  while (!file.fds.empty()) CloseDescriptor(file, file.fds.size() - 1);
}

// ---- checks ----

void Exerciser::CheckRange(File& file, uint64_t offset, size_t length, int except_fd,
                           const std::string& after) {
  std::string expected = Slice(file.content, offset, length);
  bool other = false;
  for (const Descriptor& d : file.fds) {
    if (d.fd == except_fd) continue;
    other = true;
    std::string got = ReadAt(d.fd, offset, length, "read-your-writes pread");
    Compare("pread of [" + std::to_string(offset) + ", +" + std::to_string(length) + ") of " +
                Label(file) + " through fd " + std::to_string(d.fd) + " (" + ModeName(d.mode) +
                ") after " + after,
            expected, got, offset);
    checks_.other_descriptor_reads++;
  }
  for (const Mapping& m : file.maps) {
    uint64_t end = std::min<uint64_t>({offset + length, m.length, file.content.size()});
    if (offset >= end) continue;
    CompareMapping("the live " + std::string(m.writable ? "writable" : "read-only") +
                       " MAP_SHARED mapping of " + Label(file) + " after " + after,
                   m.addr + offset, std::string_view(file.content).substr(offset, end - offset),
                   offset);
    checks_.mapping_reads++;
  }
  int slot = SlotOf(file);
  if (!other && slot >= 0) {
    int fd = open(Path(slot).c_str(), O_RDONLY);
    if (fd < 0) Fail("open(%s, O_RDONLY) to check %s: %s", Name(slot).c_str(), after.c_str(),
                     strerror(errno));
    std::string got = ReadAt(fd, offset, length, "read-your-writes pread");
    close(fd);
    Compare("pread of [" + std::to_string(offset) + ", +" + std::to_string(length) + ") of " +
                Label(file) + " through a new descriptor after " + after,
            expected, got, offset);
    checks_.other_descriptor_reads++;
  }
}

void Exerciser::CheckSizes(File& file, const std::string& after) {
  uint64_t expected = file.content.size();
  for (const Descriptor& d : file.fds) {
    struct stat st;
    if (fstat(d.fd, &st) != 0) Fail("fstat(fd %d) after %s: %s", d.fd, after.c_str(), strerror(errno));
    if (static_cast<uint64_t>(st.st_size) != expected) {
      Fail("fstat(fd %d of %s, %s) after %s: size %lld, expected %" PRIu64, d.fd,
           Label(file).c_str(), ModeName(d.mode), after.c_str(),
           static_cast<long long>(st.st_size), expected);
    }
    checks_.sizes++;
  }
  int slot = SlotOf(file);
  if (slot >= 0) {
    struct stat st;
    if (stat(Path(slot).c_str(), &st) != 0) {
      Fail("stat(%s) after %s: %s", Name(slot).c_str(), after.c_str(), strerror(errno));
    }
    if (static_cast<uint64_t>(st.st_size) != expected) {
      Fail("stat(%s) after %s: size %lld, expected %" PRIu64, Name(slot).c_str(), after.c_str(),
           static_cast<long long>(st.st_size), expected);
    }
    checks_.sizes++;
  }
}

// ---- operations ----

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
  int fd = DescriptorFor(slot, Want::kAny);
  File& file = *slots_[slot];
  uint64_t offset = Random(file.content.size() + 4096);
  size_t length = 1 + Random(Chance(20) ? options_.max_size : 65536);
  bool sequential = Chance(30);
  Log("%s %s fd %d (%s) [%" PRIu64 ", +%zu) of %zu", sequential ? "lseek+read" : "pread",
      Name(slot).c_str(), fd, ModeName(ModeOf(file, fd)), offset, length, file.content.size());
  std::string got = ReadAt(fd, offset, length, "read", sequential);
  Compare("read of " + Label(file) + " through fd " + std::to_string(fd) + " (" +
              ModeName(ModeOf(file, fd)) + ")",
          Slice(file.content, offset, length), got, offset);
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
  File& file = *slots_[slot];
  Log("cat %s (a new fd %d; %zu bytes; %zu descriptors and %zu mappings open)",
      Name(slot).c_str(), fd, file.content.size(), file.fds.size(), file.maps.size());
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
  Compare("whole read of " + Label(file) + " through a new descriptor (fstat after the read: " +
              std::to_string(size_after) + " bytes)",
          file.content, got, 0);
  if (size_after != static_cast<long long>(file.content.size())) {
    Fail("fstat of a new descriptor of %s: size %lld, expected %zu", Label(file).c_str(),
         size_after, file.content.size());
  }
}

void Exerciser::DoWrite(int slot) {
  int fd = DescriptorFor(slot, Want::kPlain);
  File& file = *slots_[slot];
  std::string& content = file.content;
  size_t length = 1 + Random(Chance(10) ? options_.max_size / 4 : 16384);
  uint64_t limit = options_.max_size > length ? options_.max_size - length : 0;
  uint64_t offset = Chance(50) ? Random(std::min<uint64_t>(limit, content.size() + 1))
                               : Random(limit + 1);
  std::string data = Pattern(offset, length);
  bool positional = Chance(60);
  Log("%s %s fd %d [%" PRIu64 ", +%zu) of %zu (%zu descriptors, %zu mappings)",
      positional ? "pwrite" : "lseek+write", Name(slot).c_str(), fd, offset, length,
      content.size(), file.fds.size(), file.maps.size());
  ssize_t n;
  if (positional) {
    n = pwrite(fd, data.data(), length, static_cast<off_t>(offset));
  } else {
    if (lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      Fail("lseek(fd %d, %" PRIu64 "): %s", fd, offset, strerror(errno));
    }
    n = write(fd, data.data(), length);
  }
  if (n != static_cast<ssize_t>(length)) {
    Fail("write of %zu bytes at %" PRIu64 " to %s: %s", length, offset, Name(slot).c_str(),
         n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
  }
  if (offset + length > content.size()) content.resize(offset + length, '\0');
  content.replace(offset, length, data);
  if (Chance(60)) CheckRange(file, offset, length, fd, "a write through fd " + std::to_string(fd));
  if (Chance(30)) CheckSizes(file, "a write");
}

void Exerciser::DoAppend(int slot) {
  DescriptorFor(slot, Want::kAppend);
  File& file = *slots_[slot];
  // Two O_APPEND descriptors half of the time.
  if (file.Count(Want::kAppend) < 2 && Chance(50)) OpenDescriptor(slot, Mode::kAppend, false);
  int appends = 1 + static_cast<int>(Random(4));
  for (int k = 0; k < appends; ++k) {
    int index = FindDescriptor(file, Want::kAppend);
    int fd = file.fds[index].fd;
    size_t length = 1 + Random(8192);
    if (file.content.size() + length > options_.max_size) {
      // Keep files bounded: start the series over.
      Log("ftruncate %s fd %d %zu -> 0 (before appends past --max-size)", Name(slot).c_str(), fd,
          file.content.size());
      if (ftruncate(fd, 0) != 0) Fail("ftruncate(%s, 0): %s", Name(slot).c_str(), strerror(errno));
      file.content.clear();
      CheckSizes(file, "ftruncate to 0");
    }
    uint64_t end = file.content.size();
    std::string data = Pattern(end, length, 31 * k);
    bool two = file.Count(Want::kAppend) >= 2;
    Log("append %s fd %d +%zu at %" PRIu64 "%s", Name(slot).c_str(), fd, length, end,
        two ? " (two O_APPEND descriptors)" : "");
    ssize_t n = Chance(20) ? pwrite(fd, data.data(), length, 0)  // O_APPEND ignores the offset
                           : write(fd, data.data(), length);
    if (n != static_cast<ssize_t>(length)) {
      Fail("O_APPEND write of %zu bytes to %s: %s", length, Name(slot).c_str(),
           n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
    }
    file.content += data;
    if (two) checks_.two_appender_writes++;
    if (Chance(50)) {
      CheckRange(file, end, length, fd, "an O_APPEND write through fd " + std::to_string(fd));
    }
    if (Chance(30)) CheckSizes(file, "an O_APPEND write");
  }
  if (file.Count(Want::kAppend) >= 2 && Chance(50)) {
    CheckRange(file, 0, file.content.size() + 1, -1, "appends from two descriptors");
  }
}

void Exerciser::DoTruncate(int slot) {
  if (!slots_[slot]) return;
  File& file = *slots_[slot];
  uint64_t old_size = file.content.size();
  uint64_t size;
  switch (Random(4)) {
    case 0: size = 0; break;
    case 1: size = Random(old_size + 1); break;
    case 2: size = old_size + Random(8192); break;
    default: size = Random(options_.max_size + 1); break;
  }
  size = std::min<uint64_t>(size, options_.max_size);
  int index = FindDescriptor(file, Want::kWritable);
  std::string what;
  if (index >= 0 && Chance(70)) {
    int fd = file.fds[index].fd;
    what = "ftruncate through fd " + std::to_string(fd);
    Log("ftruncate %s fd %d %" PRIu64 " -> %" PRIu64 " (%zu descriptors, %zu mappings)",
        Name(slot).c_str(), fd, old_size, size, file.fds.size(), file.maps.size());
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      Fail("ftruncate(%s, %" PRIu64 "): %s", Name(slot).c_str(), size, strerror(errno));
    }
  } else {
    what = "truncate by name";
    Log("truncate %s %" PRIu64 " -> %" PRIu64 " (%zu descriptors, %zu mappings)",
        Name(slot).c_str(), old_size, size, file.fds.size(), file.maps.size());
    if (truncate(Path(slot).c_str(), static_cast<off_t>(size)) != 0) {
      Fail("truncate(%s, %" PRIu64 "): %s", Name(slot).c_str(), size, strerror(errno));
    }
  }
  file.content.resize(size, '\0');
  // The new size at once, through every descriptor and the name.
  CheckSizes(file, what);
  if (Chance(50)) CheckRange(file, size > 4096 ? size - 4096 : 0, 8192, -1, what);
}

void Exerciser::DoFsync(int slot) {
  if (!slots_[slot] || slots_[slot]->fds.empty()) return;
  File& file = *slots_[slot];
  const Descriptor& d = file.fds[Random(file.fds.size())];
  bool data_only = Chance(30);
  Log("%s %s fd %d (%s)", data_only ? "fdatasync" : "fsync", Name(slot).c_str(), d.fd,
      ModeName(d.mode));
  if ((data_only ? fdatasync(d.fd) : fsync(d.fd)) != 0) {
    Fail("fsync(%s fd %d): %s", Name(slot).c_str(), d.fd, strerror(errno));
  }
}

void Exerciser::DoOpen(int slot) {
  uint64_t pick = Random(100);
  Mode mode = pick < 40 ? Mode::kRead : pick < 75 ? Mode::kWrite : Mode::kAppend;
  if (!slots_[slot] && mode == Mode::kRead) mode = Mode::kWrite;
  bool truncate = mode != Mode::kRead && Chance(15);
  int fd = OpenDescriptor(slot, mode, truncate);
  File& file = *slots_[slot];
  // A new descriptor sees what the others wrote.
  if (Chance(50)) CheckSizes(file, "an open");
  if (Chance(50)) {
    uint64_t offset = Random(file.content.size() + 1);
    size_t length = 1 + Random(65536);
    std::string got = ReadAt(fd, offset, length, "pread after open");
    Compare("pread of " + Label(file) + " through the new fd " + std::to_string(fd),
            Slice(file.content, offset, length), got, offset);
  }
}

void Exerciser::DoClose(int slot) {
  if (!slots_[slot] || slots_[slot]->fds.empty()) return;
  File& file = *slots_[slot];
  CloseDescriptor(file, Random(file.fds.size()));
  if (!file.InUse()) {
    // The last one closed: the name still reads the same.
    DoCat(slot);
    checks_.reopens++;
  }
}

void Exerciser::DoReopen(int slot) {
  if (!slots_[slot]) {
    OpenDescriptor(slot, Chance(70) ? Mode::kWrite : Mode::kAppend, false);
    return;
  }
  File& file = *slots_[slot];
  Log("close every descriptor of %s%s", Label(file).c_str(),
      file.maps.empty() ? "" : " (mappings stay)");
  while (!file.fds.empty()) CloseDescriptor(file, file.fds.size() - 1);
  uint64_t pick = Random(100);
  Mode mode = pick < 45 ? Mode::kRead : pick < 85 ? Mode::kWrite : Mode::kAppend;
  int fd = OpenDescriptor(slot, mode, false);
  std::string got = ReadAt(fd, 0, file.content.size() + 4096, "whole pread after reopen");
  Compare("whole read of " + Label(file) + " through fd " + std::to_string(fd) +
              " after closing every descriptor and opening it again",
          file.content, got, 0);
  checks_.reopens++;
}

void Exerciser::Unlinked(std::shared_ptr<File> file) {
  file->linked = false;
  if (file->InUse()) orphans_.push_back(std::move(file));
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
  if (slots_[to]) Unlinked(std::move(slots_[to]));
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
  Unlinked(std::move(slots_[slot]));
  slots_[slot].reset();
}

void Exerciser::DoMmapRead(int slot) {
  if (!slots_[slot]) return;
  File& file = *slots_[slot];
  int index = Chance(60) ? FindDescriptor(file, Want::kAny) : -1;
  int fd;
  if (index >= 0) {
    fd = file.fds[index].fd;
  } else {
    fd = open(Path(slot).c_str(), O_RDONLY);
    if (fd < 0) Fail("open(%s, O_RDONLY) for mmap: %s", Name(slot).c_str(), strerror(errno));
  }
  const std::string& expected = file.content;
  Log("mmap MAP_SHARED PROT_READ %s %s fd %d, %zu bytes", Name(slot).c_str(),
      index >= 0 ? "its" : "a new", fd, expected.size());
  // As programs do before mapping: the size to map.
  struct stat st;
  if (fstat(fd, &st) != 0) Fail("fstat(fd %d): %s", fd, strerror(errno));
  if (static_cast<uint64_t>(st.st_size) != expected.size()) {
    Fail("fstat(%s fd %d) before mmap: size %lld, expected %zu", index >= 0 ? "its" : "a new", fd,
         static_cast<long long>(st.st_size), expected.size());
  }
  checks_.sizes++;
  if (!expected.empty()) {
    void* map = mmap(nullptr, expected.size(), PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      Fail("mmap(MAP_SHARED, PROT_READ) of %s (%zu bytes): %s", Name(slot).c_str(),
           expected.size(), strerror(errno));
    }
    checks_.read_mappings++;
    CompareMapping("MAP_SHARED read of " + Label(file), static_cast<const char*>(map), expected, 0);
    munmap(map, expected.size());
  }
  if (index < 0) close(fd);
}

void Exerciser::StoreAndCheck(File& file, size_t map_index) {
  const Mapping& m = file.maps[map_index];
  uint64_t accessible = std::min<uint64_t>(m.length, file.content.size());
  if (accessible == 0) return;
  uint64_t offset = Random(accessible);
  size_t count = 1 + Random(std::min<uint64_t>(accessible - offset, 16384));
  std::string data = Pattern(offset, count, 128);
  Log("store [%" PRIu64 ", +%zu) into a MAP_SHARED mapping of %s (%zu bytes mapped, %zu long)",
      offset, count, Label(file).c_str(), m.length, file.content.size());
  StoreToMapping("store into a MAP_SHARED mapping of " + Label(file), m.addr + offset, data);
  file.content.replace(offset, count, data);
  checks_.mapping_stores++;
  // read() through every descriptor sees the store at once.
  CheckRange(file, offset, count, -1, "a store into a MAP_SHARED mapping");
}

void Exerciser::DoMmapWrite(int slot) {
  if (!slots_[slot] || slots_[slot]->content.empty()) return;
  int fd = DescriptorFor(slot, Want::kWritable);  // never opens with O_TRUNC
  File& file = *slots_[slot];
  if (file.maps.size() >= kMaxMappings) Unmap(file, 0, false);
  size_t length = file.content.size();
  Log("mmap MAP_SHARED PROT_READ|PROT_WRITE %s fd %d (%s), %zu bytes", Name(slot).c_str(), fd,
      ModeName(ModeOf(file, fd)), length);
  void* map = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    Fail("mmap(MAP_SHARED, PROT_READ|PROT_WRITE) of %s (%zu bytes) through fd %d: %s",
         Name(slot).c_str(), length, fd, strerror(errno));
  }
  checks_.write_mappings++;
  file.maps.push_back({static_cast<char*>(map), length, true});
  CompareMapping("a new writable MAP_SHARED mapping of " + Label(file), static_cast<char*>(map),
                 file.content, 0);
  int stores = 1 + static_cast<int>(Random(3));
  for (int k = 0; k < stores; ++k) StoreAndCheck(file, file.maps.size() - 1);
  if (Chance(30)) CheckSizes(file, "stores into a mapping");  // stores never change the size
  if (Chance(50)) {
    Log("  the mapping stays");
    return;
  }
  Unmap(file, file.maps.size() - 1, Chance(40));
  CheckRange(file, 0, file.content.size() + 1, -1, "munmap of a written mapping");
}

void Exerciser::DoMappingOp() {
  std::vector<std::pair<File*, size_t>> live;
  auto collect = [&live](File& file) {
    for (size_t i = 0; i < file.maps.size(); ++i) live.emplace_back(&file, i);
  };
  for (auto& file : slots_) {
    if (file) collect(*file);
  }
  for (auto& file : orphans_) collect(*file);
  if (live.empty()) return;
  auto [file, index] = live[Random(live.size())];
  const Mapping& m = file->maps[index];
  uint64_t pick = Random(100);
  if (pick < 40) {
    uint64_t accessible = std::min<uint64_t>(m.length, file->content.size());
    Log("read a %s MAP_SHARED mapping of %s: [0, %" PRIu64 ")",
        m.writable ? "writable" : "read-only", Label(*file).c_str(), accessible);
    CompareMapping("the live MAP_SHARED mapping of " + Label(*file), m.addr,
                   std::string_view(file->content).substr(0, accessible), 0);
    checks_.mapping_reads++;
  } else if (pick < 75 && m.writable) {
    StoreAndCheck(*file, index);
  } else {
    Unmap(*file, index, Chance(40));
    if (!file->fds.empty() || file->linked) {
      CheckRange(*file, 0, file->content.size() + 1, -1, "munmap");
    }
  }
}

void Exerciser::DoMmapPrivateWrite(int slot) {
  if (!slots_[slot]) return;
  int fd = DescriptorFor(slot, Want::kAny);
  File& file = *slots_[slot];
  std::string expected = file.content;
  if (expected.empty()) return;
  size_t length = expected.size();
  Log("mmap MAP_PRIVATE PROT_WRITE %s fd %d (%s), %zu bytes", Name(slot).c_str(), fd,
      ModeName(ModeOf(file, fd)), length);
  void* map = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    Fail("mmap(MAP_PRIVATE, PROT_READ|PROT_WRITE) of %s (%zu bytes): %s", Name(slot).c_str(),
         length, strerror(errno));
  }
  char* bytes = static_cast<char*>(map);
  CompareMapping("MAP_PRIVATE mapping of " + Label(file) + " before writing", bytes, expected, 0);
  uint64_t offset = Random(length);
  size_t count = 1 + Random(std::min<size_t>(length - offset, 8192));
  std::string data = Pattern(offset, count, 64);
  StoreToMapping("store into a MAP_PRIVATE mapping of " + Label(file), bytes + offset, data);
  std::string mine = expected;
  mine.replace(offset, count, data);
  CompareMapping("MAP_PRIVATE mapping of " + Label(file) + " after writing", bytes, mine, 0);
  munmap(map, length);
  // Never in the file, for any descriptor.
  CheckRange(file, 0, file.content.size() + 1, -1, "stores into a MAP_PRIVATE mapping");
}

void Exerciser::DoStat(int slot) {
  if (!slots_[slot]) {
    struct stat st;
    int rc = stat(Path(slot).c_str(), &st);
    Log("stat %s (missing)", Name(slot).c_str());
    if (rc == 0 || errno != ENOENT) {
      Fail("stat of missing %s: %s", Name(slot).c_str(), rc == 0 ? "succeeded" : strerror(errno));
    }
    return;
  }
  File& file = *slots_[slot];
  Log("stat %s and fstat its %zu descriptors (%zu bytes)", Name(slot).c_str(), file.fds.size(),
      file.content.size());
  struct stat st;
  if (stat(Path(slot).c_str(), &st) != 0) Fail("stat(%s): %s", Name(slot).c_str(), strerror(errno));
  if (!S_ISREG(st.st_mode)) Fail("stat(%s): not a regular file", Name(slot).c_str());
  CheckSizes(file, "stat");
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
  File& file = *orphans_[Random(orphans_.size())];
  uint64_t pick = Random(100);
  int writable = FindDescriptor(file, Want::kWritable);
  if (pick < 35 && !file.fds.empty()) {
    const Descriptor& d = file.fds[Random(file.fds.size())];
    uint64_t offset = Random(file.content.size() + 1);
    size_t length = 1 + Random(65536);
    Log("pread %s fd %d [%" PRIu64 ", +%zu) of %zu", Label(file).c_str(), d.fd, offset, length,
        file.content.size());
    std::string got = ReadAt(d.fd, offset, length, "pread of an unlinked file");
    Compare("pread of " + Label(file) + " through fd " + std::to_string(d.fd),
            Slice(file.content, offset, length), got, offset);
  } else if (pick < 65 && writable >= 0) {
    const Descriptor d = file.fds[writable];
    size_t length = 1 + Random(4096);
    uint64_t offset =
        d.mode == Mode::kAppend ? file.content.size() : Random(file.content.size() + 1);
    std::string data = Pattern(offset, length);
    Log("pwrite %s fd %d (%s) [%" PRIu64 ", +%zu)", Label(file).c_str(), d.fd, ModeName(d.mode),
        offset, length);
    ssize_t n = pwrite(d.fd, data.data(), length, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) {
      Fail("pwrite to %s: %s", Label(file).c_str(),
           n < 0 ? strerror(errno) : ("short: " + std::to_string(n)).c_str());
    }
    if (offset + length > file.content.size()) file.content.resize(offset + length, '\0');
    file.content.replace(offset, length, data);
    CheckRange(file, offset, length, d.fd, "a write to an unlinked file");
  } else if (pick < 80 && !file.maps.empty()) {
    size_t index = Random(file.maps.size());
    if (file.maps[index].writable) {
      StoreAndCheck(file, index);
    } else {
      CheckRange(file, 0, file.content.size() + 1, -1, "nothing (an unlinked file's mapping)");
    }
  } else if (!file.fds.empty()) {
    CloseDescriptor(file, Random(file.fds.size()));
  } else if (!file.maps.empty()) {
    Unmap(file, Random(file.maps.size()), Chance(40));
  }
}

void Exerciser::VerifyAll() {
  for (auto& orphan : orphans_) ReleaseAll(*orphan);
  orphans_.clear();
  for (int i = 0; i < options_.files; ++i) {
    if (slots_[i]) ReleaseAll(*slots_[i]);
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
    kRead, kCat, kWrite, kAppend, kTruncate, kOpen, kClose, kReopen, kFsync, kRename, kUnlink,
    kMmapRead, kMmapWrite, kMappingOp, kMmapPrivate, kStat, kListDir, kOrphan, kKinds
  };
  static constexpr const char* kNames[kKinds] = {
      "read", "whole read", "write", "append", "truncate", "open", "close", "reopen", "fsync",
      "rename", "unlink", "mmap read", "MAP_SHARED write", "mapping op", "MAP_PRIVATE write",
      "stat", "readdir", "unlinked-file op"};
  // Weights out of 100.
  static constexpr int kWeights[kKinds] = {14, 5, 15, 8, 7, 7, 6, 3, 3, 3, 2, 4, 6, 4, 3, 4, 2, 4};
  static_assert(sizeof kWeights / sizeof kWeights[0] == kKinds);
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
    if (!options_.mmap &&
        (kind == kMmapRead || kind == kMmapWrite || kind == kMappingOp || kind == kMmapPrivate)) {
      kind = kRead;
    }
    int slot = static_cast<int>(Random(options_.files));
    counts_[kind]++;
    switch (kind) {
      case kRead: DoRead(slot); break;
      case kCat: DoCat(slot); break;
      case kWrite: DoWrite(slot); break;
      case kAppend: DoAppend(slot); break;
      case kTruncate: DoTruncate(slot); break;
      case kOpen: DoOpen(slot); break;
      case kClose: DoClose(slot); break;
      case kReopen: DoReopen(slot); break;
      case kFsync: DoFsync(slot); break;
      case kRename: {
        int to = static_cast<int>(Random(options_.files));
        if (to == slot) to = (to + 1) % options_.files;
        if (to != slot) DoRename(slot, to);
        break;
      }
      case kUnlink: DoUnlink(slot); break;
      case kMmapRead: DoMmapRead(slot); break;
      case kMmapWrite: DoMmapWrite(slot); break;
      case kMappingOp: DoMappingOp(); break;
      case kMmapPrivate: DoMmapPrivateWrite(slot); break;
      case kStat: DoStat(slot); break;
      case kListDir: DoListDir(); break;
      case kOrphan: DoOrphan(); break;
    }
    std::erase_if(orphans_, [](const std::shared_ptr<File>& file) { return !file->InUse(); });
    while (orphans_.size() > kMaxOrphans) {
      ReleaseAll(*orphans_.front());
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
  printf("; checks: reads through another descriptor %" PRIu64 ", through a live mapping %" PRIu64
         ", sizes %" PRIu64 ", reads after reopening %" PRIu64 ", O_APPEND writes with two "
         "O_APPEND descriptors %" PRIu64 ", MAP_SHARED read-only mappings %" PRIu64
         ", MAP_SHARED writable mappings %" PRIu64 ", stores into them %" PRIu64 ")\n",
         checks_.other_descriptor_reads, checks_.mapping_reads, checks_.sizes, checks_.reopens,
         checks_.two_appender_writes, checks_.read_mappings, checks_.write_mappings,
         checks_.mapping_stores);
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
