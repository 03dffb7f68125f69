#include "fs/mount_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

namespace rocksfs::fs {
namespace {

struct Parsed {
  int status = -1;
  MountOptions options;
  std::string error;
  bool help_shown = false;
};

Parsed Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"mount.rocksfs"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  Parsed parsed;
  parsed.status = ParseMountArgs(static_cast<int>(argv.size() - 1), argv.data(), &parsed.options,
                                 &parsed.error, &parsed.help_shown);
  return parsed;
}

// What "DB MNT" alone yields.
MountOptions Defaults() {
  MountOptions options;
  options.db_path = "DB";
  options.mountpoint = "MNT";
  options.uid = getuid();
  options.gid = getgid();
  return options;
}

void ExpectSameOptions(const MountOptions& want, const MountOptions& got) {
  EXPECT_EQ(want.db_path, got.db_path);
  EXPECT_EQ(want.mountpoint, got.mountpoint);
  EXPECT_EQ(want.create, got.create);
  EXPECT_EQ(want.read_only, got.read_only);
  EXPECT_EQ(want.secondary, got.secondary);
  EXPECT_EQ(want.catchup_ms, got.catchup_ms);
  EXPECT_EQ(want.column_family, got.column_family);
  EXPECT_EQ(want.delimiter, got.delimiter);
  EXPECT_EQ(want.db_options, got.db_options);
  EXPECT_EQ(want.cf_options, got.cf_options);
  EXPECT_EQ(want.options_file, got.options_file);
  EXPECT_EQ(want.snapshot, got.snapshot);
  EXPECT_EQ(want.ttl_seconds, got.ttl_seconds);
  EXPECT_EQ(want.sync, got.sync);
  EXPECT_EQ(want.uid, got.uid);
  EXPECT_EQ(want.gid, got.gid);
  EXPECT_EQ(want.file_mode, got.file_mode);
  EXPECT_EQ(want.dir_mode, got.dir_mode);
  EXPECT_EQ(want.attr_timeout, got.attr_timeout);
  EXPECT_EQ(want.entry_timeout, got.entry_timeout);
  EXPECT_EQ(want.threads, got.threads);
  EXPECT_EQ(want.max_value_size, got.max_value_size);
  EXPECT_EQ(want.nometa, got.nometa);
  EXPECT_EQ(want.foreground, got.foreground);
  EXPECT_EQ(want.debug, got.debug);
  EXPECT_EQ(want.log_level, got.log_level);
  EXPECT_EQ(want.log_file, got.log_file);
  EXPECT_EQ(want.fuse_options, got.fuse_options);
}

TEST(MountOptions, PositionalsAloneGiveDefaults) {
  Parsed parsed = Parse({"DB", "MNT"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_FALSE(parsed.help_shown);
  EXPECT_EQ(parsed.error, "");
  ExpectSameOptions(Defaults(), parsed.options);
  EXPECT_EQ(parsed.options.uid, getuid());
  EXPECT_EQ(parsed.options.gid, getgid());
}

TEST(MountOptions, EachOptionSetsItsField) {
  struct Case {
    std::vector<std::string> args;  // after "DB MNT"
    std::function<void(MountOptions*)> expect;
  };
  const Case cases[] = {
      {{"-o", "create"}, [](MountOptions* m) { m->create = true; }},
      {{"-o", "ro"},
       [](MountOptions* m) {
         m->read_only = true;
         m->fuse_options = {"ro"};
       }},
      {{"-o", "rw"}, [](MountOptions*) {}},
      {{"-o", "secondary"},
       [](MountOptions* m) {
         m->secondary = true;
         m->read_only = true;
         m->fuse_options = {"ro"};
       }},
      {{"-o", "secondary,catchup_ms=250"},
       [](MountOptions* m) {
         m->secondary = true;
         m->read_only = true;
         m->catchup_ms = 250;
         m->fuse_options = {"ro"};
       }},
      {{"-o", "cf=users"}, [](MountOptions* m) { m->column_family = "users"; }},
      {{"-o", "delimiter=:"}, [](MountOptions* m) { m->delimiter = ':'; }},
      {{"-o", "db_options=max_open_files=100;create_missing_column_families=true"},
       [](MountOptions* m) {
         m->db_options = "max_open_files=100;create_missing_column_families=true";
       }},
      {{"-o", "cf_options=write_buffer_size=1048576"},
       [](MountOptions* m) { m->cf_options = "write_buffer_size=1048576"; }},
      {{"-o", "options_file=/etc/rocksfs/OPTIONS-000005"},
       [](MountOptions* m) { m->options_file = "/etc/rocksfs/OPTIONS-000005"; }},
      {{"-o", "snapshot=nightly"},
       [](MountOptions* m) {
         m->snapshot = "nightly";
         m->read_only = true;
         m->fuse_options = {"ro"};
       }},
      {{"-o", "ttl=86400"}, [](MountOptions* m) { m->ttl_seconds = 86400; }},
      {{"-o", "sync"}, [](MountOptions* m) { m->sync = true; }},
      {{"-o", "commit=0.5"}, [](MountOptions* m) { m->commit_seconds = 0.5; }},
      {{"-o", "commit=0"}, [](MountOptions* m) { m->commit_seconds = 0; }},
      {{"-o", "writeback_cache"}, [](MountOptions* m) { m->writeback_cache = true; }},
      {{"-o", "uid=1234,gid=0"},
       [](MountOptions* m) {
         m->uid = 1234;
         m->gid = 0;
       }},
      {{"-o", "file_mode=0600,dir_mode=2775"},
       [](MountOptions* m) {
         m->file_mode = 0600;
         m->dir_mode = 02775;
       }},
      {{"-o", "attr_timeout=0.5,entry_timeout=0"},
       [](MountOptions* m) {
         m->attr_timeout = 0.5;
         m->entry_timeout = 0;
       }},
      {{"-o", "threads=16"}, [](MountOptions* m) { m->threads = 16; }},
      {{"-o", "max_value_size=64M"}, [](MountOptions* m) { m->max_value_size = 64ull << 20; }},
      {{"-o", "nometa"}, [](MountOptions* m) { m->nometa = true; }},
      {{"-o", "log_level=warn,log_file=/var/log/rocksfs.log"},
       [](MountOptions* m) {
         m->log_level = "warn";
         m->log_file = "/var/log/rocksfs.log";
       }},
      {{"-f"}, [](MountOptions* m) { m->foreground = true; }},
      {{"-d"},
       [](MountOptions* m) {
         m->debug = true;
         m->foreground = true;
         m->log_level = "debug";
       }},
      {{"-o", "allow_other,default_permissions,auto_unmount,fsname=mydb,subtype=rocksfs"},
       [](MountOptions* m) {
         m->fuse_options = {"allow_other", "default_permissions", "auto_unmount", "fsname=mydb",
                            "subtype=rocksfs"};
       }},
      {{"-o", "allow_root,kernel_cache,max_read=131072,blksize=4096"},
       [](MountOptions* m) {
         m->fuse_options = {"allow_root", "kernel_cache", "max_read=131072", "blksize=4096"};
       }},
      {{"-o", "nodev,nosuid,noexec,noatime,nodiratime"},
       [](MountOptions* m) {
         m->fuse_options = {"nodev", "nosuid", "noexec", "noatime", "nodiratime"};
       }},
      {{"-o", "dev,suid,exec,atime,relatime,strictatime"},
       [](MountOptions* m) {
         m->fuse_options = {"dev", "suid", "exec", "atime", "relatime", "strictatime"};
       }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"DB", "MNT"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    SCOPED_TRACE(::testing::PrintToString(args));
    Parsed parsed = Parse(args);
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    MountOptions want = Defaults();
    c.expect(&want);
    ExpectSameOptions(want, parsed.options);
  }
}

TEST(MountOptions, LongFormEqualsDashO) {
  const char* options[] = {
      "create",
      "ro",
      "rw",
      "secondary",
      "catchup_ms=5",
      "cf=users",
      "delimiter=:",
      "db_options=a=1;b=2",
      "cf_options=num_levels=4",
      "options_file=OPTIONS",
      "snapshot=s1",
      "ttl=60",
      "sync",
      "commit=30",
      "writeback_cache",
      "uid=7",
      "gid=8",
      "file_mode=640",
      "dir_mode=750",
      "attr_timeout=1.5",
      "entry_timeout=2",
      "threads=2",
      "max_value_size=1GiB",
      "nometa",
      "log_level=trace",
      "log_file=/tmp/log",
      "allow_other",
      "fsname=x",
      "noatime",
      "defaults",
      "user=alice",
      "comment=systemd.automount",
  };
  for (const char* option : options) {
    SCOPED_TRACE(option);
    Parsed dash_o = Parse({"DB", "MNT", "-o", option});
    Parsed long_form = Parse({"DB", "MNT", std::string("--") + option});
    ASSERT_EQ(dash_o.status, 0) << dash_o.error;
    ASSERT_EQ(long_form.status, 0) << long_form.error;
    ExpectSameOptions(dash_o.options, long_form.options);
  }
  // A separate value works for the long form too.
  Parsed separate = Parse({"--threads", "9", "DB", "MNT"});
  ASSERT_EQ(separate.status, 0) << separate.error;
  EXPECT_EQ(separate.options.threads, 9u);
}

TEST(MountOptions, AcceptsMountHelperInvocation) {
  // What `mount -t fuse.rocksfs DB MNT -o noatime,allow_other` runs.
  Parsed parsed = Parse({"DB", "MNT", "-o", "rw,noatime,allow_other", "-n"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  MountOptions want = Defaults();
  want.fuse_options = {"noatime", "allow_other"};
  ExpectSameOptions(want, parsed.options);

  // Flags before the positionals, -s -v, and "-oOPTS" glued.
  parsed = Parse({"-n", "-v", "DB", "-ofsname=db", "MNT", "-s"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  want.fuse_options = {"fsname=db"};
  ExpectSameOptions(want, parsed.options);
}

TEST(MountOptions, DropsFstabBookkeeping) {
  Parsed parsed = Parse({"DB", "MNT", "-o",
                         "defaults,auto,noauto,user,user=alice,nouser,users,owner,group,_netdev,"
                         "nofail,async,x-systemd.automount,x-systemd.idle-timeout=60,"
                         "comment=x-gvfs-show"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  ExpectSameOptions(Defaults(), parsed.options);
  EXPECT_EQ(Parse({"DB", "MNT", "--x-systemd.automount"}).status, 0);
}

TEST(MountOptions, RejectsBadInputWithOneLineNamingIt) {
  struct Case {
    std::vector<std::string> args;
    std::string message;  // a substring of the error
  };
  const Case cases[] = {
      {{"DB", "MNT", "-o", "frobnicate"}, "unknown option 'frobnicate'"},
      {{"DB", "MNT", "-o", "frobnicate=3"}, "unknown option 'frobnicate'"},
      {{"DB", "MNT", "--frobnicate"}, "unknown option 'frobnicate'"},
      {{"DB", "MNT", "-o", "loop"}, "unknown option 'loop'"},
      {{"DB", "MNT", "-q"}, "unknown flag '-q'"},
      {{"DB", "MNT", "extra"}, "unexpected argument 'extra'"},
      {{}, "missing DB_PATH"},
      {{"DB"}, "missing MOUNTPOINT"},
      {{"-o", "ro", "DB"}, "missing MOUNTPOINT"},
      {{"", "MNT"}, "empty DB_PATH"},
      {{"DB", ""}, "empty MOUNTPOINT"},
      {{"DB", "MNT", "-o"}, "missing value for -o"},
      {{"DB", "MNT", "--threads"}, "missing value for threads"},
      {{"DB", "MNT", "-o", "threads"}, "missing value for threads"},
      {{"DB", "MNT", "-o", "ro=1"}, "option 'ro' takes no value"},
      {{"DB", "MNT", "--ro=false"}, "option 'ro' takes no value"},
      {{"DB", "MNT", "-o", "=x"}, "empty option name in '=x'"},
      {{"DB", "MNT", "-o", "threads=abc"}, "bad value for threads: 'abc' (expected 1..64)"},
      {{"DB", "MNT", "-o", "threads=0"}, "bad value for threads: '0'"},
      {{"DB", "MNT", "-o", "threads=65"}, "bad value for threads: '65'"},
      {{"DB", "MNT", "-o", "threads=-1"}, "bad value for threads: '-1'"},
      {{"DB", "MNT", "-o", "threads= 4"}, "bad value for threads: ' 4'"},
      {{"DB", "MNT", "--threads="}, "bad value for threads: ''"},
      {{"DB", "MNT", "-o", "catchup_ms=0"}, "bad value for catchup_ms: '0'"},
      {{"DB", "MNT", "-o", "catchup_ms=4294967296"}, "bad value for catchup_ms: '4294967296'"},
      {{"DB", "MNT", "-o", "cf="}, "bad value for cf: ''"},
      {{"DB", "MNT", "-o", "delimiter=::"}, "delimiter must be one byte or 0xNN: '::'"},
      {{"DB", "MNT", "-o", "delimiter="}, "delimiter must be one byte or 0xNN: ''"},
      {{"DB", "MNT", "-o", "delimiter=0x4"}, "delimiter must be one byte or 0xNN: '0x4'"},
      {{"DB", "MNT", "-o", "delimiter=0xZZ"}, "delimiter must be one byte or 0xNN: '0xZZ'"},
      {{"DB", "MNT", "-o", "delimiter=%"}, "delimiter cannot be '%'"},
      {{"DB", "MNT", "-o", "delimiter=0x25"}, "delimiter cannot be '%'"},
      {{"DB", "MNT", "-o", "ttl=1h"}, "bad value for ttl: '1h'"},
      {{"DB", "MNT", "-o", "ttl=2147483648"}, "bad value for ttl: '2147483648'"},
      {{"DB", "MNT", "-o", "commit=-1"}, "bad value for commit: '-1'"},
      {{"DB", "MNT", "-o", "commit=soon"}, "bad value for commit: 'soon'"},
      {{"DB", "MNT", "-o", "uid=root"}, "bad value for uid: 'root'"},
      {{"DB", "MNT", "-o", "uid=4294967295"}, "bad value for uid: '4294967295'"},
      {{"DB", "MNT", "-o", "gid=-1"}, "bad value for gid: '-1'"},
      {{"DB", "MNT", "-o", "file_mode=0644x"}, "bad value for file_mode: '0644x'"},
      {{"DB", "MNT", "-o", "file_mode=888"}, "bad value for file_mode: '888'"},
      {{"DB", "MNT", "-o", "dir_mode=17777"}, "bad value for dir_mode: '17777'"},
      {{"DB", "MNT", "-o", "dir_mode=0x1ed"}, "bad value for dir_mode: '0x1ed'"},
      {{"DB", "MNT", "-o", "attr_timeout=-1"}, "bad value for attr_timeout: '-1'"},
      {{"DB", "MNT", "-o", "attr_timeout=inf"}, "bad value for attr_timeout: 'inf'"},
      {{"DB", "MNT", "-o", "entry_timeout=1e3"}, "bad value for entry_timeout: '1e3'"},
      {{"DB", "MNT", "-o", "entry_timeout=1.2.3"}, "bad value for entry_timeout: '1.2.3'"},
      {{"DB", "MNT", "-o", "entry_timeout=."}, "bad value for entry_timeout: '.'"},
      {{"DB", "MNT", "-o", "max_value_size=0"}, "bad value for max_value_size: '0'"},
      {{"DB", "MNT", "-o", "max_value_size=4G"}, "bad value for max_value_size: '4G'"},
      {{"DB", "MNT", "-o", "max_value_size=4294967296"},
       "bad value for max_value_size: '4294967296'"},
      {{"DB", "MNT", "-o", "max_value_size=10T"}, "bad value for max_value_size: '10T'"},
      {{"DB", "MNT", "-o", "max_value_size=M"}, "bad value for max_value_size: 'M'"},
      {{"DB", "MNT", "-o", "max_value_size=99999999999999999999K"},
       "bad value for max_value_size: '99999999999999999999K'"},
      {{"DB", "MNT", "-o", "log_level=verbose"}, "bad value for log_level: 'verbose'"},
      {{"DB", "MNT", "-o", "max_read=big"}, "bad value for max_read: 'big'"},
      {{"DB", "MNT", "-o", "fsname="}, "bad value for fsname: ''"},
      {{"DB", "MNT", "--log_file=a\nb", "--threads=x\ny"}, "bad value for threads: 'x\\x0Ay'"},
      {{"DB", "MNT", "-o", "create,ro"}, "create needs a writable mount; drop ro"},
      {{"DB", "MNT", "-o", "ro", "--create"}, "create needs a writable mount; drop ro"},
      {{"DB", "MNT", "-o", "create,secondary"}, "create and secondary conflict"},
      {{"DB", "MNT", "-o", "create,snapshot=s1"}, "create and snapshot=s1 conflict"},
      {{"DB", "MNT", "-o", "secondary,snapshot=s1"}, "secondary and snapshot=s1 conflict"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    Parsed parsed = Parse(c.args);
    EXPECT_EQ(parsed.status, 2);
    EXPECT_FALSE(parsed.help_shown);
    EXPECT_NE(parsed.error.find(c.message), std::string::npos) << parsed.error;
    EXPECT_EQ(parsed.error.find('\n'), std::string::npos) << parsed.error;
  }
}

TEST(MountOptions, LeavesOutputAloneOnError) {
  MountOptions options;
  options.db_path = "untouched";
  std::string error;
  bool help_shown = true;
  const char* argv[] = {"mount.rocksfs", "DB", "MNT", "-o", "threads=0", nullptr};
  EXPECT_EQ(ParseMountArgs(5, argv, &options, &error, &help_shown), 2);
  EXPECT_EQ(options.db_path, "untouched");
  EXPECT_FALSE(help_shown);
}

TEST(MountOptions, SloppyIgnoresUnknownOptions) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-s", "DB", "MNT", "-o", "frobnicate,ro,loop=/dev/x"},
           {"DB", "MNT", "-o", "frobnicate,ro,loop=/dev/x", "-s"},
           {"DB", "MNT", "-o", "ro", "--frobnicate=1", "-s"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Parsed parsed = Parse(args);
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_TRUE(parsed.options.read_only);
    EXPECT_EQ(parsed.options.fuse_options, std::vector<std::string>{"ro"});
  }
}

TEST(MountOptions, SloppyStillRejectsBadValuesAndConflicts) {
  EXPECT_EQ(Parse({"-s", "DB", "MNT", "-o", "threads=0"}).status, 2);
  EXPECT_EQ(Parse({"-s", "DB", "MNT", "-o", "ro=1"}).status, 2);
  EXPECT_EQ(Parse({"-s", "DB", "MNT", "-o", "create,ro"}).status, 2);
  EXPECT_EQ(Parse({"-s", "DB", "MNT", "extra"}).status, 2);
}

TEST(MountOptions, LaterOptionWins) {
  struct Case {
    std::vector<std::string> args;  // after "DB MNT"
    unsigned threads;
  };
  const Case cases[] = {
      {{"-o", "threads=2", "-o", "threads=8"}, 8},
      {{"-o", "threads=2,threads=3"}, 3},
      {{"--threads=2", "-o", "threads=3"}, 3},
      {{"-o", "threads=3", "--threads=2"}, 2},
      {{"-o", "threads=3", "--threads", "5", "-o", "threads=6"}, 6},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"DB", "MNT"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    SCOPED_TRACE(::testing::PrintToString(args));
    Parsed parsed = Parse(args);
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_EQ(parsed.options.threads, c.threads);
  }
}

TEST(MountOptions, RwCancelsEarlierRo) {
  Parsed parsed = Parse({"DB", "MNT", "-o", "ro,allow_other", "-o", "rw"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_FALSE(parsed.options.read_only);
  EXPECT_EQ(parsed.options.fuse_options, std::vector<std::string>{"allow_other"});

  // mount(8) puts rw first; a later ro wins, and ro is forwarded once.
  parsed = Parse({"DB", "MNT", "-o", "rw,ro,ro"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_TRUE(parsed.options.read_only);
  EXPECT_EQ(parsed.options.fuse_options, std::vector<std::string>{"ro"});

  // create is fine once ro is cancelled.
  EXPECT_EQ(Parse({"DB", "MNT", "-o", "ro,rw,create"}).status, 0);
}

TEST(MountOptions, SecondaryAndSnapshotStayReadOnlyDespiteRw) {
  for (const char* option : {"secondary", "snapshot=s1"}) {
    SCOPED_TRACE(option);
    Parsed parsed = Parse({"DB", "MNT", "-o", std::string("rw,") + option + ",rw"});
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_TRUE(parsed.options.read_only);
    EXPECT_EQ(parsed.options.fuse_options, std::vector<std::string>{"ro"});
  }
}

TEST(MountOptions, MaxValueSizeAcceptsSuffixes) {
  struct Case {
    const char* value;
    uint64_t bytes;
  };
  const Case cases[] = {
      {"1", 1},
      {"65536", 65536},
      {"4K", 4096},
      {"4KiB", 4096},
      {"64M", 64ull << 20},
      {"64MiB", 64ull << 20},
      {"1G", 1ull << 30},
      {"3GiB", 3ull << 30},
      {"4294967295", (4ull << 30) - 1},
      {"4194303K", 4194303ull << 10},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    Parsed parsed = Parse({"DB", "MNT", "-o", std::string("max_value_size=") + c.value});
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_EQ(parsed.options.max_value_size, c.bytes);
  }
}

TEST(MountOptions, DelimiterIsOneByteOrHex) {
  struct Case {
    std::vector<std::string> args;  // after "DB MNT"
    char delimiter;
  };
  const Case cases[] = {
      {{"-o", "delimiter=:"}, ':'},       {{"-o", "delimiter=="}, '='},
      {{"-o", "delimiter=0x3A"}, ':'},    {{"-o", "delimiter=0x3a"}, ':'},
      {{"-o", "delimiter=0X09"}, '\t'},   {{"-o", "delimiter=0x00"}, '\0'},
      {{"-o", "delimiter=0xff"}, '\xff'}, {{"-o", "delimiter=0x2C"}, ','},
      {{"-o", "delimiter=\\,"}, ','},     {{"--delimiter=,"}, ','},
      {{"-o", "delimiter=0"}, '0'},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    std::vector<std::string> args = {"DB", "MNT"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Parsed parsed = Parse(args);
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_EQ(parsed.options.delimiter, c.delimiter);
  }
}

TEST(MountOptions, ValueKeepsEverythingAfterTheFirstEquals) {
  Parsed parsed =
      Parse({"DB", "MNT", "-o", "db_options=a=1;b={c=2;d=3},cf_options=x=\\,y\\\\z,fsname=a\\,b"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_EQ(parsed.options.db_options, "a=1;b={c=2;d=3}");
  EXPECT_EQ(parsed.options.cf_options, "x=,y\\z");
  EXPECT_EQ(parsed.options.fuse_options, std::vector<std::string>{"fsname=a,b"});

  // The long form takes its value literally, commas included.
  parsed = Parse({"DB", "MNT", "--db_options=a=1,b=2"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_EQ(parsed.options.db_options, "a=1,b=2");
}

TEST(MountOptions, EmptyItemsAndEmptyValuesAreFine) {
  Parsed parsed = Parse({"DB", "MNT", "-o", ",ro,,", "-o", "", "-o", "snapshot=s,snapshot="});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_TRUE(parsed.options.read_only);
  EXPECT_EQ(parsed.options.snapshot, "");
}

TEST(MountOptions, EmptyLongValueDoesNotSwallowNextArgument) {
  Parsed parsed = Parse({"--log_file=", "DB", "MNT"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_EQ(parsed.options.db_path, "DB");
  EXPECT_EQ(parsed.options.mountpoint, "MNT");
  EXPECT_EQ(parsed.options.log_file, "");
}

TEST(MountOptions, DoubleDashAllowsDashedPaths) {
  Parsed parsed = Parse({"-o", "ro", "--", "-db", "-mnt"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_EQ(parsed.options.db_path, "-db");
  EXPECT_EQ(parsed.options.mountpoint, "-mnt");
  EXPECT_TRUE(parsed.options.read_only);
}

TEST(MountOptions, DebugImpliesForegroundAndDebugLogsUnlessLevelGiven) {
  Parsed parsed = Parse({"DB", "MNT", "-d"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_TRUE(parsed.options.debug);
  EXPECT_TRUE(parsed.options.foreground);
  EXPECT_EQ(parsed.options.log_level, "debug");

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"DB", "MNT", "-d", "-o", "log_level=trace"},
           {"DB", "MNT", "-o", "log_level=trace", "-d"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    parsed = Parse(args);
    ASSERT_EQ(parsed.status, 0) << parsed.error;
    EXPECT_TRUE(parsed.options.foreground);
    EXPECT_EQ(parsed.options.log_level, "trace");
  }

  parsed = Parse({"DB", "MNT", "-fd"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_TRUE(parsed.options.debug);
  EXPECT_TRUE(parsed.options.foreground);
}

TEST(MountOptions, HelpListsEveryOption) {
  for (const char* flag : {"-h", "--help"}) {
    SCOPED_TRACE(flag);
    // Help wins even over otherwise bad arguments.
    Parsed parsed = Parse({flag, "-o", "frobnicate"});
    EXPECT_EQ(parsed.status, 0);
    EXPECT_TRUE(parsed.help_shown);
    const std::string& help = parsed.error;
    EXPECT_NE(help.find("Usage: mount.rocksfs DB_PATH MOUNTPOINT"), std::string::npos);
    for (const char* name : {"create",
                             "ro",
                             "rw",
                             "secondary",
                             "catchup_ms=",
                             "cf=",
                             "delimiter=",
                             "db_options=",
                             "cf_options=",
                             "options_file=",
                             "snapshot=",
                             "ttl=",
                             "sync",
                             "commit=",
                             "writeback_cache",
                             "uid=",
                             "gid=",
                             "file_mode=",
                             "dir_mode=",
                             "attr_timeout=",
                             "entry_timeout=",
                             "threads=",
                             "max_value_size=",
                             "nometa",
                             "prefix=",
                             "timeout=",
                             "log_level=",
                             "log_file=",
                             "allow_other",
                             "default_permissions",
                             "fsname=",
                             "noatime",
                             "_netdev",
                             "x-",
                             "-o OPT",
                             "-f ",
                             "-d ",
                             "-s ",
                             "-n"}) {
      EXPECT_NE(help.find(name), std::string::npos) << name;
    }
    for (size_t start = 0; start < help.size();) {
      size_t end = std::min(help.find('\n', start), help.size());
      EXPECT_LE(end - start, 80u) << help.substr(start, end - start);
      start = end + 1;
    }
  }
}

TEST(MountOptions, ToleratesNullErrorAndHelpPointers) {
  MountOptions options;
  const char* argv[] = {"mount.rocksfs", "DB", "MNT", nullptr};
  EXPECT_EQ(ParseMountArgs(3, argv, &options, nullptr, nullptr), 0);
  EXPECT_EQ(options.mountpoint, "MNT");
  const char* bad[] = {"mount.rocksfs", nullptr};
  EXPECT_EQ(ParseMountArgs(1, bad, &options, nullptr, nullptr), 2);
}

// Found by tests/fuzz/fuzz_mount_options.cc: a snapshot name holding a
// newline made the conflict message two lines.
TEST(MountOptions, ConflictMessagesStayOneLineWhateverTheSnapshotName) {
  for (const char* conflict : {"create", "secondary"}) {
    Parsed parsed = Parse({"DB", "MNT", "-o", std::string(conflict) + ",snapshot=a\nb\rc"});
    EXPECT_NE(parsed.status, 0);
    EXPECT_EQ(parsed.error.find('\n'), std::string::npos) << parsed.error;
    EXPECT_EQ(parsed.error.find('\r'), std::string::npos) << parsed.error;
    EXPECT_NE(parsed.error.find("snapshot=a\\x0Ab\\x0Dc conflict"), std::string::npos)
        << parsed.error;
  }
}

}  // namespace
}  // namespace rocksfs::fs

namespace rocksfs::fs {
namespace {

TEST(MountOptions, ClusterSourcesTakeAPrefixAndATimeout) {
  Parsed parsed =
      Parse({"etcd://127.0.0.1:2379", "MNT", "-o", "prefix=app/,timeout=2.5,ro", "--ttl=30"});
  ASSERT_EQ(parsed.status, 0) << parsed.error;
  EXPECT_EQ(parsed.options.db_path, "etcd://127.0.0.1:2379");
  EXPECT_EQ(parsed.options.prefix, "app/");
  EXPECT_EQ(parsed.options.cluster_timeout, 2.5);
  EXPECT_TRUE(parsed.options.read_only);
  EXPECT_EQ(parsed.options.ttl_seconds, 30u);  // etcd leases
  EXPECT_EQ(parsed.options.given, (std::vector<std::string>{"prefix", "timeout", "ro", "ttl"}));
}

TEST(MountOptions, ClusterSourcesRefuseTheEmbeddedEnginesOptions) {
  struct Case {
    std::vector<std::string> args;
    const char* message_part;
  };
  const Case cases[] = {
      {{"etcd://h:1", "MNT"}, "missing -o prefix=P"},
      {{"etcd://h:1", "MNT", "-o", "prefix="}, "missing -o prefix=P"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,timeout=0"}, "timeout=0"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,db_options=a=b"}, "'db_options' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,cf_options=a=b"}, "'cf_options' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,options_file=/x"}, "'options_file' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,secondary"}, "'secondary' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,catchup_ms=5"}, "'catchup_ms' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,create"}, "'create' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p", "--db_options=x=1"}, "'db_options' is for RocksDB"},
      {{"etcd://h:1", "MNT", "-o", "prefix=p,snapshot=s"}, "'snapshot' is for RocksDB"},
      {{"DB", "MNT", "-o", "prefix=p"}, "'prefix' is for etcd:// sources"},
      {{"DB", "MNT", "--timeout=3"}, "'timeout' is for etcd:// sources"},
  };
  for (const Case& c : cases) {
    Parsed parsed = Parse(c.args);
    SCOPED_TRACE(parsed.error);
    EXPECT_NE(parsed.status, 0);
    EXPECT_NE(parsed.error.find(c.message_part), std::string::npos);
    EXPECT_EQ(parsed.error.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace rocksfs::fs
