// Tests of directory trees as record streams (fs/tree_io.h): the mount's
// key <-> path mapping on an ordinary directory.

#include "fs/tree_io.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "kv/bulk_load.h"
#include "kv/dump.h"
#include "tests/kv/admin_test_util.h"

namespace rocksfs::fs {
namespace {

using namespace std::string_literals;
using kv::testing::AdminTempDir;
using kv::testing::KeyValues;
using kv::testing::ReadFile;
using kv::testing::WriteFile;
namespace stdfs = std::filesystem;

// Every record of a tree source, or the error.
kv::Status ReadTree(const std::string& root, KeyValues* out, uint64_t* skipped = nullptr,
                    char delimiter = '/') {
  out->clear();
  std::unique_ptr<kv::RecordSource> source;
  TreeSourceOptions options;
  options.delimiter = delimiter;
  options.count_total = true;
  kv::Status s = OpenTreeRecordSource(root, options, &source);
  if (!s.ok()) return s;
  kv::Record record;
  while (true) {
    bool done = false;
    s = source->Next(&record, &done);
    if (!s.ok()) return s;
    if (done) break;
    EXPECT_TRUE(out->emplace(record.key, record.value).second) << record.key;
  }
  EXPECT_EQ(source->bytes_read(), source->total_bytes());
  if (skipped != nullptr) *skipped = source->skipped();
  return kv::Status::Ok();
}

void MakeFile(const std::string& path, const std::string& bytes) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  WriteFile(path, bytes);
}

TEST(TreeIo, LoadDecodesNamesAsTheMountShowsThem) {
  AdminTempDir dir;
  const std::string root = dir.Sub("tree");
  MakeFile(root + "/user/alice", "a");
  MakeFile(root + "/blue%{@}", "value of blue");
  MakeFile(root + "/blue/x", "x");
  MakeFile(root + "/x%{00}y", "nul");
  MakeFile(root + "/bytes%{FFFE}", "fffe");
  MakeFile(root + "/50%off.txt", "literal percent");
  MakeFile(root + "/My%20File.pdf", "literal escape-like percent");
  MakeFile(root + "/%{25}{41}", "escaped percent");
  MakeFile(root + "/%{2E}rocksfs", "reserved");
  MakeFile(root + "/a/%{}/b", "empty component");
  MakeFile(root + "/logs/%{}", "ends in delimiter");
  stdfs::create_directories(root + "/empty/dir");
  ASSERT_EQ(::symlink("user/alice", (root + "/link").c_str()), 0);
  KeyValues keys;
  uint64_t skipped = 0;
  kv::Status s = ReadTree(root, &keys, &skipped);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(keys, (KeyValues{{"user/alice", "a"},
                             {"blue", "value of blue"},
                             {"blue/x", "x"},
                             {"x\0y"s, "nul"},
                             {"bytes\xff\xfe", "fffe"},
                             {"50%off.txt", "literal percent"},
                             {"My%20File.pdf", "literal escape-like percent"},
                             {"%{41}", "escaped percent"},
                             {".rocksfs", "reserved"},
                             {"a//b", "empty component"},
                             {"logs/", "ends in delimiter"}}));
  EXPECT_EQ(skipped, 1u);
}

TEST(TreeIo, OtherDelimiterEscapesSlash) {
  AdminTempDir dir;
  const std::string root = dir.Sub("tree");
  MakeFile(root + "/user/alice%{2F}home", "v");
  KeyValues keys;
  ASSERT_TRUE(ReadTree(root, &keys, nullptr, ':').ok());
  EXPECT_EQ(keys, (KeyValues{{"user:alice/home", "v"}}));
}

TEST(TreeIo, NamesAMountNeverShowsAreErrorsNamingThePath) {
  struct Case {
    std::string relative, error_part;
  } cases[] = {
      {"sub/%{41}", "not a name a rocksfs mount shows"},
      {"sub/x%{y}", "not a name a rocksfs mount shows"},
      {".rocksfs", "not a name a rocksfs mount shows"},
      {"dir%{@}/file", "a directory name cannot end in %{@}"},
      {std::string(234, 'a') + "%{#0123456789ABCDEF}", "shortened long name"},
  };
  for (const Case& c : cases) {
    AdminTempDir dir;
    const std::string root = dir.Sub("tree");
    MakeFile(root + "/" + c.relative, "v");
    KeyValues keys;
    kv::Status s = ReadTree(root, &keys);
    EXPECT_EQ(s.code(), kv::Code::kInvalidArgument) << c.relative;
    EXPECT_NE(s.message().find(c.error_part), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(root + "/"), std::string::npos) << s.message();
  }
}

TEST(TreeIo, SourceMustBeADirectory) {
  AdminTempDir dir;
  WriteFile(dir.Sub("file"), "x");
  std::unique_ptr<kv::RecordSource> source;
  EXPECT_EQ(OpenTreeRecordSource(dir.Sub("file"), {}, &source).code(), kv::Code::kInvalidArgument);
  EXPECT_TRUE(OpenTreeRecordSource(dir.Sub("missing"), {}, &source).IsNotFound());
}

KeyValues AwkwardKeys() {
  return {{"user/alice", "a"},        {"blue", "b"},       {"blue/x", "x"},
          {"blue.txt", "t"},          {"x\0y"s, "nul"},    {"bytes\xff", "ff"},
          {"%41", "p"},               {"50%off", "o"},     {".rocksfs", "r"},
          {"%{41}", "b"},             {"a%2Bb", "plus"},
          {"a//b", "e"},              {"logs/", "l"},      {"logs//deeper", "d"},
          {".", "dot"},               {"..", "dotdot"},    {"sub/..", "sub-dotdot"},
          {"", "empty key"},          {"caf\xc3\xa9", "u"}};
}

// dump (tree) then load gives back every key and value.
TEST(TreeIo, DumpThenLoadRoundTrips) {
  AdminTempDir dir;
  auto source = kv::testing::OpenStore(dir.Sub("source"));
  kv::testing::PutAll(source.get(), AwkwardKeys());
  std::unique_ptr<TreeRecordSink> sink;
  ASSERT_TRUE(OpenTreeRecordSink(dir.Sub("tree"), '/', &sink).ok());
  kv::DumpOptions dump;
  dump.with_children = true;
  kv::DumpStats dump_stats;
  kv::Status s = kv::Dump(source.get(), source->DefaultColumnFamily(), dump, sink.get(), &dump_stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink->hashed_names(), 0u);
  EXPECT_EQ(ReadFile(dir.Sub("tree/blue%{@}")), "b");
  EXPECT_EQ(ReadFile(dir.Sub("tree/blue/x")), "x");
  EXPECT_EQ(ReadFile(dir.Sub("tree/%{2E}rocksfs")), "r");
  EXPECT_EQ(ReadFile(dir.Sub("tree/%{}")), "empty key");
  EXPECT_EQ(ReadFile(dir.Sub("tree/%41")), "p");
  EXPECT_EQ(ReadFile(dir.Sub("tree/%{25}{41}")), "b");
  EXPECT_EQ(ReadFile(dir.Sub("tree/x%{00}y")), "nul");

  KeyValues loaded;
  s = ReadTree(dir.Sub("tree"), &loaded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(loaded, AwkwardKeys());

  auto target = kv::testing::OpenStore(dir.Sub("target"));
  std::unique_ptr<kv::RecordSource> tree;
  ASSERT_TRUE(OpenTreeRecordSource(dir.Sub("tree"), {}, &tree).ok());
  kv::BulkLoadStats stats;
  ASSERT_TRUE(kv::BulkLoad(target.get(), target->DefaultColumnFamily(), tree.get(), {}, &stats).ok());
  EXPECT_EQ(kv::testing::ScanAll(target.get()), AwkwardKeys());
}

TEST(TreeIo, LongComponentsAreHashedAndCounted) {
  AdminTempDir dir;
  std::unique_ptr<TreeRecordSink> sink;
  ASSERT_TRUE(OpenTreeRecordSink(dir.Sub("tree"), '/', &sink).ok());
  ASSERT_TRUE(sink->Write(std::string(300, 'k') + "/v", "x", false).ok());
  ASSERT_TRUE(sink->Write("short", "y", false).ok());
  EXPECT_EQ(sink->hashed_names(), 1u);
}

TEST(TreeIo, SinkRefusesANonEmptyDestination) {
  AdminTempDir dir;
  MakeFile(dir.Sub("dest/existing"), "x");
  std::unique_ptr<TreeRecordSink> sink;
  kv::Status s = OpenTreeRecordSink(dir.Sub("dest"), '/', &sink);
  EXPECT_EQ(s.code(), kv::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not empty"), std::string::npos);
  stdfs::create_directories(dir.Sub("empty"));
  EXPECT_TRUE(OpenTreeRecordSink(dir.Sub("empty"), '/', &sink).ok());
}

}  // namespace
}  // namespace rocksfs::fs
