#include "kv/sst_records.h"

#include <filesystem>
#include <string_view>

#include <rocksdb/convenience.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table_properties.h>

#include "kv/rocks_status.h"

namespace rocksfs::kv {

namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class SstRecordSource final : public RecordSource {
 public:
  explicit SstRecordSource(std::string path) : path_(std::move(path)), reader_(rocksdb::Options()) {}

  Status Open() {
    Status s = FromRocks(reader_.Open(path_));
    if (!s.ok()) return Status(s.code(), path_ + ": " + s.message());
    if (auto properties = reader_.GetTableProperties()) {
      total_ = properties->raw_key_size + properties->raw_value_size;
    }
    rocksdb::ReadOptions read_options;
    read_options.verify_checksums = true;
    read_options.fill_cache = false;
    iterator_.reset(reader_.NewIterator(read_options));
    iterator_->SeekToFirst();
    return Status::Ok();
  }

  Status Next(Record* record, bool* done) override {
    *done = false;
    if (!iterator_->Valid()) {
      Status s = FromRocks(iterator_->status());
      if (!s.ok()) return Status(s.code(), path_ + ": " + s.message());
      *done = true;
      return Status::Ok();
    }
    record->key.assign(iterator_->key().data(), iterator_->key().size());
    record->value.assign(iterator_->value().data(), iterator_->value().size());
    read_ += record->key.size() + record->value.size();
    iterator_->Next();
    return Status::Ok();
  }

  uint64_t bytes_read() const override { return read_; }
  uint64_t total_bytes() const override { return total_; }

 private:
  const std::string path_;
  rocksdb::SstFileReader reader_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
  uint64_t total_ = 0;
  uint64_t read_ = 0;
};

rocksdb::Options GenericSstOptions() {
  rocksdb::Options options;
  // Compression every RocksDB build has; ZSTD where this one has it.
  const auto supported = rocksdb::GetSupportedCompressions();
  options.compression = rocksdb::kNoCompression;
  for (const auto type : supported) {
    if (type == rocksdb::kZSTD) options.compression = rocksdb::kZSTD;
  }
  return options;
}

class SstRecordSink final : public RecordSink {
 public:
  explicit SstRecordSink(std::string path)
      : path_(std::move(path)), writer_(rocksdb::EnvOptions(), GenericSstOptions()) {}
  // An unfinished file is no SST file: do not leave it behind.
  ~SstRecordSink() override {
    if (!finished_) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
    }
  }

  Status Open() {
    Status s = FromRocks(writer_.Open(path_));
    if (!s.ok()) return Status(s.code(), path_ + ": " + s.message());
    return Status::Ok();
  }

  Status Write(std::string_view key, std::string_view value, bool) override {
    ++entries_;
    return FromRocks(writer_.Put(ToSlice(key), ToSlice(value)));
  }

  Status Finish() override {
    if (entries_ == 0) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
      return Status::InvalidArgument("no keys to write: an SST file cannot be empty (" + path_ +
                                     " not written)");
    }
    Status s = FromRocks(writer_.Finish());
    if (!s.ok()) return Status(s.code(), path_ + ": " + s.message());
    finished_ = true;
    return Status::Ok();
  }

 private:
  const std::string path_;
  rocksdb::SstFileWriter writer_;
  uint64_t entries_ = 0;
  bool finished_ = false;
};

}  // namespace

Status OpenSstRecordSource(const std::string& path, std::unique_ptr<RecordSource>* source) {
  source->reset();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(path + ": no such file");
  auto sst = std::make_unique<SstRecordSource>(path);
  Status s = sst->Open();
  if (!s.ok()) return s;
  *source = std::move(sst);
  return Status::Ok();
}

Status OpenSstRecordSink(const std::string& path, std::unique_ptr<RecordSink>* sink) {
  sink->reset();
  std::error_code ec;
  std::filesystem::remove(path, ec);
  auto sst = std::make_unique<SstRecordSink>(path);
  Status s = sst->Open();
  if (!s.ok()) return s;
  *sink = std::move(sst);
  return Status::Ok();
}

}  // namespace rocksfs::kv
