#include "fs/mount_options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace rocksfs::fs {
namespace {

constexpr int kUsageError = 2;
constexpr std::string_view kProgram = "mount.rocksfs";

enum class Arity {
  kFlag,           // "name" only
  kValue,          // "name=value" only
  kOptionalValue,  // either ("user", "user=alice")
};

enum class Group {
  kRocksfs,  // ours
  kFuse,     // forwarded in fuse_options
  kIgnored,  // mount(8)/fstab bookkeeping, meaningless to FUSE
};

struct ParseState {
  MountOptions options;
  bool ro_given = false;  // an `ro` not cleared by a later `rw`
  bool uid_given = false;
  bool gid_given = false;
  bool log_level_given = false;
  bool sloppy = false;
};

struct OptionSpec;
// Applies one option. `value` is empty for flags. Returns false and sets
// *error on a bad value.
using ApplyFunction = bool (*)(const OptionSpec& spec, std::string_view value, ParseState* state,
                               std::string* error);

struct OptionSpec {
  std::string_view name;
  Arity arity;
  Group group;
  std::string_view value_hint;  // for the help text, e.g. "N"
  std::string_view help;        // one line
  ApplyFunction apply;
};

// ---- Messages -------------------------------------------------------------

// `text` in single quotes, with control bytes escaped so messages stay on one
// line.
std::string Quote(std::string_view text) {
  std::string quoted = "'";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      quoted += hex;
    } else {
      quoted += static_cast<char>(c);
    }
  }
  quoted += '\'';
  return quoted;
}

// `text` with control bytes escaped as in Quote, without the quotes.
std::string Unquoted(std::string_view text) {
  std::string quoted = Quote(text);
  return quoted.substr(1, quoted.size() - 2);
}

bool BadValue(const OptionSpec& spec, std::string_view value, std::string_view expected,
              std::string* error) {
  *error = "bad value for " + std::string(spec.name) + ": " + Quote(value) + " (expected " +
           std::string(expected) + ")";
  return false;
}

// ---- Value parsers ----------------------------------------------------------

// Plain decimal digits (no sign, no spaces) in [min, max].
std::optional<uint64_t> ParseDecimal(std::string_view text, uint64_t min, uint64_t max) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// Non-negative decimal seconds: "3600", "0.5", ".25". No sign, exponent, inf or nan.
std::optional<double> ParseSeconds(std::string_view text) {
  size_t digits = 0, dots = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.') {
      ++dots;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || dots > 1) return std::nullopt;
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Bytes with an optional binary suffix: "65536", "64M", "1GiB".
std::optional<uint64_t> ParseSize(std::string_view text, uint64_t min, uint64_t max) {
  static constexpr std::pair<std::string_view, uint64_t> kSuffixes[] = {
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"K", 1ull << 10},   {"M", 1ull << 20},   {"G", 1ull << 30},
  };
  uint64_t multiplier = 1;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      multiplier = factor;
      break;
    }
  }
  std::optional<uint64_t> number = ParseDecimal(text, 0, UINT64_MAX / multiplier);
  if (!number) return std::nullopt;
  uint64_t bytes = *number * multiplier;
  if (bytes < min || bytes > max) return std::nullopt;
  return bytes;
}

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// ---- Apply functions -------------------------------------------------------

template <bool MountOptions::*kField>
bool SetTrue(const OptionSpec&, std::string_view, ParseState* state, std::string*) {
  state->options.*kField = true;
  return true;
}

template <std::string MountOptions::*kField>
bool SetString(const OptionSpec&, std::string_view value, ParseState* state, std::string*) {
  state->options.*kField = std::string(value);
  return true;
}

template <std::string MountOptions::*kField>
bool SetNonEmptyString(const OptionSpec& spec, std::string_view value, ParseState* state,
                       std::string* error) {
  if (value.empty()) return BadValue(spec, value, "a non-empty name", error);
  state->options.*kField = std::string(value);
  return true;
}

bool SetReadOnly(const OptionSpec&, std::string_view, ParseState* state, std::string*) {
  state->ro_given = true;
  state->options.read_only = true;
  std::vector<std::string>& fuse_options = state->options.fuse_options;
  if (std::find(fuse_options.begin(), fuse_options.end(), "ro") == fuse_options.end()) {
    fuse_options.emplace_back("ro");
  }
  return true;
}

bool SetReadWrite(const OptionSpec&, std::string_view, ParseState* state, std::string*) {
  state->ro_given = false;
  state->options.read_only = false;
  std::erase(state->options.fuse_options, "ro");
  return true;
}

bool SetCatchupMs(const OptionSpec& spec, std::string_view value, ParseState* state,
                  std::string* error) {
  auto ms = ParseDecimal(value, 1, UINT32_MAX);
  if (!ms) return BadValue(spec, value, "milliseconds, 1..4294967295", error);
  state->options.catchup_ms = static_cast<uint32_t>(*ms);
  return true;
}

bool SetDelimiter(const OptionSpec&, std::string_view value, ParseState* state,
                  std::string* error) {
  char delimiter;
  if (value.size() == 1) {
    delimiter = value[0];
  } else if (value.size() == 4 && (value.starts_with("0x") || value.starts_with("0X")) &&
             HexDigit(value[2]) && HexDigit(value[3])) {
    delimiter = static_cast<char>(*HexDigit(value[2]) * 16 + *HexDigit(value[3]));
  } else {
    *error = "delimiter must be one byte or 0xNN: " + Quote(value);
    return false;
  }
  if (delimiter == '%') {
    *error = "delimiter cannot be '%': it is the escape character in file names";
    return false;
  }
  state->options.delimiter = delimiter;
  return true;
}

bool SetTtl(const OptionSpec& spec, std::string_view value, ParseState* state, std::string* error) {
  // RocksDB's DBWithTTL takes an int32 ttl.
  auto seconds = ParseDecimal(value, 0, INT32_MAX);
  if (!seconds) return BadValue(spec, value, "seconds, 0..2147483647; 0 disables", error);
  state->options.ttl_seconds = *seconds;
  return true;
}

bool SetUid(const OptionSpec& spec, std::string_view value, ParseState* state, std::string* error) {
  // (uid_t)-1 means "no change" to chown(2); it is never a real owner.
  auto id = ParseDecimal(value, 0, UINT32_MAX - 1);
  if (!id) return BadValue(spec, value, "a numeric user id", error);
  state->options.uid = static_cast<uid_t>(*id);
  state->uid_given = true;
  return true;
}

bool SetGid(const OptionSpec& spec, std::string_view value, ParseState* state, std::string* error) {
  auto id = ParseDecimal(value, 0, UINT32_MAX - 1);
  if (!id) return BadValue(spec, value, "a numeric group id", error);
  state->options.gid = static_cast<gid_t>(*id);
  state->gid_given = true;
  return true;
}

template <mode_t MountOptions::*kField>
bool SetMode(const OptionSpec& spec, std::string_view value, ParseState* state,
             std::string* error) {
  unsigned mode = 0;
  bool octal = !value.empty() && value.size() <= 5 &&
               std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (octal) std::from_chars(value.data(), value.data() + value.size(), mode, 8);
  if (!octal || mode > 07777) return BadValue(spec, value, "octal permission bits, 0..7777", error);
  state->options.*kField = static_cast<mode_t>(mode);
  return true;
}

template <double MountOptions::*kField>
bool SetTimeout(const OptionSpec& spec, std::string_view value, ParseState* state,
                std::string* error) {
  auto seconds = ParseSeconds(value);
  if (!seconds) return BadValue(spec, value, "non-negative decimal seconds", error);
  state->options.*kField = *seconds;
  return true;
}

bool SetThreads(const OptionSpec& spec, std::string_view value, ParseState* state,
                std::string* error) {
  auto threads = ParseDecimal(value, 1, 64);
  if (!threads) return BadValue(spec, value, "1..64", error);
  state->options.threads = static_cast<unsigned>(*threads);
  return true;
}

bool SetMaxValueSize(const OptionSpec& spec, std::string_view value, ParseState* state,
                     std::string* error) {
  auto bytes = ParseSize(value, 1, (4ull << 30) - 1);
  if (!bytes) {
    return BadValue(spec, value, "1 byte to 4 GiB - 1, optional suffix K, M, G, KiB, MiB or GiB",
                    error);
  }
  state->options.max_value_size = *bytes;
  return true;
}

bool SetLogLevel(const OptionSpec& spec, std::string_view value, ParseState* state,
                 std::string* error) {
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), value) == std::end(kLevels)) {
    return BadValue(spec, value, "trace, debug, info, warn, error, critical or off", error);
  }
  state->options.log_level = std::string(value);
  state->log_level_given = true;
  return true;
}

bool ForwardFlag(const OptionSpec& spec, std::string_view, ParseState* state, std::string*) {
  state->options.fuse_options.emplace_back(spec.name);
  return true;
}

bool ForwardName(const OptionSpec& spec, std::string_view value, ParseState* state,
                 std::string* error) {
  if (value.empty()) return BadValue(spec, value, "a non-empty name", error);
  state->options.fuse_options.push_back(std::string(spec.name) + "=" + std::string(value));
  return true;
}

bool ForwardBytes(const OptionSpec& spec, std::string_view value, ParseState* state,
                  std::string* error) {
  if (!ParseDecimal(value, 1, UINT32_MAX)) return BadValue(spec, value, "a byte count", error);
  state->options.fuse_options.push_back(std::string(spec.name) + "=" + std::string(value));
  return true;
}

bool Ignore(const OptionSpec&, std::string_view, ParseState*, std::string*) { return true; }

// ---- The option table ------------------------------------------------------

// Every name accepted after -o, and as --name. The help text lists them in
// this order. "x-*" (fstab's x-systemd.* and friends) is matched by prefix.
constexpr OptionSpec kOptions[] = {
    // rocksfs
    {"create", Arity::kFlag, Group::kRocksfs, "", "create the database if it is missing",
     SetTrue<&MountOptions::create>},
    {"ro", Arity::kFlag, Group::kRocksfs, "", "read-only RocksDB open; writes fail with EROFS",
     SetReadOnly},
    {"rw", Arity::kFlag, Group::kRocksfs, "", "read-write (the default); cancels an earlier ro",
     SetReadWrite},
    {"secondary", Arity::kFlag, Group::kRocksfs, "",
     "follow a DB another process writes; read-only", SetTrue<&MountOptions::secondary>},
    {"catchup_ms", Arity::kValue, Group::kRocksfs, "N",
     "secondary: catch up every N ms (default 1000)", SetCatchupMs},
    {"cf", Arity::kValue, Group::kRocksfs, "NAME",
     "column family shown at the root (default \"default\")",
     SetNonEmptyString<&MountOptions::column_family>},
    {"delimiter", Arity::kValue, Group::kRocksfs, "C",
     "byte that splits keys into names, or 0xNN (default /)", SetDelimiter},
    {"db_options", Arity::kValue, Group::kRocksfs, "S", "RocksDB DBOptions string \"k=v;k=v\"",
     SetString<&MountOptions::db_options>},
    {"cf_options", Arity::kValue, Group::kRocksfs, "S",
     "RocksDB ColumnFamilyOptions string \"k=v;k=v\"", SetString<&MountOptions::cf_options>},
    {"options_file", Arity::kValue, Group::kRocksfs, "F", "RocksDB OPTIONS file to load",
     SetString<&MountOptions::options_file>},
    {"snapshot", Arity::kValue, Group::kRocksfs, "NAME",
     "mount the stored snapshot NAME; read-only", SetString<&MountOptions::snapshot>},
    {"ttl", Arity::kValue, Group::kRocksfs, "SECONDS",
     "values expire after SECONDS (RocksDB TTL; 0: never)", SetTtl},
    {"sync", Arity::kFlag, Group::kRocksfs, "", "every commit syncs the WAL, not only fsync",
     SetTrue<&MountOptions::sync>},
    {"commit", Arity::kValue, Group::kRocksfs, "SECONDS",
     "commit open files this often (default 5; 0: close)",
     SetTimeout<&MountOptions::commit_seconds>},
    {"writeback_cache", Arity::kFlag, Group::kRocksfs, "",
     "kernel writeback cache: fewer, larger writes",
     SetTrue<&MountOptions::writeback_cache>},
    {"uid", Arity::kValue, Group::kRocksfs, "N",
     "owner of keys without metadata (default: the caller)", SetUid},
    {"gid", Arity::kValue, Group::kRocksfs, "N",
     "group of keys without metadata (default: the caller's)", SetGid},
    {"file_mode", Arity::kValue, Group::kRocksfs, "OCTAL",
     "mode of files without metadata (default 644)", SetMode<&MountOptions::file_mode>},
    {"dir_mode", Arity::kValue, Group::kRocksfs, "OCTAL",
     "mode of directories without metadata (default 755)", SetMode<&MountOptions::dir_mode>},
    {"attr_timeout", Arity::kValue, Group::kRocksfs, "S",
     "seconds the kernel caches attributes (default 3600)",
     SetTimeout<&MountOptions::attr_timeout>},
    {"entry_timeout", Arity::kValue, Group::kRocksfs, "S",
     "seconds the kernel caches names (default 3600)", SetTimeout<&MountOptions::entry_timeout>},
    {"threads", Arity::kValue, Group::kRocksfs, "N", "FUSE worker threads, 1..64 (default 4)",
     SetThreads},
    {"max_value_size", Arity::kValue, Group::kRocksfs, "BYTES",
     "largest file, e.g. 64M or 1GiB (default 256M)", SetMaxValueSize},
    {"prefix", Arity::kValue, Group::kRocksfs, "P",
     "etcd: the key prefix mounted (required)", SetString<&MountOptions::prefix>},
    {"timeout", Arity::kValue, Group::kRocksfs, "SECONDS",
     "etcd: EIO after SECONDS with no answer (default 5)",
     SetTimeout<&MountOptions::cluster_timeout>},
    {"nometa", Arity::kFlag, Group::kRocksfs, "",
     "pure view: never create the metadata column family", SetTrue<&MountOptions::nometa>},
    {"log_level", Arity::kValue, Group::kRocksfs, "L",
     "trace|debug|info|warn|error|critical|off (info)", SetLogLevel},
    {"log_file", Arity::kValue, Group::kRocksfs, "F",
     "log to file F (default: stderr in the foreground)", SetString<&MountOptions::log_file>},

    // FUSE and kernel mount options, forwarded.
    {"allow_other", Arity::kFlag, Group::kFuse, "", "let other users access the mount",
     ForwardFlag},
    {"allow_root", Arity::kFlag, Group::kFuse, "", "let root access the mount", ForwardFlag},
    {"default_permissions", Arity::kFlag, Group::kFuse, "",
     "let the kernel check permissions against modes", ForwardFlag},
    {"auto_unmount", Arity::kFlag, Group::kFuse, "", "unmount when mount.rocksfs exits",
     ForwardFlag},
    {"kernel_cache", Arity::kFlag, Group::kFuse, "", "keep file contents cached across opens",
     ForwardFlag},
    {"fsname", Arity::kValue, Group::kFuse, "NAME", "source name shown in /proc/mounts",
     ForwardName},
    {"subtype", Arity::kValue, Group::kFuse, "NAME", "filesystem subtype shown as fuse.NAME",
     ForwardName},
    {"max_read", Arity::kValue, Group::kFuse, "N", "largest read request, in bytes", ForwardBytes},
    {"blksize", Arity::kValue, Group::kFuse, "N", "block size (block-device mounts only)",
     ForwardBytes},
    {"nodev", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"dev", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"nosuid", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"suid", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"noexec", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"exec", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"noatime", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"atime", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"relatime", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"strictatime", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},
    {"nodiratime", Arity::kFlag, Group::kFuse, "", "", ForwardFlag},

    // Passed by mount(8) or written in fstab; nothing to do for FUSE.
    {"defaults", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"auto", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"noauto", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"user", Arity::kOptionalValue, Group::kIgnored, "", "", Ignore},
    {"nouser", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"users", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"owner", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"group", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"_netdev", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"nofail", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"async", Arity::kFlag, Group::kIgnored, "", "", Ignore},
    {"comment", Arity::kValue, Group::kIgnored, "...", "", Ignore},
};

const OptionSpec* FindOption(std::string_view name) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool IsIgnoredByPrefix(std::string_view name) { return name.starts_with("x-"); }

// Applies "name" or "name=value". `has_value` distinguishes "name=" from "name".
bool ApplyOption(std::string_view name, bool has_value, std::string_view value, ParseState* state,
                 std::string* error) {
  const OptionSpec* spec = FindOption(name);
  if (spec == nullptr) {
    if (IsIgnoredByPrefix(name) || state->sloppy) return true;
    *error = name.empty() ? "empty option name in " + Quote("=" + std::string(value))
                          : "unknown option " + Quote(name);
    return false;
  }
  if (spec->arity == Arity::kFlag && has_value) {
    *error = "option " + Quote(name) +
             " takes no value: " + Quote(std::string(name) + "=" + std::string(value));
    return false;
  }
  if (spec->arity == Arity::kValue && !has_value) {
    std::string hint = spec->value_hint.empty() ? "VALUE" : std::string(spec->value_hint);
    *error = "missing value for " + std::string(name) + " (" + std::string(name) + "=" + hint + ")";
    return false;
  }
  if (spec->group == Group::kRocksfs) state->options.given.emplace_back(spec->name);
  return spec->apply(*spec, value, state, error);
}

// Splits one -o argument on commas; "\," is a literal comma and "\\" a
// literal backslash. Empty items are dropped.
std::vector<std::string> SplitOptionList(std::string_view list) {
  std::vector<std::string> items;
  std::string item;
  for (size_t i = 0; i < list.size(); ++i) {
    char c = list[i];
    if (c == '\\' && i + 1 < list.size() && (list[i + 1] == ',' || list[i + 1] == '\\')) {
      item += list[++i];
    } else if (c == ',') {
      if (!item.empty()) items.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) items.push_back(std::move(item));
  return items;
}

bool ApplyOptionList(std::string_view list, ParseState* state, std::string* error) {
  for (const std::string& item : SplitOptionList(list)) {
    size_t equals = item.find('=');
    bool has_value = equals != std::string::npos;
    std::string_view name = std::string_view(item).substr(0, equals);
    std::string_view value = has_value ? std::string_view(item).substr(equals + 1) : "";
    if (!ApplyOption(name, has_value, value, state, error)) return false;
  }
  return true;
}

// ---- Help ------------------------------------------------------------------

// `words` joined by ", " and wrapped to 80 columns, each line indented by 2.
std::string WrapList(const std::vector<std::string>& words, std::string_view last) {
  constexpr size_t kWidth = 80;
  std::string text, line = " ";
  for (size_t i = 0; i < words.size(); ++i) {
    std::string word = words[i] + (i + 1 < words.size() ? "," : std::string(last));
    if (line.size() + 1 + word.size() > kWidth) {
      text += line + "\n";
      line = " ";
    }
    line += " " + word;
  }
  return text + line + "\n";
}

std::string UsageText() {
  constexpr size_t kColumn = 26;
  auto line = [&](std::string left, std::string_view help) {
    std::string text = "  " + left;
    if (text.size() + 1 > kColumn) {
      text += "\n" + std::string(kColumn, ' ');
    } else {
      text.resize(kColumn, ' ');
    }
    return text + std::string(help) + "\n";
  };
  // Options with a help line get one each; the rest share a wrapped list.
  auto group = [&](Group wanted, std::string_view list_suffix) {
    std::string text;
    std::vector<std::string> listed;
    for (const OptionSpec& spec : kOptions) {
      if (spec.group != wanted) continue;
      std::string left(spec.name);
      if (spec.arity == Arity::kValue) left += "=" + std::string(spec.value_hint);
      if (spec.arity == Arity::kOptionalValue) left += "[=...]";
      if (spec.help.empty()) {
        listed.push_back(left);
      } else {
        text += line(left, spec.help);
      }
    }
    if (!listed.empty()) text += WrapList(listed, list_suffix);
    return text;
  };

  std::string text;
  text += "Usage: " + std::string(kProgram) + " DB_PATH MOUNTPOINT [-o OPT[,OPT...]] [-f] [-d]\n";
  text += "\nMounts the RocksDB database at DB_PATH as a directory tree at MOUNTPOINT:\n";
  text += "keys split on the delimiter are paths, values are file contents.\n";
  text += "Unmount with `fusermount3 -u MOUNTPOINT` or `umount MOUNTPOINT`.\n";
  text += "\nArguments:\n";
  text += line("DB_PATH", "the RocksDB database directory");
  text += line("MOUNTPOINT", "the directory to mount on");
  text += "\nFlags:\n";
  text += line("-o OPT[,OPT...]", "options below; repeatable, the last value wins");
  text += line("-f", "stay in the foreground");
  text += line("-d", "foreground with debug logs (log_level=debug)");
  text += line("-s", "sloppy: ignore unknown options (as mount -s)");
  text += line("-n, -v", "accepted from mount(8) and ignored");
  text += line("-h, --help", "show this help");
  text += "\nOptions, as -o NAME[=VALUE] or --NAME[=VALUE] (after -o, write a comma\n";
  text += "inside a value as \\,):\n";
  text += group(Group::kRocksfs, "");
  text += "\nFUSE and mount options, passed to FUSE:\n";
  text += group(Group::kFuse, ": kernel mount flags");
  text += "\nAccepted from mount(8) and fstab, and ignored:\n";
  text += group(Group::kIgnored, ", x-...");
  text.pop_back();  // no trailing newline, like every other message
  return text;
}

// ---- Finishing -------------------------------------------------------------

bool Finish(ParseState* state, std::string* error) {
  MountOptions& options = state->options;
  if (options.db_path.empty()) {
    *error = "missing DB_PATH";
    return false;
  }
  if (options.mountpoint.empty()) {
    *error = "missing MOUNTPOINT";
    return false;
  }
  // A URL ("scheme://...") names a cluster, not a RocksDB directory: the
  // options of the embedded engine mean nothing there, and the cluster's
  // only apply there.
  bool cluster = options.db_path.find("://") != std::string::npos;
  auto given = [&](std::string_view name) {
    return std::find(options.given.begin(), options.given.end(), name) != options.given.end();
  };
  if (cluster) {
    for (std::string_view name : {"create", "secondary", "catchup_ms", "db_options", "cf_options",
                                  "options_file", "snapshot"}) {
      if (given(name)) {
        *error = "option " + Quote(name) + " is for RocksDB databases, not for " +
                 Unquoted(options.db_path) + " (see the README, etcd engine)";
        return false;
      }
    }
    if (options.prefix.empty()) {
      *error = "missing -o prefix=P for " + Unquoted(options.db_path) +
               ": the key prefix to mount (e.g. prefix=myapp/)";
      return false;
    }
    if (options.cluster_timeout <= 0) {
      *error = "timeout=0: a cluster call needs some time (default 5 seconds)";
      return false;
    }
  } else {
    for (std::string_view name : {"prefix", "timeout"}) {
      if (given(name)) {
        *error = "option " + Quote(name) + " is for etcd:// sources, not for a database path";
        return false;
      }
    }
  }
  bool snapshot = !options.snapshot.empty();
  if (options.create && options.secondary) {
    *error = "create and secondary conflict: a secondary follows an existing database";
    return false;
  }
  if (options.create && snapshot) {
    *error = "create and snapshot=" + Unquoted(options.snapshot) +
             " conflict: a snapshot needs an existing database";
    return false;
  }
  if (options.secondary && snapshot) {
    *error = "secondary and snapshot=" + Unquoted(options.snapshot) + " conflict: choose one";
    return false;
  }
  if (options.create && state->ro_given) {
    *error = "create needs a writable mount; drop ro";
    return false;
  }

  if (options.secondary || snapshot) options.read_only = true;
  // A read-only mount is read-only for the kernel too, so /proc/mounts says so.
  if (options.read_only && std::find(options.fuse_options.begin(), options.fuse_options.end(),
                                     "ro") == options.fuse_options.end()) {
    options.fuse_options.emplace_back("ro");
  }
  if (!state->uid_given) options.uid = getuid();
  if (!state->gid_given) options.gid = getgid();
  if (options.debug) {
    options.foreground = true;
    if (!state->log_level_given) options.log_level = "debug";
  }
  return true;
}

// CLI11's messages may span lines; ours never do.
std::string OneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

int Parse(std::span<const char* const> argv, ParseState* state, std::string* error,
          bool* help_shown) {
  CLI::App app{"", std::string(kProgram)};
  app.allow_extras(true);  // unknown names get our message, or -s ignores them
  app.set_help_flag("-h,--help");

  CLI::Option* db_path = app.add_option("DB_PATH", state->options.db_path);
  CLI::Option* mountpoint = app.add_option("MOUNTPOINT", state->options.mountpoint);
  CLI::Option* dash_o =
      app.add_option("-o")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  CLI::Option* foreground = app.add_flag("-f");
  CLI::Option* debug = app.add_flag("-d");
  CLI::Option* sloppy = app.add_flag("-s");
  app.add_flag("-n");
  app.add_flag("-v");

  std::unordered_map<const CLI::Option*, const OptionSpec*> long_options;
  for (const OptionSpec& spec : kOptions) {
    std::string flag = "--" + std::string(spec.name);
    CLI::Option* option = spec.arity == Arity::kValue
                              ? app.add_option(flag)->expected(1)->multi_option_policy(
                                    CLI::MultiOptionPolicy::TakeAll)
                              : app.add_flag(flag);
    option->description(std::string(spec.help));
    long_options[option] = &spec;
  }

  // CLI11 2.1 reads "--name=" (empty value) as "--name" and takes the next
  // argument as the value; spell it "--name" "" so the value stays empty.
  std::vector<std::string> args;
  bool options_ended = false;
  for (const char* arg : argv) {
    std::string_view view = arg == nullptr ? "" : arg;
    const OptionSpec* spec = nullptr;
    if (!options_ended && view.starts_with("--") && view.find('=') == view.size() - 1) {
      spec = FindOption(view.substr(2, view.size() - 3));
    }
    if (spec != nullptr && spec->arity == Arity::kValue) {
      args.emplace_back(view.substr(0, view.size() - 1));
      args.emplace_back();
    } else {
      if (view == "--") options_ended = true;
      args.emplace_back(view);
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 consumes from the back

  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    *help_shown = true;
    *error = UsageText();
    return 0;
  } catch (const CLI::ArgumentMismatch& e) {
    // "--threads: 1 required TEXT missing": a value option at the very end.
    std::string name = e.what();
    name = name.substr(0, name.find(':'));
    if (name.starts_with("--")) name.erase(0, 2);
    *error = "missing value for " + name;
    return kUsageError;
  } catch (const CLI::ParseError& e) {
    *error = OneLine(e.what());
    return kUsageError;
  }

  state->sloppy = sloppy->count() > 0;
  if (db_path->count() > 0 && state->options.db_path.empty()) {
    *error = "empty DB_PATH";
    return kUsageError;
  }
  if (mountpoint->count() > 0 && state->options.mountpoint.empty()) {
    *error = "empty MOUNTPOINT";
    return kUsageError;
  }

  // Apply -o lists and --name options in command-line order, so the last wins.
  std::unordered_map<const CLI::Option*, size_t> next_result;
  for (const CLI::Option* option : app.parse_order()) {
    size_t index = next_result[option]++;
    const CLI::results_t& results = option->results();
    std::string_view result = index < results.size() ? std::string_view(results[index]) : "";
    if (option == dash_o) {
      if (!ApplyOptionList(result, state, error)) return kUsageError;
    } else if (option == foreground) {
      state->options.foreground = true;
    } else if (option == debug) {
      state->options.debug = true;
    } else if (auto it = long_options.find(option); it != long_options.end()) {
      const OptionSpec& spec = *it->second;
      // A flag's result is "true" unless given as --flag=value.
      bool has_value = spec.arity == Arity::kValue || result != "true";
      if (!ApplyOption(spec.name, has_value, has_value ? result : "", state, error)) {
        return kUsageError;
      }
    }
  }

  for (const std::string& extra : app.remaining()) {
    std::string_view view = extra;
    if (view == "--") continue;
    if (view.starts_with("--")) {
      std::string_view name = view.substr(2, view.find('=') - 2);
      if (IsIgnoredByPrefix(name) || state->sloppy) continue;
      *error = "unknown option " + Quote(name);
    } else if (view.size() > 1 && view.starts_with("-")) {
      *error = "unknown flag " + Quote(view);
    } else {
      *error = "unexpected argument " + Quote(view);
    }
    return kUsageError;
  }

  return Finish(state, error) ? 0 : kUsageError;
}

}  // namespace

int ParseMountArgs(int argc, const char* const* argv, MountOptions* out, std::string* error,
                   bool* help_shown) {
  std::string ignored_error;
  bool ignored_help = false;
  if (error == nullptr) error = &ignored_error;
  if (help_shown == nullptr) help_shown = &ignored_help;
  error->clear();
  *help_shown = false;

  std::span<const char* const> args;
  if (argc > 1 && argv != nullptr) args = std::span<const char* const>(argv + 1, argc - 1);

  ParseState state;
  try {
    int status = Parse(args, &state, error, help_shown);
    if (status == 0 && !*help_shown) *out = std::move(state.options);
    return status;
  } catch (const std::bad_alloc&) {
    *error = "out of memory";
    return kUsageError;
  } catch (const std::exception& e) {
    *error = OneLine(e.what());
    return kUsageError;
  }
}

}  // namespace rocksfs::fs
