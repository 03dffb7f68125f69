#include "fs/tree_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rocksfs::fs {

namespace {

namespace stdfs = std::filesystem;
using kv::Status;

Status ErrnoStatus(const std::string& what, int error) {
  std::string message = what + ": " + std::strerror(error);
  if (error == ENOENT) return Status::NotFound(message);
  if (error == ENOSPC || error == EDQUOT) return Status::NoSpace(message);
  return Status::IOError(message);
}

struct DirEntry {
  std::string name;
  unsigned char type;  // readdir's d_type; DT_UNKNOWN: ask lstat
  bool operator<(const DirEntry& other) const { return name < other.name; }
};

// The entries of `dir` without "." and "..", sorted bytewise by name.
Status ListDir(const std::string& dir, std::vector<DirEntry>* entries) {
  entries->clear();
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return ErrnoStatus(dir, errno);
  errno = 0;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") entries->push_back({std::string(name), entry->d_type});
    errno = 0;
  }
  const int error = errno;
  ::closedir(handle);
  if (error != 0) return ErrnoStatus(dir, error);
  std::sort(entries->begin(), entries->end());
  return Status::Ok();
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, errno);
  struct stat st;
  out->clear();
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out->reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoStatus(path, error);
    }
    if (n == 0) break;
    out->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

class TreeRecordSource final : public kv::RecordSource {
 public:
  TreeRecordSource(std::string root, const TreeSourceOptions& options)
      : root_(std::move(root)), codec_(options.delimiter) {}

  Status Start(bool count_total) {
    if (count_total) {
      std::error_code ec;
      for (auto it = stdfs::recursive_directory_iterator(root_, ec);
           !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code entry_ec;
        if (it->is_regular_file(entry_ec) && !it->is_symlink(entry_ec)) {
          total_ += it->file_size(entry_ec);
        }
      }
    }
    Frame root;
    root.dir = root_;
    Status s = ListDir(root_, &root.names);
    if (!s.ok()) return s;
    stack_.push_back(std::move(root));
    return Status::Ok();
  }

  Status Next(kv::Record* record, bool* done) override {
    *done = false;
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      if (frame.next == frame.names.size()) {
        stack_.pop_back();
        continue;
      }
      const DirEntry& entry = frame.names[frame.next++];
      const std::string& name = entry.name;
      const std::string path = frame.dir + "/" + name;
      mode_t type = DTTOIF(entry.type);
      if (entry.type == DT_UNKNOWN) {  // the filesystem does not fill d_type
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(path, errno);
        type = st.st_mode & S_IFMT;
      }
      const bool is_dir = S_ISDIR(type);
      if (!is_dir && !S_ISREG(type)) {
        ++skipped_;
        continue;
      }
      DecodedName decoded;
      Status s = DecodeOrExplain(path, name, stack_.size() == 1, is_dir, &decoded);
      if (!s.ok()) return s;
      if (is_dir) {
        Frame child;
        child.dir = path;
        child.key_prefix = frame.key_prefix + decoded.component + codec_.delimiter();
        s = ListDir(path, &child.names);
        if (!s.ok()) return s;
        stack_.push_back(std::move(child));  // invalidates `frame`
        continue;
      }
      record->key = frame.key_prefix + decoded.component;
      s = ReadWholeFile(path, &record->value);
      if (!s.ok()) return s;
      read_ += record->value.size();
      return Status::Ok();
    }
    *done = true;
    return Status::Ok();
  }

  uint64_t bytes_read() const override { return read_; }
  uint64_t total_bytes() const override { return total_; }
  uint64_t skipped() const override { return skipped_; }

 private:
  struct Frame {
    std::string dir;         // filesystem path
    std::string key_prefix;  // key bytes of the directory, with the delimiter
    std::vector<DirEntry> names;
    size_t next = 0;
  };

  Status DecodeOrExplain(const std::string& path, const std::string& name, bool at_root,
                         bool is_dir, DecodedName* decoded) const {
    if (codec_.Decode(name, at_root, decoded) != 0) {
      return Status::InvalidArgument(
          path + ": not a name a rocksfs mount shows (an escape that is not canonical, "
                 "e.g. %{41} for A, a %{ that opens no escape, or a component holding the "
                 "delimiter); rename it");
    }
    if (decoded->hashed) {
      return Status::InvalidArgument(
          path + ": a shortened long name (%{#HASH}) cannot be loaded: the full key component "
                 "is not in the name");
    }
    if (is_dir && decoded->role == NameRole::kDirValue) {
      return Status::InvalidArgument(path + ": a directory name cannot end in %{@}");
    }
    return Status::Ok();
  }

  const std::string root_;
  const PathCodec codec_;
  std::vector<Frame> stack_;
  uint64_t total_ = 0;
  uint64_t read_ = 0;
  uint64_t skipped_ = 0;
};

class TreeRecordSinkImpl final : public TreeRecordSink {
 public:
  TreeRecordSinkImpl(std::string dest, char delimiter)
      : dest_(std::move(dest)), codec_(delimiter) {}

  Status Write(std::string_view key, std::string_view value, bool has_children) override {
    // Split into components; the last names the file.
    std::string dir = dest_;
    size_t start = 0;
    bool at_root = true;
    while (true) {
      const size_t end = key.find(codec_.delimiter(), start);
      const std::string_view component =
          key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      if (end == std::string_view::npos) {
        const std::string name = codec_.Encode(
            component, has_children ? NameRole::kDirValue : NameRole::kPlain, at_root);
        if (PathCodec::IsHashed(name)) ++hashed_;
        Status s = EnsureDir(dir);
        if (!s.ok()) return s;
        return WriteFile(dir + "/" + name, value);
      }
      const std::string name = codec_.Encode(component, NameRole::kPlain, at_root);
      if (PathCodec::IsHashed(name)) ++hashed_;
      dir += "/" + name;
      start = end + 1;
      at_root = false;
    }
  }

  Status Finish() override { return Status::Ok(); }
  uint64_t hashed_names() const override { return hashed_; }

 private:
  Status EnsureDir(const std::string& dir) {
    if (dir == last_dir_) return Status::Ok();
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create directory " + dir + ": " + ec.message());
    last_dir_ = dir;
    return Status::Ok();
  }

  static Status WriteFile(const std::string& path, std::string_view value) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) {
        return Status::IOError(path + " already exists (two keys with one name?)");
      }
      return ErrnoStatus(path, errno);
    }
    size_t done = 0;
    while (done < value.size()) {
      const ssize_t n = ::write(fd, value.data() + done, value.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        return ErrnoStatus(path, error);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) return ErrnoStatus(path, errno);
    return Status::Ok();
  }

  const std::string dest_;
  const PathCodec codec_;
  std::string last_dir_;
  uint64_t hashed_ = 0;
};

}  // namespace

kv::Status OpenTreeRecordSource(const std::string& root, const TreeSourceOptions& options,
                                std::unique_ptr<kv::RecordSource>* source) {
  source->reset();
  if (!PathCodec::IsValidDelimiter(options.delimiter)) {
    return Status::InvalidArgument("the delimiter cannot be '%'");
  }
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return ErrnoStatus(root, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(root + " is not a directory");
  auto tree = std::make_unique<TreeRecordSource>(root, options);
  Status s = tree->Start(options.count_total);
  if (!s.ok()) return s;
  *source = std::move(tree);
  return Status::Ok();
}

kv::Status OpenTreeRecordSink(const std::string& dest, char delimiter,
                              std::unique_ptr<TreeRecordSink>* sink) {
  sink->reset();
  if (!PathCodec::IsValidDelimiter(delimiter)) {
    return Status::InvalidArgument("the delimiter cannot be '%'");
  }
  std::error_code ec;
  if (stdfs::exists(dest, ec)) {
    if (!stdfs::is_directory(dest, ec)) return Status::InvalidArgument(dest + " is not a directory");
    if (!stdfs::is_empty(dest, ec)) {
      return Status::InvalidArgument(dest + " is not empty (dump a tree into a new directory)");
    }
  } else {
    stdfs::create_directories(dest, ec);
    if (ec) return Status::IOError("cannot create " + dest + ": " + ec.message());
  }
  *sink = std::make_unique<TreeRecordSinkImpl>(dest, delimiter);
  return Status::Ok();
}

}  // namespace rocksfs::fs
