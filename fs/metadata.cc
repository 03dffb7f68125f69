#include "fs/metadata.h"

#include <chrono>

namespace rocksfs::fs {
namespace {

constexpr uint8_t kVersion1 = 1;  // mode, owner, times, xattrs
constexpr uint8_t kVersion = 2;   // ... and a flags byte for ino, rdev, links

// Version 2 flags: which optional fields follow.
constexpr uint64_t kHasIno = 1;
constexpr uint64_t kHasRdev = 2;
constexpr uint64_t kHasLinks = 4;

// Inos handed out by the mount are (1 << 63) | n with n small: rotated left
// by one they encode as n * 2 + 1, a few bytes instead of ten. Hash inos
// (top bit 0) rotate to an even number.
uint64_t RotateLeft(uint64_t v) { return (v << 1) | (v >> 63); }
uint64_t RotateRight(uint64_t v) { return (v >> 1) | (v << 63); }

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

// Zigzag keeps small negative times small.
uint64_t Zig(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t Unzig(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetBytes(std::string_view* in, std::string* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

}  // namespace

TimeNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EncodeMetadata(const Metadata& meta) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  PutVarint(&out, meta.mode);
  PutVarint(&out, meta.uid);
  PutVarint(&out, meta.gid);
  PutVarint(&out, Zig(meta.mtime));
  // ctime and atime as deltas from mtime: usually 0, one byte each.
  PutVarint(&out, Zig(meta.ctime - meta.mtime));
  PutVarint(&out, Zig(meta.atime - meta.mtime));
  uint64_t flags = (meta.ino ? kHasIno : 0) | (meta.rdev ? kHasRdev : 0) |
                   (meta.links.empty() ? 0 : kHasLinks);
  PutVarint(&out, flags);
  if (meta.ino) PutVarint(&out, RotateLeft(meta.ino));
  if (meta.rdev) PutVarint(&out, meta.rdev);
  if (!meta.links.empty()) {
    PutVarint(&out, meta.links.size());
    for (const std::string& link : meta.links) PutBytes(&out, link);
  }
  PutVarint(&out, meta.xattrs.size());
  for (const auto& [name, value] : meta.xattrs) {
    PutBytes(&out, name);
    PutBytes(&out, value);
  }
  return out;
}

bool DecodeMetadata(std::string_view in, Metadata* meta) {
  if (in.empty()) return false;
  uint8_t version = static_cast<uint8_t>(in.front());
  if (version != kVersion1 && version != kVersion) return false;
  in.remove_prefix(1);
  uint64_t mode, uid, gid, mtime, dctime, datime, nx;
  if (!GetVarint(&in, &mode) || !GetVarint(&in, &uid) || !GetVarint(&in, &gid) ||
      !GetVarint(&in, &mtime) || !GetVarint(&in, &dctime) || !GetVarint(&in, &datime)) {
    return false;
  }
  Metadata m;
  m.mode = static_cast<mode_t>(mode);
  m.uid = static_cast<uid_t>(uid);
  m.gid = static_cast<gid_t>(gid);
  m.mtime = Unzig(mtime);
  m.ctime = m.mtime + Unzig(dctime);
  m.atime = m.mtime + Unzig(datime);
  if (version >= kVersion) {
    uint64_t flags;
    if (!GetVarint(&in, &flags) || (flags & ~(kHasIno | kHasRdev | kHasLinks))) return false;
    uint64_t v;
    if (flags & kHasIno) {
      if (!GetVarint(&in, &v)) return false;
      m.ino = RotateRight(v);
    }
    if (flags & kHasRdev) {
      if (!GetVarint(&in, &v)) return false;
      m.rdev = static_cast<dev_t>(v);
    }
    if (flags & kHasLinks) {
      uint64_t n;
      if (!GetVarint(&in, &n) || n > in.size()) return false;
      m.links.resize(n);
      for (std::string& link : m.links) {
        if (!GetBytes(&in, &link)) return false;
      }
    }
  }
  if (!GetVarint(&in, &nx)) return false;
  for (uint64_t i = 0; i < nx; ++i) {
    std::string name, value;
    if (!GetBytes(&in, &name) || !GetBytes(&in, &value)) return false;
    m.xattrs.emplace(std::move(name), std::move(value));
  }
  if (!in.empty()) return false;
  *meta = std::move(m);
  return true;
}

std::string FileMetaKey(std::string_view data_key) {
  std::string key;
  key.reserve(data_key.size() + 1);
  key.push_back('f');
  key.append(data_key);
  return key;
}

std::string DirMetaKey(std::string_view dir_prefix) {
  std::string key;
  key.reserve(dir_prefix.size() + 1);
  key.push_back('d');
  key.append(dir_prefix);
  return key;
}

}  // namespace rocksfs::fs
