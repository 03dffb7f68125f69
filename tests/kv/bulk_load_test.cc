// Tests of BulkLoad, Dump and the record streams against a real RocksDB.

#include "kv/bulk_load.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kv/dump.h"
#include "kv/record_codec.h"
#include "kv/record_stream.h"
#include "kv/sst_records.h"
#include "tests/kv/admin_test_util.h"

namespace rocksfs::kv {
namespace {

using namespace std::string_literals;
using testing::AdminTempDir;
using testing::KeyValues;
using testing::MapSink;
using testing::OpenStore;
using testing::ReadFile;
using testing::ScanAll;
using testing::VectorSource;
using testing::WriteFile;

Status LoadFile(Store* store, const std::string& path, RecordFormat format,
                BulkLoadStats* stats, BulkLoadOptions options = {}) {
  std::unique_ptr<RecordSource> source;
  Status s = format == RecordFormat::kSst ? OpenSstRecordSource(path, &source)
                                          : OpenTextRecordSource(path, format, &source);
  if (!s.ok()) return s;
  return BulkLoad(store, store->DefaultColumnFamily(), source.get(), options, stats);
}

Status DumpFile(Store* store, const std::string& path, RecordFormat format, DumpOptions options = {}) {
  std::unique_ptr<RecordSink> sink;
  Status s = format == RecordFormat::kSst ? OpenSstRecordSink(path, &sink)
                                          : OpenTextRecordSink(path, format, &sink);
  if (!s.ok()) return s;
  DumpStats stats;
  return Dump(store, store->DefaultColumnFamily(), options, sink.get(), &stats);
}

bool StagingIsEmpty(const std::string& db) {
  std::error_code ec;
  const std::string dir = db + "/.rocksfs/tmp";
  return !std::filesystem::exists(dir, ec) || std::filesystem::is_empty(dir, ec);
}

TEST(BulkLoad, LoadsTsvWithBinaryKeysThroughEscapes) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  WriteFile(dir.Sub("in.tsv"),
            "user/alice\thello\n"
            "bin\\x00key\\xff\tvalue\\twith\\ttabs\\n\n"
            "\n"  // blank lines are skipped
            "crlf\tline\r\n"
            "\\\\back\t\\0\n");
  BulkLoadStats stats;
  Status s = LoadFile(store.get(), dir.Sub("in.tsv"), RecordFormat::kTsv, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(stats.records, 4u);
  EXPECT_EQ(stats.keys, 4u);
  EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"user/alice", "hello"},
                                             {"bin\0key\xff"s, "value\twith\ttabs\n"},
                                             {"crlf", "line"},
                                             {"\\back", "\0"s}}));
  EXPECT_TRUE(StagingIsEmpty(dir.Sub("db")));
}

TEST(BulkLoad, LoadsNdjsonWithTextAndBase64) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  WriteFile(dir.Sub("in.ndjson"),
            "{\"key\": \"caf\\u00e9\", \"value\": \"x\\u0000y\"}\n"
            "   \n"
            "{\"key_b64\": \"AP8=\", \"value_b64\": \"AQID\"}\n"
            "{\"value\": \"v\", \"key\": \"k\"}");  // no final newline
  BulkLoadStats stats;
  Status s = LoadFile(store.get(), dir.Sub("in.ndjson"), RecordFormat::kNdjson, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"caf\xc3\xa9", "x\0y"s},
                                             {"\0\xff"s, "\1\2\3"},
                                             {"k", "v"}}));
}

TEST(BulkLoad, BadRecordNamesItsLineAndIngestsNothing) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  testing::PutAll(store.get(), {{"existing", "1"}});
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "key" + std::to_string(i) + "\tvalue\n";
  text += "this line has no tab\n";  // line 5001
  text += "after\tbad\n";
  WriteFile(dir.Sub("bad.tsv"), text);
  BulkLoadOptions options;
  options.run_bytes = 4096;  // many runs written before the error is met
  BulkLoadStats stats;
  Status s = LoadFile(store.get(), dir.Sub("bad.tsv"), RecordFormat::kTsv, &stats, options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("bad.tsv:5001:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no TAB"), std::string::npos) << s.message();
  EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"existing", "1"}}));
  EXPECT_TRUE(StagingIsEmpty(dir.Sub("db")));

  WriteFile(dir.Sub("bad.ndjson"), "{\"key\": \"a\", \"value\": \"b\"}\n{\"key\": \"a\"}\n");
  s = LoadFile(store.get(), dir.Sub("bad.ndjson"), RecordFormat::kNdjson, &stats);
  EXPECT_NE(s.message().find("bad.ndjson:2: no \"value\""), std::string::npos) << s.message();
  EXPECT_EQ(ScanAll(store.get()), (KeyValues{{"existing", "1"}}));
}

TEST(BulkLoad, SourceErrorsIngestNothing) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  std::vector<Record> records;
  for (int i = 0; i < 1000; ++i) records.push_back({"k" + std::to_string(i), "v"});
  VectorSource source(records);
  source.FailAt(900);
  BulkLoadOptions options;
  options.run_bytes = 1024;
  BulkLoadStats stats;
  Status s = BulkLoad(store.get(), store->DefaultColumnFamily(), &source, options, &stats);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(ScanAll(store.get()).empty());
  EXPECT_TRUE(StagingIsEmpty(dir.Sub("db")));
}

// Input larger than one run: several overlapping table files, and the
// last record of each key wins across runs and within them.
TEST(BulkLoad, ManyOverlappingRunsLastRecordWins) {
  std::mt19937 random(42);
  std::vector<Record> records;
  KeyValues expected;
  for (int i = 0; i < 20000; ++i) {
    std::string key = "key" + std::string(5 - std::to_string(i % 3000).size(), '0') +
                      std::to_string(random() % 3000);
    std::string value = "v" + std::to_string(i);
    expected[key] = value;
    records.push_back({key, value});
  }
  expected.emplace("key00007", "from before the load");  // unless the input set it
  for (int jobs : {1, 3}) {
    AdminTempDir run_dir;
    auto fresh = OpenStore(run_dir.Sub("db"));
    testing::PutAll(fresh.get(), {{"key00007", "from before the load"}});
    VectorSource source(records);
    BulkLoadOptions options;
    options.run_bytes = 16 << 10;  // ~500 records per run
    options.jobs = jobs;
    BulkLoadStats stats;
    Status s = BulkLoad(fresh.get(), fresh->DefaultColumnFamily(), &source, options, &stats);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_GT(stats.runs, 10u);
    EXPECT_EQ(stats.files, stats.runs);
    EXPECT_EQ(stats.records, 20000u);
    EXPECT_EQ(ScanAll(fresh.get()), expected) << "jobs=" << jobs;
  }
}

TEST(BulkLoad, OneRunIsSplitAcrossJobsWithoutOverlap) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  std::vector<Record> records;
  KeyValues expected;
  for (int i = 0; i < 50000; ++i) {
    std::string key = std::to_string((i * 7919) % 50000);
    records.push_back({key, "v" + std::to_string(i)});
    expected[key] = "v" + std::to_string(i);
  }
  VectorSource source(records);
  BulkLoadOptions options;
  options.jobs = 4;
  BulkLoadStats stats;
  Status s = BulkLoad(store.get(), store->DefaultColumnFamily(), &source, options, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(stats.runs, 1u);
  EXPECT_EQ(stats.files, 4u);
  EXPECT_EQ(ScanAll(store.get()), expected);
}

TEST(BulkLoad, EmptyInputLoadsNothing) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  WriteFile(dir.Sub("empty.tsv"), "\n\n");
  BulkLoadStats stats;
  Status s = LoadFile(store.get(), dir.Sub("empty.tsv"), RecordFormat::kTsv, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(stats.keys, 0u);
  EXPECT_TRUE(ScanAll(store.get()).empty());
}

TEST(BulkLoad, ReportsProgressAndCompacts) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  std::vector<Record> records;
  for (int i = 0; i < 10000; ++i) records.push_back({"k" + std::to_string(i), "v"});
  VectorSource source(records);
  BulkLoadOptions options;
  options.compact = true;
  options.progress_interval_seconds = 0;
  std::vector<BulkLoadProgress::Phase> phases;
  options.progress = [&](const BulkLoadProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
  };
  BulkLoadStats stats;
  Status s = BulkLoad(store.get(), store->DefaultColumnFamily(), &source, options, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  using Phase = BulkLoadProgress::Phase;
  EXPECT_EQ(phases, (std::vector<Phase>{Phase::kReading, Phase::kWriting, Phase::kIngesting,
                                        Phase::kCompacting, Phase::kDone}));
  EXPECT_EQ(ScanAll(store.get()).size(), 10000u);
}

TEST(BulkLoad, RefusesReadOnlyStores) {
  AdminTempDir dir;
  { auto store = OpenStore(dir.Sub("db")); }
  auto store = OpenStore(dir.Sub("db"), OpenMode::kReadOnly);
  VectorSource source(std::vector<Record>{{"a", "b"}});
  BulkLoadStats stats;
  Status s = BulkLoad(store.get(), store->DefaultColumnFamily(), &source, {}, &stats);
  EXPECT_EQ(s.code(), Code::kReadOnly);
}

TEST(BulkLoad, LoadsIntoOtherColumnFamilies) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  ColumnFamily* cf = nullptr;
  ASSERT_TRUE(store->GetColumnFamily("users", true, &cf).ok());
  VectorSource source(std::vector<Record>{{"alice", "1"}});
  BulkLoadStats stats;
  ASSERT_TRUE(BulkLoad(store.get(), cf, &source, {}, &stats).ok());
  EXPECT_EQ(ScanAll(store.get(), cf), (KeyValues{{"alice", "1"}}));
  EXPECT_TRUE(ScanAll(store.get()).empty());
}

KeyValues AwkwardData() {
  KeyValues data = {{"", "empty key"},
                    {"a", ""},
                    {"blue", "dir value"},
                    {"blue/x", "child"},
                    {"nul\0key"s, "nul\0value"s},
                    {"\xff\xfe", "\x80\x81"},
                    {"tab\tnl\ncr\r", "back\\slash"},
                    {"caf\xc3\xa9", "\xf0\x9f\x98\x80"}};
  for (int i = 0; i < 3000; ++i) data["bulk/" + std::to_string(i)] = std::string(i % 97, 'x');
  return data;
}

// load(dump(db)) == db, byte for byte, in every stream format.
TEST(Dump, EveryFormatRoundTripsThroughLoad) {
  for (RecordFormat format : {RecordFormat::kTsv, RecordFormat::kNdjson, RecordFormat::kSst}) {
    SCOPED_TRACE(std::string(RecordFormatName(format)));
    AdminTempDir dir;
    auto source = OpenStore(dir.Sub("source"));
    const KeyValues data = AwkwardData();
    testing::PutAll(source.get(), data);
    const std::string file = dir.Sub("dump." + std::string(RecordFormatName(format)));
    Status s = DumpFile(source.get(), file, format);
    ASSERT_TRUE(s.ok()) << s.ToString();

    auto target = OpenStore(dir.Sub("target"));
    BulkLoadStats stats;
    s = LoadFile(target.get(), file, format, &stats);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(stats.keys, data.size());
    EXPECT_EQ(ScanAll(target.get()), data);

    // And dumping the copy gives the same bytes again.
    const std::string again = dir.Sub("again." + std::string(RecordFormatName(format)));
    ASSERT_TRUE(DumpFile(target.get(), again, format).ok());
    if (format != RecordFormat::kSst) {
      EXPECT_EQ(ReadFile(file), ReadFile(again));
    }
  }
}

TEST(Dump, PrefixAndChildrenFlags) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  testing::PutAll(store.get(), {{"blue", "1"},
                                {"blue.txt", "2"},
                                {"blue/x", "3"},
                                {"blue/x/y", "4"},
                                {"bluer", "5"},
                                {"red", "6"}});
  MapSink sink;
  DumpOptions options;
  options.prefix = "blue";
  options.with_children = true;
  DumpStats stats;
  ASSERT_TRUE(Dump(store.get(), store->DefaultColumnFamily(), options, &sink, &stats).ok());
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(stats.keys, 5u);
  ASSERT_EQ(sink.items.size(), 5u);
  EXPECT_EQ(sink.items.front().first, "blue");
  EXPECT_EQ(sink.items.back().first, "bluer");
  EXPECT_EQ(sink.with_children, (std::vector<std::string>{"blue", "blue/x"}));
}

TEST(Dump, EmptySstDumpLeavesNoFile) {
  AdminTempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  Status s = DumpFile(store.get(), dir.Sub("empty.sst"), RecordFormat::kSst);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("empty.sst")));
}

TEST(RecordStream, FormatNamesAndExtensions) {
  RecordFormat format;
  EXPECT_TRUE(ParseRecordFormat("ndjson", &format));
  EXPECT_EQ(format, RecordFormat::kNdjson);
  EXPECT_FALSE(ParseRecordFormat("csv", &format));
  EXPECT_TRUE(RecordFormatFromExtension("/x/y.jsonl", &format));
  EXPECT_EQ(format, RecordFormat::kNdjson);
  EXPECT_TRUE(RecordFormatFromExtension("a.tsv", &format));
  EXPECT_EQ(format, RecordFormat::kTsv);
  EXPECT_FALSE(RecordFormatFromExtension("dir.d/file", &format));
  EXPECT_FALSE(RecordFormatFromExtension(".tsv", &format));
}

TEST(RecordStream, LongLinesAndProgress) {
  AdminTempDir dir;
  const std::string big(3 << 20, 'v');  // longer than the reader's chunk
  WriteFile(dir.Sub("big.tsv"), "k\t" + big + "\nk2\tv2\n");
  std::unique_ptr<RecordSource> source;
  ASSERT_TRUE(OpenTextRecordSource(dir.Sub("big.tsv"), RecordFormat::kTsv, &source).ok());
  EXPECT_EQ(source->total_bytes(), big.size() + 9);
  Record record;
  bool done = false;
  ASSERT_TRUE(source->Next(&record, &done).ok());
  EXPECT_EQ(record.value.size(), big.size());
  ASSERT_TRUE(source->Next(&record, &done).ok());
  EXPECT_EQ(record.key, "k2");
  ASSERT_TRUE(source->Next(&record, &done).ok());
  EXPECT_TRUE(done);
  EXPECT_EQ(source->bytes_read(), source->total_bytes());
}

TEST(RecordStream, MissingFileIsNotFound) {
  std::unique_ptr<RecordSource> source;
  Status s = OpenTextRecordSource("/nonexistent/x.tsv", RecordFormat::kTsv, &source);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("/nonexistent/x.tsv"), std::string::npos);
}

}  // namespace
}  // namespace rocksfs::kv
