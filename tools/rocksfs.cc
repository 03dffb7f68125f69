// rocksfs: the admin tool. CLI11 wiring only; each subcommand is a function
// of tools/rocksfs_commands.h over the kv/ and fs/ libraries.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/rocksfs_commands.h"
#include "tools/version.h"

namespace {

using namespace rocksfs::tools;

constexpr const char* kReadOnlyNote =
    "On a database that is mounted read-write (or otherwise open for writing),\n"
    "this command opens it read-only: it sees every write the mount had\n"
    "committed when the command started (RocksDB replays the write-ahead log,\n"
    "flushed or not), and none made afterwards.\n";

void AddLoad(CLI::App& app, LoadCommand& c, int& result) {
  CLI::App* sub = app.add_subcommand("load", "Bulk-import a directory tree or a key/value stream");
  sub->add_option("DB", c.db, "database directory")->required();
  sub->add_option("SOURCE", c.source,
                  "a directory tree, or a tsv/ndjson/sst file ('-': standard input)")
      ->required();
  sub->add_option("--cf", c.column_family, "column family to load into (default: default)");
  sub->add_option("--format", c.format,
                  "tree, tsv, ndjson or sst (default: tree for a directory, else from the "
                  "file's extension)");
  sub->add_option("-j,--jobs", c.jobs, "threads that sort and write table files (default: cores)");
  sub->add_flag("--compact", c.compact, "compact the column family after loading");
  sub->add_flag("--create", c.create, "create the database and the column family if missing");
  sub->add_option("--delimiter", c.delimiter, "tree: the byte keys are split on (default: /)");
  sub->add_option("--ttl", c.ttl_seconds,
                  "the database uses TTL (mounted with -o ttl=SECONDS): open it so")
      ->check(CLI::Range(1, INT32_MAX));
  sub->add_option("--run-size", c.run_mib,
                  "MiB of input sorted per run (memory: about (jobs+1) runs; default 64)");
  sub->footer(
      "Each file of a tree becomes one key: its path below SOURCE, names decoded as a\n"
      "mount shows them (so a tree copied out of a mount loads back into the same keys).\n"
      "tsv: KEY<TAB>VALUE per line, escapes \\\\ \\t \\n \\r \\0 \\xHH in both fields.\n"
      "ndjson: {\"key\": \"...\", \"value\": \"...\"} per line (or key_b64/value_b64 in base64).\n"
      "Duplicate keys: the last record wins. Bad input: an error naming the line, and\n"
      "nothing is loaded. A mounted database is refused: copy files into the mount.\n"
      "\n"
      "Examples:\n"
      "  rocksfs load --create /srv/db ./tree\n"
      "  rocksfs load /srv/db data.tsv --compact\n"
      "  zcat dump.ndjson.gz | rocksfs load /srv/db - --format ndjson --cf users\n");
  sub->callback([&] { result = RunLoad(c); });
}

void AddDump(CLI::App& app, DumpCommand& c, int& result) {
  CLI::App* sub = app.add_subcommand("dump", "Write a database (or a prefix, or a snapshot) out");
  sub->add_option("DB", c.db, "database directory")->required();
  sub->add_option("DEST", c.dest, "a new directory (tree), or a file ('-': standard output)")
      ->required();
  sub->add_option("--prefix", c.prefix, "only keys that start with this");
  sub->add_option("--cf", c.column_family, "column family (default: default)");
  sub->add_option("--snapshot", c.snapshot, "dump the stored snapshot NAME instead");
  sub->add_option("--format", c.format,
                  "tree, tsv, ndjson or sst (default: from DEST's extension, else tree)");
  sub->add_option("--delimiter", c.delimiter, "tree: the byte keys are split on (default: /)");
  sub->add_option("--ttl", c.ttl_seconds, "the database uses TTL: open it so (strips timestamps)")
      ->check(CLI::Range(1, INT32_MAX));
  sub->add_option("--etcd-prefix", c.etcd_prefix,
                  "DB is etcd://HOST:PORT,...: the key prefix of the mount (its prefix=)");
  sub->footer(std::string(
                  "tree: files named as a mount shows them (a key that is also a directory is\n"
                  "NAME%{@}); `rocksfs load` of any dump reproduces the keys and values exactly\n"
                  "(trees: except keys with components longer than 255 bytes).\n") +
              kReadOnlyNote +
              "\n"
              "Examples:\n"
              "  rocksfs dump /srv/db ./tree\n"
              "  rocksfs dump /srv/db - --format tsv --prefix user/\n"
              "  rocksfs dump /srv/db backup.sst --snapshot nightly\n");
  sub->callback([&] { result = RunDump(c); });
}

void AddSnapshot(CLI::App& app, SnapshotCommand& c, int& result) {
  CLI::App* sub = app.add_subcommand("snapshot", "Create, list or delete stored snapshots");
  sub->require_subcommand(1);
  sub->footer(
      "A snapshot is a RocksDB checkpoint in DB/.rocksfs/snapshots/NAME, shown by mounts\n"
      "as /.rocksfs/snapshots/NAME. Examples:\n"
      "  rocksfs snapshot create /srv/db before-upgrade\n"
      "  rocksfs snapshot list /srv/db\n"
      "  rocksfs snapshot delete /srv/db before-upgrade\n");

  CLI::App* create = sub->add_subcommand("create", "Take snapshot NAME of the whole database");
  create->add_option("DB", c.db, "database directory")->required();
  create->add_option("NAME", c.name, "snapshot name")->required();
  create->footer(
      "On a mounted database, take the snapshot through the mount instead:\n"
      "  mkdir MOUNTPOINT/.rocksfs/snapshots/NAME\n"
      "Example:\n  rocksfs snapshot create /srv/db before-upgrade\n");
  create->callback([&] { result = RunSnapshotCreate(c); });

  CLI::App* list = sub->add_subcommand("list", "List the snapshots: name and creation time");
  list->add_option("DB", c.db, "database directory")->required();
  list->add_flag("--json", c.json, "JSON output");
  list->footer("Works on mounted databases too. Example:\n  rocksfs snapshot list /srv/db\n");
  list->callback([&] { result = RunSnapshotList(c); });

  CLI::App* remove = sub->add_subcommand("delete", "Delete snapshot NAME");
  remove->add_option("DB", c.db, "database directory")->required();
  remove->add_option("NAME", c.name, "snapshot name")->required();
  remove->footer("Example:\n  rocksfs snapshot delete /srv/db before-upgrade\n");
  remove->callback([&] { result = RunSnapshotDelete(c); });
}

void AddBackup(CLI::App& app, BackupCommand& c, int& result) {
  CLI::App* sub = app.add_subcommand("backup", "Incremental backups (RocksDB BackupEngine)");
  sub->require_subcommand(1);
  sub->footer(
      "Examples:\n"
      "  rocksfs backup create /srv/db /backups/db\n"
      "  rocksfs backup list /backups/db\n"
      "  rocksfs backup restore /backups/db /srv/db-restored --id 3\n"
      "  rocksfs backup purge /backups/db --keep 7\n");

  CLI::App* create = sub->add_subcommand("create", "Add a backup of DB to BACKUP_DIR");
  create->add_option("DB", c.db, "database directory")->required();
  create->add_option("BACKUP_DIR", c.backup_dir, "backup directory (created if missing)")
      ->required();
  create->footer(std::string("Backups cover every column family, not stored snapshots.\n") +
                 kReadOnlyNote + "Example:\n  rocksfs backup create /srv/db /backups/db\n");
  create->callback([&] { result = RunBackupCreate(c); });

  CLI::App* list = sub->add_subcommand("list", "List the backups in BACKUP_DIR");
  list->add_option("BACKUP_DIR", c.backup_dir, "backup directory")->required();
  list->footer("Example:\n  rocksfs backup list /backups/db\n");
  list->callback([&] { result = RunBackupList(c); });

  CLI::App* restore = sub->add_subcommand("restore", "Restore a backup into TARGET");
  restore->add_option("BACKUP_DIR", c.backup_dir, "backup directory")->required();
  restore->add_option("TARGET", c.target, "database directory to restore into")->required();
  restore->add_option("--id", c.id, "backup id (default: the latest)")->check(CLI::PositiveNumber);
  restore->add_flag("--force", c.force,
                    "restore into a non-empty TARGET, replacing the database there");
  restore->footer(
      "TARGET must be empty or missing unless --force; a TARGET in use is always refused.\n"
      "Example:\n  rocksfs backup restore /backups/db /srv/db-restored\n");
  restore->callback([&] { result = RunBackupRestore(c); });

  CLI::App* purge = sub->add_subcommand("purge", "Delete all but the newest N backups");
  purge->add_option("BACKUP_DIR", c.backup_dir, "backup directory")->required();
  purge->add_option("--keep", c.keep, "how many of the newest backups to keep")->required();
  purge->footer("Example:\n  rocksfs backup purge /backups/db --keep 7\n");
  purge->callback([&] { result = RunBackupPurge(c); });
}

void AddStat(CLI::App& app, StatCommand& c, int& result) {
  CLI::App* sub = app.add_subcommand(
      "stat", "Keys (estimated), sizes, column families, snapshots, RocksDB statistics");
  sub->add_option("DB", c.db, "database directory")->required();
  sub->add_flag("--json", c.json, "JSON output (without RocksDB's statistics text)");
  sub->add_option("--etcd-prefix", c.etcd_prefix,
                  "DB is etcd://HOST:PORT,...: the key prefix of the mount (its prefix=)");
  sub->footer(std::string(kReadOnlyNote) + "Example:\n  rocksfs stat /srv/db\n");
  sub->callback([&] { result = RunStat(c); });
}

// --help-all: the help of the tool, then of each command under it (depth
// first), in a layout that help2man turns into the manual page rocksfs(1) at
// build time, so the page lists every command and option the parser has:
//   - "*Commands*" starts a COMMANDS section (help2man's custom section line);
//   - each command is a "rocksfs load [OPTIONS] DB SOURCE:" line over its
//     indented description (a subsection), then its arguments, options and
//     commands as "  NAME  description" lines, then its footer;
//   - footer lines indented by two spaces are commands to type and get a
//     "$ " prompt (help2man sets them verbatim); "Example(s):" lines alone
//     are dropped, since a lone "Examples:" would start a man page section.
std::string ExamplesWithPrompts(const std::string& footer) {
  std::string text;
  size_t begin = 0;
  while (begin < footer.size()) {
    size_t end = footer.find('\n', begin);
    if (end == std::string::npos) end = footer.size();
    std::string line = footer.substr(begin, end - begin);
    begin = end + 1;
    if (line == "Example:" || line == "Examples:") continue;
    if (line.size() > 2 && line.starts_with("  ") && line[2] != ' ') line.insert(2, "$ ");
    text += line + "\n";
  }
  return text;
}

// `section` without its heading lines ("Options:", "Positionals:", ...).
std::string WithoutHeadings(const std::string& section) {
  std::string text;
  size_t begin = 0;
  while (begin < section.size()) {
    size_t end = section.find('\n', begin);
    if (end == std::string::npos) end = section.size();
    std::string line = section.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty() || (line[0] != ' ' && line.ends_with(":"))) continue;
    text += line + "\n";
  }
  return text;
}

std::string FullHelp(const CLI::App& app) {
  auto formatter = std::dynamic_pointer_cast<CLI::Formatter>(app.get_formatter());
  if (!formatter) return app.help();
  std::string text = app.get_description() + "\n" + formatter->make_usage(&app, app.get_name()) +
                     formatter->make_positionals(&app) +
                     formatter->make_groups(&app, CLI::AppFormatMode::Normal) +
                     formatter->make_subcommands(&app, CLI::AppFormatMode::Normal) + "\n" +
                     ExamplesWithPrompts(app.get_footer()) + "\n*Commands*\n";
  struct Item {
    const CLI::App* command;
    std::string parent;  // "rocksfs", "rocksfs snapshot"
  };
  std::vector<Item> pending;
  for (const CLI::App* command : app.get_subcommands({})) pending.push_back({command, app.get_name()});
  for (size_t i = 0; i < pending.size(); ++i) {
    const Item item = pending[i];
    const CLI::App* command = item.command;
    std::string name = item.parent + " " + command->get_name();
    std::string usage = formatter->make_usage(command, name);  // "Usage: NAME ...\n"
    usage = usage.substr(usage.find(' ') + 1);
    usage.pop_back();
    text += "\n" + usage + ":\n  " + command->get_description() + "\n\n" +
            WithoutHeadings(formatter->make_positionals(command) +
                            formatter->make_groups(command, CLI::AppFormatMode::Normal) +
                            formatter->make_subcommands(command, CLI::AppFormatMode::Normal)) +
            "\n" + ExamplesWithPrompts(command->get_footer());
    std::vector<Item> children;
    for (const CLI::App* child : command->get_subcommands({})) children.push_back({child, name});
    pending.insert(pending.begin() + i + 1, children.begin(), children.end());
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("rocksfs: administer a RocksDB database that rocksfs mounts", "rocksfs");
  app.require_subcommand(1);
  app.set_version_flag(
      "-V,--version", [] { return rocksfs::tools::VersionText("rocksfs"); },
      "Print the versions of rocksfs and RocksDB and exit");
  app.footer(
      "Run `rocksfs COMMAND --help` for a command's options and examples.\n"
      "Example:\n  rocksfs load --create /srv/db ./tree && mount.rocksfs /srv/db /mnt/kv\n");

  int result = 0;
  LoadCommand load;
  DumpCommand dump;
  SnapshotCommand snapshot;
  BackupCommand backup;
  StatCommand stat;
  AddLoad(app, load, result);
  AddDump(app, dump, result);
  AddSnapshot(app, snapshot, result);
  AddBackup(app, backup, result);
  AddStat(app, stat, result);
  // After the commands, so that only the top level has it.
  app.set_help_all_flag("--help-all", "Print the help of every command and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", FullHelp(app).c_str());
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s", e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    // --help (of the selected subcommand, which app.exit prints).
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string message = e.what();
    while (!message.empty() && message.back() == '\n') message.pop_back();
    std::fprintf(stderr, "rocksfs: %s (see rocksfs --help)\n", message.c_str());
    return 2;
  }
  return result;
}
