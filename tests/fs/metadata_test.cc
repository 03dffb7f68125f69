// The metadata record: round trips of version 2 (with and without ino, rdev
// and links), version 1 records written by older mounts, malformed input.

#include "fs/metadata.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rocksfs::fs {
namespace {

using namespace std::string_literals;

bool Same(const Metadata& a, const Metadata& b) {
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime == b.mtime &&
         a.ctime == b.ctime && a.atime == b.atime && a.ino == b.ino && a.rdev == b.rdev &&
         a.links == b.links && a.xattrs == b.xattrs;
}

Metadata Record(uint64_t ino, dev_t rdev, std::vector<std::string> links) {
  Metadata meta;
  meta.mode = S_IFREG | 0644;
  meta.uid = 1000;
  meta.gid = 100;
  meta.mtime = 1700000000123456789;
  meta.ctime = meta.mtime + 5;
  meta.atime = meta.mtime - 7;
  meta.ino = ino;
  meta.rdev = rdev;
  meta.links = std::move(links);
  return meta;
}

TEST(Metadata, EveryRecordRoundTrips) {
  struct Case {
    const char* name;
    Metadata meta;
  };
  Metadata with_xattrs = Record(kAllocatedInoBit | 7, 0, {});
  with_xattrs.xattrs = {{"user.a", "1"}, {"user.bin", "\0\xff"s}};
  Metadata negative_times = Record(0, 0, {});
  negative_times.mtime = -5;
  negative_times.ctime = 3;
  negative_times.atime = -1000000000000;
  const Case cases[] = {
      {"no extras", Record(0, 0, {})},
      {"allocated ino", Record(kAllocatedInoBit | 1, 0, {})},
      {"large allocated ino", Record(kAllocatedInoBit | (1ull << 40), 0, {})},
      {"hash ino", Record(0x7fedcba987654321ull, 0, {})},
      {"device", Record(kAllocatedInoBit | 2, makedev(8, 1), {})},
      {"links", Record(kAllocatedInoBit | 3, 0, {"a/f", "b/g", "h"})},
      {"links with odd bytes", Record(5, 0, {""s, "x\0y"s, "\xff"})},
      {"xattrs", with_xattrs},
      {"negative times", negative_times},
  };
  for (const Case& c : cases) {
    std::string bytes = EncodeMetadata(c.meta);
    Metadata decoded;
    ASSERT_TRUE(DecodeMetadata(bytes, &decoded)) << c.name;
    EXPECT_TRUE(Same(decoded, c.meta)) << c.name;
  }
}

TEST(Metadata, CommonRecordStaysSmall) {
  // Mode, owner, times now, and an ino handed out by a mount.
  Metadata meta = Record(kAllocatedInoBit | 123456, 0, {});
  meta.ctime = meta.atime = meta.mtime;
  EXPECT_LE(EncodeMetadata(meta).size(), 24u);
}

TEST(Metadata, VersionOneRecordsStillDecode) {
  // Written by a mount before version 2: mode 0100600, uid 1000, gid 100,
  // mtime 10 (zigzag 20), ctime +1, atime -1, one xattr.
  std::string v1 = "\x01"s + "\x80\x83\x02"s + "\xe8\x07"s + "\x64"s + "\x14"s + "\x02"s +
                   "\x01"s + "\x01"s + "\x06user.k"s + "\x01v"s;
  Metadata meta;
  ASSERT_TRUE(DecodeMetadata(v1, &meta));
  EXPECT_EQ(meta.mode, static_cast<mode_t>(S_IFREG | 0600));
  EXPECT_EQ(meta.uid, 1000u);
  EXPECT_EQ(meta.gid, 100u);
  EXPECT_EQ(meta.mtime, 10);
  EXPECT_EQ(meta.ctime, 11);
  EXPECT_EQ(meta.atime, 9);
  EXPECT_EQ(meta.ino, 0u);
  EXPECT_EQ(meta.rdev, 0u);
  EXPECT_TRUE(meta.links.empty());
  EXPECT_EQ(meta.xattrs.at("user.k"), "v");
}

TEST(Metadata, MalformedRecordsAreRefused) {
  std::string good = EncodeMetadata(Record(kAllocatedInoBit | 9, makedev(1, 3), {"a", "b"}));
  const std::string cases[] = {
      "",
      "\x03"s + good.substr(1),                  // unknown version
      good.substr(0, good.size() - 1),          // cut short
      good + "x",                               // trailing bytes
      "\x02\x01\x00\x00\x00\x00\x00\x08\x00"s,  // unknown flag
      "\x02\x01\x00\x00\x00\x00\x00\x04\x05"s,  // 5 links, none there
  };
  for (const std::string& bytes : cases) {
    Metadata meta;
    EXPECT_FALSE(DecodeMetadata(bytes, &meta)) << testing::PrintToString(bytes);
  }
}

}  // namespace
}  // namespace rocksfs::fs
