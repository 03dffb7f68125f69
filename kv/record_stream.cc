#include "kv/record_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "kv/record_codec.h"

namespace rocksfs::kv {

namespace {

constexpr size_t kChunkBytes = 1 << 20;

Status ErrnoStatus(const std::string& what, int error) {
  std::string message = what + ": " + std::strerror(error);
  if (error == ENOENT) return Status::NotFound(message);
  if (error == ENOSPC || error == EDQUOT) return Status::NoSpace(message);
  return Status::IOError(message);
}

// Splits a file descriptor's bytes into lines without copying short ones.
class LineReader {
 public:
  LineReader(int fd, bool owned) : fd_(fd), owned_(owned) { buffer_.resize(kChunkBytes); }
  ~LineReader() {
    if (owned_) ::close(fd_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Sets *line to the next line without its LF (the last line may lack one),
  // or *done at the end. The view lives until the next call.
  Status Next(std::string_view* line, bool* done) {
    *done = false;
    while (true) {
      const char* start = buffer_.data() + begin_;
      // Bytes before scanned_ are known to hold no LF: long lines are
      // searched once, not once per chunk.
      const void* lf = std::memchr(start + scanned_, '\n', end_ - begin_ - scanned_);
      if (lf != nullptr) {
        const size_t length = static_cast<const char*>(lf) - start;
        *line = std::string_view(start, length);
        begin_ += length + 1;
        consumed_ += length + 1;
        scanned_ = 0;
        return Status::Ok();
      }
      scanned_ = end_ - begin_;
      if (eof_) {
        if (begin_ == end_) {
          *done = true;
          return Status::Ok();
        }
        *line = std::string_view(start, end_ - begin_);
        consumed_ += end_ - begin_;
        begin_ = end_;
        scanned_ = 0;
        return Status::Ok();
      }
      // Keep the partial line, make room (growing for long lines), read more.
      if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
      ssize_t n;
      do {
        n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return ErrnoStatus("read", errno);
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

  uint64_t consumed() const { return consumed_; }

 private:
  const int fd_;
  const bool owned_;
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t scanned_ = 0;  // from begin_
  bool eof_ = false;
  uint64_t consumed_ = 0;
};

class TextRecordSource final : public RecordSource {
 public:
  TextRecordSource(int fd, bool owned, std::string name, RecordFormat format, uint64_t total)
      : reader_(fd, owned), name_(std::move(name)), format_(format), total_(total) {}

  Status Next(Record* record, bool* done) override {
    while (true) {
      std::string_view line;
      Status s = reader_.Next(&line, done);
      if (!s.ok()) return Status(s.code(), name_ + ": " + s.message());
      if (*done) return Status::Ok();
      ++line_number_;
      if (Blank(line)) continue;
      const std::string error = format_ == RecordFormat::kTsv
                                    ? ParseTsvRecord(line, &record->key, &record->value)
                                    : ParseNdjsonRecord(line, &record->key, &record->value);
      if (!error.empty()) {
        return Status::InvalidArgument(name_ + ":" + std::to_string(line_number_) + ": " + error);
      }
      return Status::Ok();
    }
  }

  uint64_t bytes_read() const override { return reader_.consumed(); }
  uint64_t total_bytes() const override { return total_; }

 private:
  bool Blank(std::string_view line) const {
    if (format_ == RecordFormat::kTsv) return line.empty() || line == "\r";
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
  }

  LineReader reader_;
  const std::string name_;
  const RecordFormat format_;
  const uint64_t total_;
  uint64_t line_number_ = 0;
};

class TextRecordSink final : public RecordSink {
 public:
  TextRecordSink(int fd, bool owned, std::string name, RecordFormat format)
      : fd_(fd), owned_(owned), name_(std::move(name)), format_(format) {
    buffer_.reserve(kChunkBytes + 4096);
  }
  ~TextRecordSink() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }

  Status Write(std::string_view key, std::string_view value, bool) override {
    if (format_ == RecordFormat::kTsv) {
      AppendTsvRecord(key, value, &buffer_);
    } else {
      AppendNdjsonRecord(key, value, &buffer_);
    }
    return buffer_.size() >= kChunkBytes ? Flush() : Status::Ok();
  }

  Status Finish() override {
    Status s = Flush();
    if (!s.ok()) return s;
    if (owned_) {
      const int fd = fd_;
      fd_ = -1;
      if (::close(fd) != 0) return ErrnoStatus(name_, errno);
    }
    return Status::Ok();
  }

 private:
  Status Flush() {
    size_t done = 0;
    while (done < buffer_.size()) {
      const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(name_, errno);
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
    return Status::Ok();
  }

  int fd_;
  const bool owned_;
  const std::string name_;
  const RecordFormat format_;
  std::string buffer_;
};

bool IsTextFormat(RecordFormat format) {
  return format == RecordFormat::kTsv || format == RecordFormat::kNdjson;
}

}  // namespace

bool ParseRecordFormat(std::string_view name, RecordFormat* format) {
  if (name == "tree") {
    *format = RecordFormat::kTree;
  } else if (name == "tsv") {
    *format = RecordFormat::kTsv;
  } else if (name == "ndjson" || name == "jsonl") {
    *format = RecordFormat::kNdjson;
  } else if (name == "sst") {
    *format = RecordFormat::kSst;
  } else {
    return false;
  }
  return true;
}

std::string_view RecordFormatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kTree: return "tree";
    case RecordFormat::kTsv: return "tsv";
    case RecordFormat::kNdjson: return "ndjson";
    case RecordFormat::kSst: return "sst";
  }
  return "?";
}

bool RecordFormatFromExtension(std::string_view path, RecordFormat* format) {
  const size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view extension = base.substr(dot + 1);
  if (extension == "tsv") {
    *format = RecordFormat::kTsv;
  } else if (extension == "ndjson" || extension == "jsonl") {
    *format = RecordFormat::kNdjson;
  } else if (extension == "sst") {
    *format = RecordFormat::kSst;
  } else {
    return false;
  }
  return true;
}

Status OpenTextRecordSource(const std::string& path, RecordFormat format,
                            std::unique_ptr<RecordSource>* source) {
  source->reset();
  if (!IsTextFormat(format)) return Status::InvalidArgument("not a text record format");
  int fd = STDIN_FILENO;
  bool owned = false;
  std::string name = "<stdin>";
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(path, errno);
    owned = true;
    name = path;
  }
  uint64_t total = 0;
  struct stat st;
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (owned) ::close(fd);
      return Status::InvalidArgument(name + " is a directory (use --format tree)");
    }
    if (S_ISREG(st.st_mode)) {
      // From the current offset: stdin may be a file already partly read.
      const off_t offset = ::lseek(fd, 0, SEEK_CUR);
      total = static_cast<uint64_t>(st.st_size) - (offset > 0 ? static_cast<uint64_t>(offset) : 0);
    }
  }
  *source = std::make_unique<TextRecordSource>(fd, owned, std::move(name), format, total);
  return Status::Ok();
}

Status OpenTextRecordSink(const std::string& path, RecordFormat format,
                          std::unique_ptr<RecordSink>* sink) {
  sink->reset();
  if (!IsTextFormat(format)) return Status::InvalidArgument("not a text record format");
  if (path == "-") {
    *sink = std::make_unique<TextRecordSink>(STDOUT_FILENO, false, "<stdout>", format);
    return Status::Ok();
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(path, errno);
  *sink = std::make_unique<TextRecordSink>(fd, true, path, format);
  return Status::Ok();
}

}  // namespace rocksfs::kv
