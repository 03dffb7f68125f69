// The etcd implementation of kv::Store (issue 14; SPEC section 7).
//
// OpenEtcdStore connects to an etcd cluster (v3 API, gRPC) and shows the keys
// under one key prefix P as the default column family, verbatim: key K of the
// store is etcd key P+K, so `etcdctl get --prefix P` lists exactly the keys a
// mount shows, and what `etcdctl put PK V` writes is key K here. Everything rocksfs keeps for itself lives outside P, under the
// reserved prefix R = "\0rocksfs/" P "\0" (a leading NUL byte, which no
// sensible P starts with):
//   R "cfs\0" NAME          the column family NAME exists (empty value)
//   R "cf\0" NAME "\0" K    key K of column family NAME (e.g. rocksfs's
//                           metadata column family)
//   R "snap\0" NAME         a saved snapshot: "REVISION CREATED_NS"
//
// How kv::Store maps onto etcd:
//   - Get and Exists: one Range (count_only for Exists).
//   - Iterators: Range with range_end and a limit, page by page
//     (kScanPageKeys keys per page); every page of one iterator reads at the
//     revision of its first page, so a scan is consistent. Seek inside the
//     current page costs nothing; further away it is a new Range.
//   - Write: one Txn per Batch. ExpectPresent is Compare(version > 0, key),
//     ExpectAbsent Compare(version == 0, key), ExpectRangeEmpty
//     Compare(version == 0, key, range_end): etcd compares every key in the
//     range, and an empty range compares as one absent key, so it holds
//     exactly when no key lies in [begin, end). A failed compare is
//     kConditionFailed and nothing is written. Ops on one key are reduced to
//     the last one, and a DeleteRange is cut around later Puts inside it
//     (etcd refuses overlapping ops in one txn), which gives the batch's
//     in-order meaning.
//   - Snapshots: the revision of a linearizable read; reads through one pass
//     that revision. Saved snapshots (Store::SaveSnapshot) record such a
//     revision under R; OpenSavedSnapshot gives a read-only store that reads
//     at it. Once the cluster compacts past it, reads fail with
//     kIOError ("... compacted"), never with other data.
//   - Every read is linearizable (etcd's default, a ReadIndex round trip to
//     the leader), so a read sees every write acknowledged before it
//     started, on any member and from any client: close-to-open across hosts.
//   - Get's Value::version is the key's mod_revision.
//   - WatchChanges: one etcd Watch stream (a watch on P and one on R's
//     column families) from the revision after the call, on one member at a
//     time; when the member fails, loses its leader ("hasleader") or stops
//     answering keepalive pings (13 s), a new
//     stream on the next member resumes at the revision after the last
//     event seen. If the cluster compacted past it, the listener gets
//     OnChangesLost and the watch resumes at the oldest revision left.
//     Events at the revision of one of this store's own txns are skipped.
//   - SyncWal: nothing to do; etcd acknowledges a txn once a quorum of
//     members has it in its fsync'd log.
//
// Errors of the cluster, as kv::Status:
//   kTooLarge        a request over the cluster's --max-request-bytes, or a
//                    txn over its --max-txn-ops (nothing applied)
//   kNoSpace         the NOSPACE alarm (--quota-backend-bytes reached)
//   kIOError         no member answered within EtcdOpenOptions::timeout_ms
//                    (lost quorum, all members down), or a compacted revision
//   kConditionFailed a Batch condition did not hold
//   kReadOnly        a write through a store opened read_only
// A request that fails on one member for a reason another member may not
// have (unreachable, no leader, leader changed, timeout) is retried on the
// next endpoint, round robin, until the timeout. A Txn whose outcome is
// unknown (the member died after receiving it) is retried like the others:
// if it was applied, its compares may then fail and the caller sees
// kConditionFailed for a write that happened.
//
// Thread-safety: OpenEtcdStore may be called from any thread; the Store it
// returns is safe for concurrent use (see kv/store.h). REQUIRES: every
// Iterator, Snapshot and Value obtained from it is destroyed before it.
//
// This header includes no gRPC or protobuf header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

struct EtcdOpenOptions {
  // "HOST:PORT" of one or more members; requests go to the first that
  // answers, and move to the next when it fails.
  std::vector<std::string> endpoints;
  // The user's key prefix P (see above). Must not be empty, start with a NUL
  // byte, or hold one.
  std::string prefix;
  // Every Write fails with kReadOnly.
  bool read_only = false;
  // How long one call (Get, a page of a scan, Write, ...) may try, over every
  // endpoint, before it fails with kIOError. Milliseconds.
  uint32_t timeout_ms = 5000;
  // > 0: every key this store puts (in every column family) is attached to
  // an etcd lease and disappears between ttl_seconds and ttl_seconds + 1
  // seconds after that put, unless put again. One lease is granted per
  // second of writes and shared by the puts of that second; leases are never
  // kept alive. 0: keys never expire (a put without a lease also detaches
  // the key from a lease it had).
  uint32_t ttl_seconds = 0;
};

// The URL scheme of mount.rocksfs and the rocksfs tool: "etcd://".
inline constexpr std::string_view kEtcdUrlScheme = "etcd://";

// True when `source` names an etcd cluster rather than a RocksDB directory.
inline bool IsEtcdUrl(std::string_view source) {
  return source.substr(0, kEtcdUrlScheme.size()) == kEtcdUrlScheme;
}

// Parses "etcd://HOST:PORT[,HOST:PORT...]" into endpoints. HOST is a name, an
// IPv4 address or a bracketed IPv6 address; PORT is 1..65535. Errors:
// kInvalidArgument with a message naming the bad part.
[[nodiscard]] Status ParseEtcdUrl(std::string_view url, std::vector<std::string>* endpoints);

// Checks a prefix against the rules of EtcdOpenOptions::prefix. Errors:
// kInvalidArgument with a message saying which rule.
[[nodiscard]] Status ValidateEtcdPrefix(std::string_view prefix);

// Connects to the cluster and checks that it answers (a linearizable Range,
// so a cluster without quorum fails here, after the timeout). On error,
// *store is null. Errors: kInvalidArgument (no endpoints, bad prefix),
// kIOError (no member answered: the message names the endpoints and the
// last error).
[[nodiscard]] Status OpenEtcdStore(const EtcdOpenOptions& options, std::unique_ptr<Store>* store);

}  // namespace rocksfs::kv
