#include "kv/etcd_store.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace rocksfs::kv {
namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

// Keys per Range page of an iterator. Values come along, so a page of large
// values is a large message; the client accepts any size.
constexpr int64_t kScanPageKeys = 256;
// One attempt on one member may take this long before the next is tried:
// more than an election (1 s with etcd's defaults), so a member that is
// waiting for a new leader gets to answer.
constexpr auto kAttemptTimeout = std::chrono::milliseconds(2000);
// Keepalive pings on open calls (see the channel arguments).
constexpr int kKeepaliveMs = 10000;
constexpr int kKeepaliveTimeoutMs = 3000;
// Pause after every endpoint failed once, before the next round.
constexpr auto kRoundPause = std::chrono::milliseconds(100);

// The etcd key range_end meaning "every key >= key".
const std::string kToTheEnd(1, '\0');

std::string ReservedPrefix(std::string_view prefix) {
  std::string r("\0rocksfs/", 9);
  r += prefix;
  r += '\0';
  return r;
}

// A column family: the etcd keys it owns are `prefix` + K. Handles live
// until the store is destroyed (see DropColumnFamily).
struct EtcdColumnFamily {
  std::string name;
  std::string prefix;
  std::string end;  // PrefixSuccessor(prefix), or kToTheEnd when there is none
  std::atomic<bool> dropped{false};
};

EtcdColumnFamily* Cast(ColumnFamily* cf) { return reinterpret_cast<EtcdColumnFamily*>(cf); }
const EtcdColumnFamily* Cast(const ColumnFamily* cf) {
  return reinterpret_cast<const EtcdColumnFamily*>(cf);
}
ColumnFamily* Handle(EtcdColumnFamily* cf) { return reinterpret_cast<ColumnFamily*>(cf); }

class EtcdSnapshot : public Snapshot {
 public:
  explicit EtcdSnapshot(int64_t revision, Status error = Status::Ok())
      : revision(revision), error(std::move(error)) {}
  const int64_t revision;
  const Status error;  // GetSnapshot failed: every read through it fails so
};

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Errors a member gives for its own state, which another member (or the
// same one a moment later) may not have.
bool Retryable(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return true;
    default:
      break;
  }
  const std::string& m = s.error_message();
  return Contains(m, "no leader") || Contains(m, "leader changed") ||
         Contains(m, "timed out") || Contains(m, "not capable") ||
         Contains(m, "too many requests");
}

// The one place where etcd's answers become kv::Status values.
Status FromGrpc(std::string_view what, const grpc::Status& s) {
  std::string message = std::string(what) + ": etcd: " + s.error_message();
  const std::string& m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return Status::Ok();
    case grpc::StatusCode::INVALID_ARGUMENT:
      // --max-request-bytes and --max-txn-ops: nothing was applied.
      if (Contains(m, "request is too large") || Contains(m, "too many operations")) {
        return Status::TooLarge(message);
      }
      return Status::InvalidArgument(message);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // The NOSPACE alarm, or a message over gRPC's own size limit on the
      // server (--max-request-bytes plus gRPC's overhead).
      if (Contains(m, "space exceeded")) return Status::NoSpace(message);
      if (Contains(m, "larger than max")) return Status::TooLarge(message);
      return Status::IOError(message);
    case grpc::StatusCode::NOT_FOUND:
      // "requested lease not found": an expired lease.
      return Status::NotFound(message);
    case grpc::StatusCode::OUT_OF_RANGE:
      // "mvcc: required revision has been compacted" (or is in the future).
      return Status::IOError(message);
    default:
      return Status::IOError(message);
  }
}

class EtcdStore;

// Pages through [lower, upper) of one column family with Range requests,
// all at one revision.
class EtcdIterator : public Iterator {
 public:
  EtcdIterator(EtcdStore* store, const EtcdColumnFamily* cf, const ScanOptions& options);

  void Seek(std::string_view target) override;
  void Next() override;
  bool Valid() const override { return status_.ok() && page_ && pos_ < page_->kvs_size(); }
  std::string_view key() const override {
    return std::string_view(page_->kvs(pos_).key()).substr(prefix_size_);
  }
  std::string_view value() const override { return page_->kvs(pos_).value(); }
  Status status() const override { return status_; }

 private:
  // Loads the page starting at etcd key `from`.
  void Fetch(const std::string& from);

  EtcdStore* store_;
  size_t prefix_size_ = 0;
  std::string cf_prefix_;
  std::string lower_;  // etcd keys
  std::string upper_;
  int64_t revision_ = 0;  // 0 until the first page fixes it
  std::unique_ptr<pb::RangeResponse> page_;
  int pos_ = 0;
  Status status_;
  bool unusable_ = false;  // the column family or snapshot was bad
};

class EtcdStore final : public Store {
 public:
  // fixed_revision > 0: a read-only store that reads at that revision (a
  // saved snapshot).
  explicit EtcdStore(EtcdOpenOptions options, int64_t fixed_revision = 0)
      : options_(std::move(options)), fixed_revision_(fixed_revision) {
    if (fixed_revision_ > 0) options_.read_only = true;
    url_ = std::string(kEtcdUrlScheme);
    for (size_t i = 0; i < options_.endpoints.size(); ++i) {
      if (i) url_ += ',';
      url_ += options_.endpoints[i];
    }
    reserved_ = ReservedPrefix(options_.prefix);
    registry_ = reserved_ + std::string("cfs\0", 4);
    snapshots_ = reserved_ + std::string("snap\0", 5);
    default_cf_.reset(MakeColumnFamily("default", options_.prefix));
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // A member that comes back is used again within a second (gRPC's
    // default backoff grows to two minutes).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // A member that stops answering without closing the connection (hung,
    // or cut off by the network) ends the calls on it, the watch stream
    // included, within kKeepaliveMs + kKeepaliveTimeoutMs: HTTP/2 pings
    // while a call is open (etcd accepts one every 5 s,
    // --grpc-keepalive-min-time).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    for (const std::string& endpoint : options_.endpoints) {
      auto channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
      members_.push_back(Member{endpoint, pb::KV::NewStub(channel),
                                pb::Maintenance::NewStub(channel), pb::Lease::NewStub(channel),
                                pb::Watch::NewStub(channel)});
    }
  }

  // Checks that the cluster answers a linearizable read.
  Status Connect() {
    bool exists = false;
    Status s = CountKeys(registry_, PrefixSuccessor(registry_), 0, &exists);
    if (!s.ok()) {
      return Status::IOError("cannot reach the etcd cluster at " + url_ + ": " + s.message());
    }
    return Status::Ok();
  }

  const std::string& path() const override { return url_; }
  bool read_only() const override { return options_.read_only; }

  ColumnFamily* DefaultColumnFamily() override { return Handle(default_cf_.get()); }

  Status GetColumnFamily(std::string_view name, bool create, ColumnFamily** cf) override {
    *cf = nullptr;
    if (name.empty()) return Status::InvalidArgument("empty column family name");
    if (name.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("column family name holds a NUL byte");
    }
    if (name == "default") {
      *cf = Handle(default_cf_.get());
      return Status::Ok();
    }
    std::string registry_key = registry_ + std::string(name);
    bool exists = false;
    Status s = CountKeys(registry_key, "", 0, &exists);
    if (!s.ok()) return s;
    if (!exists) {
      if (!create) return Status::NotFound("no column family '" + std::string(name) + "'");
      if (options_.read_only) return Status::ReadOnly();
      // Created by whoever comes first; either way it exists afterwards.
      pb::TxnRequest txn;
      AddCompare(&txn, registry_key, "", pb::Compare::EQUAL);
      txn.add_success()->mutable_request_put()->set_key(registry_key);
      pb::TxnResponse response;
      s = Txn("create column family", txn, &response);
      if (!s.ok()) return s;
    }
    std::lock_guard lock(cf_mutex_);
    auto& slot = column_families_[std::string(name)];
    if (!slot || slot->dropped.load()) {
      std::string prefix = reserved_ + std::string("cf\0", 3) + std::string(name) + '\0';
      slot = std::unique_ptr<EtcdColumnFamily>(MakeColumnFamily(std::string(name), prefix));
    }
    *cf = Handle(slot.get());
    return Status::Ok();
  }

  std::vector<std::string> ListColumnFamilies() override {
    std::vector<std::string> names{"default"};
    pb::RangeRequest request;
    request.set_key(registry_);
    request.set_range_end(PrefixSuccessor(registry_));
    request.set_keys_only(true);
    pb::RangeResponse response;
    if (!Range("list column families", request, &response).ok()) return names;
    for (const auto& kv : response.kvs()) names.push_back(kv.key().substr(registry_.size()));
    return names;
  }

  Status DropColumnFamily(std::string_view name) override {
    if (name == "default") return Status::InvalidArgument("the default column family cannot be dropped");
    if (options_.read_only) return Status::ReadOnly();
    ColumnFamily* handle = nullptr;
    Status s = GetColumnFamily(name, false, &handle);
    if (!s.ok()) return s;
    EtcdColumnFamily* cf = Cast(handle);
    std::string registry_key = registry_ + std::string(name);
    pb::TxnRequest txn;
    AddCompare(&txn, registry_key, "", pb::Compare::GREATER);
    txn.add_success()->mutable_request_delete_range()->set_key(registry_key);
    auto* range = txn.add_success()->mutable_request_delete_range();
    range->set_key(cf->prefix);
    range->set_range_end(cf->end);
    pb::TxnResponse response;
    s = Txn("drop column family", txn, &response);
    if (!s.ok()) return s;
    if (!response.succeeded()) return Status::NotFound("no column family '" + std::string(name) + "'");
    cf->dropped = true;
    return Status::Ok();
  }

  std::string_view ColumnFamilyName(const ColumnFamily* cf) const override {
    return Cast(cf)->name;
  }

  Status Get(const ReadOptions& options, ColumnFamily* handle, std::string_view key,
             Value* value) override {
    value->Reset();
    const EtcdColumnFamily* cf = nullptr;
    int64_t revision = 0;
    if (Status s = Resolve(handle, options.snapshot, &cf, &revision); !s.ok()) return s;
    pb::RangeRequest request;
    request.set_key(cf->prefix + std::string(key));
    request.set_revision(revision);
    auto response = std::make_shared<pb::RangeResponse>();
    if (Status s = Range("get", request, response.get()); !s.ok()) return s;
    if (response->kvs_size() == 0) return Status::NotFound();
    std::string_view data = response->kvs(0).value();
    auto version = static_cast<uint64_t>(response->kvs(0).mod_revision());
    *value = Value(data, std::move(response), version);
    return Status::Ok();
  }

  Status Exists(const ReadOptions& options, ColumnFamily* handle, std::string_view key,
                bool* exists) override {
    *exists = false;
    const EtcdColumnFamily* cf = nullptr;
    int64_t revision = 0;
    if (Status s = Resolve(handle, options.snapshot, &cf, &revision); !s.ok()) return s;
    return CountKeys(cf->prefix + std::string(key), "", revision, exists);
  }

  std::unique_ptr<Iterator> NewIterator(ColumnFamily* cf, const ScanOptions& options) override {
    return std::make_unique<EtcdIterator>(this, Cast(cf), options);
  }

  Status Write(const WriteOptions& options, const Batch& batch) override;

  std::shared_ptr<const Snapshot> GetSnapshot() override {
    if (fixed_revision_ > 0) return std::make_shared<EtcdSnapshot>(fixed_revision_);
    pb::RangeRequest request;
    request.set_key(registry_);
    request.set_count_only(true);
    pb::RangeResponse response;
    Status s = Range("snapshot", request, &response);
    if (!s.ok()) return std::make_shared<EtcdSnapshot>(0, s);
    return std::make_shared<EtcdSnapshot>(response.header().revision());
  }

  Status SyncWal() override { return Status::Ok(); }  // see the header

  // Saved snapshots: R "snap\0" NAME holds "REVISION CREATED_NS".
  Status SaveSnapshot(const std::string& name) override {
    if (options_.read_only) return Status::ReadOnly();
    auto snapshot = GetSnapshot();
    const auto& at = static_cast<const EtcdSnapshot&>(*snapshot);
    if (!at.error.ok()) return at.error;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    std::string record = std::to_string(at.revision) + " " +
                         std::to_string(std::chrono::nanoseconds(now).count());
    pb::TxnRequest txn;
    AddCompare(&txn, snapshots_ + name, "", pb::Compare::EQUAL);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(snapshots_ + name);
    put->set_value(record);
    pb::TxnResponse response;
    if (Status s = Txn("save snapshot", txn, &response); !s.ok()) return s;
    if (!response.succeeded()) return Status::ConditionFailed("snapshot " + name + " exists");
    return Status::Ok();
  }

  Status ListSavedSnapshots(std::vector<SavedSnapshot>* out) override {
    out->clear();
    pb::RangeRequest request;
    request.set_key(snapshots_);
    request.set_range_end(PrefixSuccessor(snapshots_));
    pb::RangeResponse response;
    if (Status s = Range("list snapshots", request, &response); !s.ok()) return s;
    for (const auto& kv : response.kvs()) {
      int64_t revision = 0, created = 0;
      ParseSnapshotRecord(kv.value(), &revision, &created);
      out->push_back({kv.key().substr(snapshots_.size()), created});
    }
    return Status::Ok();
  }

  Status DeleteSavedSnapshot(const std::string& name) override {
    if (options_.read_only) return Status::ReadOnly();
    pb::TxnRequest txn;
    AddCompare(&txn, snapshots_ + name, "", pb::Compare::GREATER);
    txn.add_success()->mutable_request_delete_range()->set_key(snapshots_ + name);
    pb::TxnResponse response;
    if (Status s = Txn("delete snapshot", txn, &response); !s.ok()) return s;
    if (!response.succeeded()) return Status::NotFound("no snapshot named " + name);
    return Status::Ok();
  }

  Status OpenSavedSnapshot(const std::string& name, std::unique_ptr<Store>* out) override {
    out->reset();
    pb::RangeRequest request;
    request.set_key(snapshots_ + name);
    pb::RangeResponse response;
    if (Status s = Range("open snapshot", request, &response); !s.ok()) return s;
    if (response.kvs_size() == 0) return Status::NotFound("no snapshot named " + name);
    int64_t revision = 0, created = 0;
    if (!ParseSnapshotRecord(response.kvs(0).value(), &revision, &created) || revision <= 0) {
      return Status::Corruption("bad record of snapshot " + name);
    }
    *out = std::make_unique<EtcdStore>(options_, revision);
    return Status::Ok();
  }

  Status GetUsage(ColumnFamily* handle, Usage* usage) override {
    *usage = Usage{};
    const EtcdColumnFamily* cf = nullptr;
    int64_t revision = 0;
    if (Status s = Resolve(handle, nullptr, &cf, &revision); !s.ok()) return s;
    pb::RangeRequest request;
    request.set_key(cf->prefix);
    request.set_range_end(cf->end);
    request.set_count_only(true);
    pb::RangeResponse response;
    if (Status s = Range("count keys", request, &response); !s.ok()) return s;
    usage->estimated_keys = static_cast<uint64_t>(response.count());
    pb::StatusResponse status;
    if (MemberStatus(&status).ok()) {
      usage->live_data_bytes = static_cast<uint64_t>(status.dbsizeinuse());
      usage->total_sst_bytes = static_cast<uint64_t>(status.dbsize());
    }
    return Status::Ok();
  }

  std::string StatisticsText() override {
    std::string out;
    out += "engine: etcd\n";
    out += "endpoints: " + url_ + "\n";
    out += "prefix: " + options_.prefix + "\n";
    if (options_.ttl_seconds > 0) out += "ttl seconds: " + std::to_string(options_.ttl_seconds) + "\n";
    out += "current endpoint: " + members_[current_.load()].endpoint + "\n";
    pb::StatusResponse status;
    if (MemberStatus(&status).ok()) {
      out += "etcd version: " + status.version() + "\n";
      out += "revision: " + std::to_string(status.header().revision()) + "\n";
      out += "leader: " + std::to_string(status.leader()) + "\n";
      out += "raft term: " + std::to_string(status.raftterm()) + "\n";
      out += "db size bytes: " + std::to_string(status.dbsize()) + "\n";
      out += "db size in use bytes: " + std::to_string(status.dbsizeinuse()) + "\n";
      for (const auto& e : status.errors()) out += "alarm: " + e + "\n";
    }
    out += "etcd.range: " + std::to_string(ranges_.load()) + "\n";
    out += "etcd.txn: " + std::to_string(txns_.load()) + "\n";
    out += "etcd.txn.compare_failed: " + std::to_string(compare_failures_.load()) + "\n";
    out += "etcd.retries: " + std::to_string(retries_.load()) + "\n";
    return out;
  }

  Status WatchChanges(ChangeListener* listener, std::unique_ptr<ChangeWatch>* watch) override;

  // ---- For the watch (EtcdWatch).

  size_t member_count() const { return members_.size(); }
  size_t current_member() const { return current_.load(std::memory_order_relaxed); }
  pb::Watch::Stub* WatchStub(size_t member) { return members_[member].watch.get(); }

  // The etcd key ranges [begin, end) that hold what a mount shows: the
  // user's prefix, and the column families under the reserved prefix.
  std::vector<std::pair<std::string, std::string>> WatchedRanges() const {
    std::string cfs = reserved_ + std::string("cf\0", 3);
    return {{default_cf_->prefix, default_cf_->end}, {cfs, PrefixSuccessor(cfs)}};
  }

  // The column family handle and key that etcd key `etcd_key` stands for;
  // null when it is in no column family this store has a handle for.
  ColumnFamily* Locate(std::string_view etcd_key, std::string_view* key) {
    if (etcd_key.substr(0, options_.prefix.size()) == options_.prefix) {
      *key = etcd_key.substr(options_.prefix.size());
      return DefaultColumnFamily();
    }
    std::lock_guard lock(cf_mutex_);
    for (auto& [name, cf] : column_families_) {
      if (!cf->dropped.load() && etcd_key.substr(0, cf->prefix.size()) == cf->prefix) {
        *key = etcd_key.substr(cf->prefix.size());
        return Handle(cf.get());
      }
    }
    return nullptr;
  }

  // The current revision of the cluster (a linearizable read).
  Status CurrentRevision(int64_t* revision) {
    pb::RangeRequest request;
    request.set_key(registry_);
    request.set_count_only(true);
    pb::RangeResponse response;
    if (Status s = Range("revision", request, &response); !s.ok()) return s;
    *revision = response.header().revision();
    return Status::Ok();
  }

  // Revisions of this store's own txns, so that the watch skips them. A
  // watch event can arrive before the txn's own answer: IsOwnRevision first
  // waits (up to kOwnTxnWait) for the txns in flight when it is called.
  // Each watch reports revisions in increasing order, but two watches of
  // one stream interleave: the watch forgets revisions below the lowest
  // that every one of its watches has passed (kOwnRevisionsKept bounds what
  // is kept while one of them reports nothing).
  uint64_t BeginOwnTxn() {
    std::lock_guard lock(own_mutex_);
    uint64_t id = next_txn_id_++;
    in_flight_.insert(id);
    return id;
  }
  void EndOwnTxn(uint64_t id, int64_t revision) {
    {
      std::lock_guard lock(own_mutex_);
      in_flight_.erase(id);
      if (revision > 0) own_revisions_.insert(revision);
      if (own_revisions_.size() > kOwnRevisionsKept) own_revisions_.erase(own_revisions_.begin());
    }
    own_cv_.notify_all();
  }
  bool IsOwnRevision(int64_t revision) {
    std::unique_lock lock(own_mutex_);
    const uint64_t issued = next_txn_id_;
    own_cv_.wait_for(lock, kOwnTxnWait, [&] {
      return own_revisions_.count(revision) > 0 || in_flight_.empty() ||
             *in_flight_.begin() >= issued;
    });
    return own_revisions_.count(revision) > 0;
  }
  // Every watch has reported all revisions below `revision`.
  void ForgetOwnRevisionsBefore(int64_t revision) {
    std::lock_guard lock(own_mutex_);
    own_revisions_.erase(own_revisions_.begin(), own_revisions_.lower_bound(revision));
  }

  // ---- For the iterator and Write.

  Status Range(std::string_view what, const pb::RangeRequest& request,
               pb::RangeResponse* response) {
    ranges_.fetch_add(1, std::memory_order_relaxed);
    return Call(what, [&](Member& m, grpc::ClientContext* context) {
      return m.kv->Range(context, request, response);
    });
  }

  Status Txn(std::string_view what, const pb::TxnRequest& request, pb::TxnResponse* response) {
    txns_.fetch_add(1, std::memory_order_relaxed);
    uint64_t id = BeginOwnTxn();
    Status s = Call(what, [&](Member& m, grpc::ClientContext* context) {
      return m.kv->Txn(context, request, response);
    });
    EndOwnTxn(id, s.ok() && response->succeeded() ? response->header().revision() : 0);
    if (s.ok() && !response->succeeded()) compare_failures_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  // The column family behind `handle` and the revision to read at (0: the
  // latest).
  Status Resolve(ColumnFamily* handle, const Snapshot* snapshot, const EtcdColumnFamily** cf,
                 int64_t* revision) {
    if (!handle) return Status::InvalidArgument("no column family");
    *cf = Cast(handle);
    if ((*cf)->dropped.load()) return Status::NotFound("column family was dropped");
    *revision = fixed_revision_;
    if (snapshot) {
      auto* etcd_snapshot = static_cast<const EtcdSnapshot*>(snapshot);
      if (!etcd_snapshot->error.ok()) return etcd_snapshot->error;
      *revision = etcd_snapshot->revision;
    }
    return Status::Ok();
  }

  static void AddCompare(pb::TxnRequest* txn, const std::string& key, const std::string& range_end,
                         pb::Compare::CompareResult result) {
    pb::Compare* compare = txn->add_compare();
    compare->set_target(pb::Compare::VERSION);
    compare->set_result(result);
    compare->set_version(0);
    compare->set_key(key);
    if (!range_end.empty()) compare->set_range_end(range_end);
  }

 private:
  struct Member {
    std::string endpoint;
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Maintenance::Stub> maintenance;
    std::unique_ptr<pb::Lease::Stub> lease;
    std::unique_ptr<pb::Watch::Stub> watch;
  };

  // The lease for puts made now (options_.ttl_seconds > 0): the one granted
  // less than a second ago, or a new one. `renew`: grant a new one anyway
  // (the last one is gone).
  Status LeaseForPuts(bool renew, int64_t* id) {
    std::lock_guard lock(lease_mutex_);
    auto now = Clock::now();
    if (!renew && lease_id_ != 0 && now - lease_granted_ < std::chrono::seconds(1)) {
      *id = lease_id_;
      return Status::Ok();
    }
    pb::LeaseGrantRequest request;
    // Granted up to a second before the put that uses it: one more second.
    request.set_ttl(static_cast<int64_t>(options_.ttl_seconds) + 1);
    pb::LeaseGrantResponse response;
    Status s = Call("grant lease", [&](Member& m, grpc::ClientContext* context) {
      return m.lease->LeaseGrant(context, request, &response);
    });
    if (!s.ok()) return s;
    if (!response.error().empty()) return Status::IOError("grant lease: etcd: " + response.error());
    lease_id_ = response.id();
    lease_granted_ = now;
    *id = lease_id_;
    return Status::Ok();
  }

  EtcdColumnFamily* MakeColumnFamily(std::string name, std::string prefix) {
    auto* cf = new EtcdColumnFamily;
    cf->name = std::move(name);
    cf->prefix = std::move(prefix);
    cf->end = PrefixSuccessor(cf->prefix);
    if (cf->end.empty()) cf->end = kToTheEnd;
    return cf;
  }

  Status CountKeys(const std::string& key, const std::string& range_end, int64_t revision,
                   bool* any) {
    pb::RangeRequest request;
    request.set_key(key);
    if (!range_end.empty()) request.set_range_end(range_end);
    request.set_revision(revision);
    request.set_count_only(true);
    pb::RangeResponse response;
    Status s = Range("exists", request, &response);
    *any = s.ok() && response.count() > 0;
    return s;
  }

  Status MemberStatus(pb::StatusResponse* response) {
    pb::StatusRequest request;
    return Call("status", [&](Member& m, grpc::ClientContext* context) {
      return m.maintenance->Status(context, request, response);
    });
  }

  // Runs `attempt` on the current member, and on the next ones in turn while
  // it fails for a member's reason, until options_.timeout_ms have passed.
  template <typename Attempt>
  Status Call(std::string_view what, Attempt attempt) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    const size_t n = members_.size();
    size_t index = current_.load(std::memory_order_relaxed);
    size_t failed_in_round = 0;
    grpc::Status last;
    for (;;) {
      grpc::ClientContext context;
      auto now = Clock::now();
      auto attempt_end = std::min(deadline, now + kAttemptTimeout);
      // gRPC takes deadlines on the system clock.
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               attempt_end - now));
      grpc::Status s = attempt(members_[index], &context);
      if (s.ok()) {
        current_.store(index, std::memory_order_relaxed);
        return Status::Ok();
      }
      if (!Retryable(s)) return FromGrpc(what, s);
      last = s;
      if (Clock::now() >= deadline) break;
      retries_.fetch_add(1, std::memory_order_relaxed);
      index = (index + 1) % n;
      if (++failed_in_round >= n) {
        failed_in_round = 0;
        std::this_thread::sleep_for(std::min<Clock::duration>(kRoundPause, deadline - Clock::now()));
        if (Clock::now() >= deadline) break;
      }
    }
    return Status::IOError(std::string(what) + ": no etcd member of " + url_ + " answered within " +
                           std::to_string(options_.timeout_ms) + " ms (last error: " +
                           last.error_message() + ")");
  }

  static bool ParseSnapshotRecord(const std::string& record, int64_t* revision, int64_t* created) {
    return std::sscanf(record.c_str(), "%ld %ld", revision, created) == 2;
  }

  EtcdOpenOptions options_;
  const int64_t fixed_revision_;
  std::string snapshots_;
  std::string url_;
  std::string reserved_;
  std::string registry_;
  std::vector<Member> members_;
  std::atomic<size_t> current_{0};

  std::unique_ptr<EtcdColumnFamily> default_cf_;
  std::mutex cf_mutex_;
  std::map<std::string, std::unique_ptr<EtcdColumnFamily>> column_families_;

  std::mutex lease_mutex_;
  int64_t lease_id_ = 0;
  Clock::time_point lease_granted_;

  static constexpr size_t kOwnRevisionsKept = 65536;
  static constexpr auto kOwnTxnWait = std::chrono::seconds(1);
  std::mutex own_mutex_;
  std::condition_variable own_cv_;
  uint64_t next_txn_id_ = 1;
  std::set<uint64_t> in_flight_;
  std::set<int64_t> own_revisions_;

  std::atomic<uint64_t> ranges_{0};
  std::atomic<uint64_t> txns_{0};
  std::atomic<uint64_t> compare_failures_{0};
  std::atomic<uint64_t> retries_{0};
};

// ---- Write ------------------------------------------------------------------

// One op of the reduced batch, by etcd key.
struct PointOp {
  bool put = false;
  std::string value;
};

Status EtcdStore::Write(const WriteOptions& options, const Batch& batch) {
  if (options_.read_only) return Status::ReadOnly();
  if (batch.empty() && batch.conditions().empty()) return Status::Ok();

  // Reduce the ops to what etcd accepts in one txn (no two ops on one key, no
  // put inside a deleted range) with the meaning of applying them in order.
  std::map<std::string, PointOp> points;
  std::vector<std::pair<std::string, std::string>> ranges;
  for (const Batch::Op& op : batch.ops()) {
    const EtcdColumnFamily* cf = nullptr;
    int64_t unused = 0;
    if (Status s = Resolve(op.cf, nullptr, &cf, &unused); !s.ok()) return s;
    std::string key = cf->prefix + op.key;
    switch (op.kind) {
      case Batch::OpKind::kPut:
        points[key] = PointOp{true, op.value};
        break;
      case Batch::OpKind::kDelete:
        points[key] = PointOp{false, {}};
        break;
      case Batch::OpKind::kDeleteRange: {
        std::string end = op.value.empty() ? cf->end : cf->prefix + op.value;
        if (end != kToTheEnd && end <= key) break;  // an empty range
        auto first = points.lower_bound(key);
        auto last = end == kToTheEnd ? points.end() : points.lower_bound(end);
        points.erase(first, last);
        ranges.emplace_back(std::move(key), std::move(end));
        break;
      }
    }
  }

  pb::TxnRequest txn;
  for (const Batch::Condition& c : batch.conditions()) {
    const EtcdColumnFamily* cf = nullptr;
    int64_t unused = 0;
    if (Status s = Resolve(c.cf, nullptr, &cf, &unused); !s.ok()) return s;
    std::string key = cf->prefix + c.key;
    switch (c.kind) {
      case Batch::ConditionKind::kPresent:
        AddCompare(&txn, key, "", pb::Compare::GREATER);
        break;
      case Batch::ConditionKind::kAbsent:
        AddCompare(&txn, key, "", pb::Compare::EQUAL);
        break;
      case Batch::ConditionKind::kRangeEmpty: {
        std::string end = c.end.empty() ? cf->end : cf->prefix + c.end;
        if (end != kToTheEnd && end <= key) break;  // an empty range is always empty
        AddCompare(&txn, key, end, pb::Compare::EQUAL);
        break;
      }
    }
  }
  for (auto& [begin, end] : ranges) {
    // Cut the range around the puts that come after it.
    std::string from = begin;
    auto it = points.lower_bound(begin);
    auto stop = end == kToTheEnd ? points.end() : points.lower_bound(end);
    for (; it != stop; ++it) {
      if (!it->second.put) continue;
      if (from < it->first) {
        auto* range = txn.add_success()->mutable_request_delete_range();
        range->set_key(from);
        range->set_range_end(it->first);
      }
      from = it->first + '\0';
    }
    if (end == kToTheEnd || from < end) {
      auto* range = txn.add_success()->mutable_request_delete_range();
      range->set_key(from);
      range->set_range_end(end);
    }
  }
  for (auto& [key, op] : points) {
    if (op.put) {
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(std::move(op.value));
    } else {
      txn.add_success()->mutable_request_delete_range()->set_key(key);
    }
  }
  bool has_puts = std::any_of(points.begin(), points.end(), [](const auto& p) { return p.second.put; });
  pb::TxnResponse response;
  if (options_.ttl_seconds > 0 && has_puts) {
    // A lease that expired (or was revoked) since it was granted fails the
    // txn as a whole: grant a new one and try once more.
    for (int attempt = 0;; ++attempt) {
      int64_t lease = 0;
      if (Status s = LeaseForPuts(attempt > 0, &lease); !s.ok()) return s;
      for (auto& op : *txn.mutable_success()) {
        if (op.has_request_put()) op.mutable_request_put()->set_lease(lease);
      }
      Status s = Txn("write", txn, &response);
      if (attempt == 0 && s.code() == Code::kNotFound) continue;
      if (!s.ok()) return s;
      break;
    }
  } else if (Status s = Txn("write", txn, &response); !s.ok()) {
    return s;
  }
  if (!response.succeeded()) return Status::ConditionFailed();
  return Status::Ok();
}

// ---- Watch --------------------------------------------------------------------

// Follows the store's ranges with one etcd Watch stream (a watch per range)
// on one member at a time, from the revision after the last one it saw, and
// reports other clients' changes. When the stream ends (member gone,
// canceled), it opens a new one on the next member after kRoundPause and
// resumes at that revision; if the cluster compacted past it, it reports
// OnChangesLost and resumes at the oldest revision left.
class EtcdWatch final : public ChangeWatch {
 public:
  EtcdWatch(EtcdStore* store, ChangeListener* listener, int64_t start_revision)
      : store_(store), listener_(listener), next_revision_(start_revision) {
    thread_ = std::thread([this] { Run(); });
  }

  ~EtcdWatch() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      if (context_) context_->TryCancel();
    }
    stop_cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    size_t member = store_->current_member();
    while (true) {
      grpc::ClientContext context;
      // A member that loses its leader ends the stream (etcd's
      // "hasleader" metadata), instead of staying silent while the others
      // go on.
      context.AddMetadata("hasleader", "true");
      {
        std::lock_guard lock(mutex_);
        if (stop_) return;
        context_ = &context;
      }
      Follow(member, &context);
      {
        std::unique_lock lock(mutex_);
        context_ = nullptr;
        if (stop_cv_.wait_for(lock, kRoundPause, [this] { return stop_; })) return;
      }
      member = (member + 1) % store_->member_count();
    }
  }

  // Reads one stream until it ends.
  void Follow(size_t member, grpc::ClientContext* context) {
    auto stream = store_->WatchStub(member)->Watch(context);
    for (const auto& [begin, end] : store_->WatchedRanges()) {
      pb::WatchRequest request;
      pb::WatchCreateRequest* create = request.mutable_create_request();
      create->set_key(begin);
      create->set_range_end(end.empty() ? kToTheEnd : end);
      create->set_start_revision(next_revision_);
      if (!stream->Write(request)) break;
    }
    // The revision each watch (by watch id) has passed.
    std::map<int64_t, int64_t> passed;
    pb::WatchResponse response;
    while (stream->Read(&response)) {
      if (response.created()) passed[response.watch_id()] = next_revision_;
      if (response.compact_revision() > 0) {
        spdlog::warn("etcd watch: revision {} was compacted; dropping every cached name",
                     next_revision_);
        next_revision_ = response.compact_revision();
        listener_->OnChangesLost();
        context->TryCancel();  // a new stream from the oldest revision left
        break;
      }
      for (const auto& event : response.events()) {
        int64_t revision = event.kv().mod_revision();
        next_revision_ = std::max(next_revision_, revision + 1);
        passed[response.watch_id()] = revision;
        if (store_->IsOwnRevision(revision)) continue;
        std::string_view key;
        if (ColumnFamily* cf = store_->Locate(event.kv().key(), &key)) {
          listener_->OnChange(cf, key, static_cast<uint64_t>(revision));
        }
      }
      if (!passed.empty()) {
        int64_t lowest = passed.begin()->second;
        for (const auto& [id, revision] : passed) lowest = std::min(lowest, revision);
        store_->ForgetOwnRevisionsBefore(lowest);
      }
    }
    grpc::Status status = stream->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      spdlog::info("etcd watch on member {} ended ({}); resuming at revision {} on the next",
                   member, status.error_message(), next_revision_);
    }
  }

  EtcdStore* const store_;
  ChangeListener* const listener_;
  int64_t next_revision_;  // only the watch thread touches it
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  grpc::ClientContext* context_ = nullptr;  // the stream being read
  std::thread thread_;
};

Status EtcdStore::WatchChanges(ChangeListener* listener, std::unique_ptr<ChangeWatch>* watch) {
  int64_t revision = 0;
  if (Status s = CurrentRevision(&revision); !s.ok()) return s;
  *watch = std::make_unique<EtcdWatch>(this, listener, revision + 1);
  return Status::Ok();
}

// ---- Iterator -----------------------------------------------------------------

EtcdIterator::EtcdIterator(EtcdStore* store, const EtcdColumnFamily* cf,
                           const ScanOptions& options)
    : store_(store) {
  const EtcdColumnFamily* resolved = nullptr;
  status_ = store->Resolve(const_cast<ColumnFamily*>(reinterpret_cast<const ColumnFamily*>(cf)),
                           options.snapshot, &resolved, &revision_);
  if (!status_.ok()) {
    unusable_ = true;
    return;
  }
  prefix_size_ = cf->prefix.size();
  cf_prefix_ = cf->prefix;
  lower_ = cf->prefix + options.lower_bound;
  upper_ = options.upper_bound.empty() ? cf->end : cf->prefix + options.upper_bound;
}

void EtcdIterator::Fetch(const std::string& from) {
  page_.reset();
  pos_ = 0;
  if (upper_ != kToTheEnd && from >= upper_) return;  // nothing left
  pb::RangeRequest request;
  request.set_key(from);
  request.set_range_end(upper_);
  request.set_limit(kScanPageKeys);
  request.set_revision(revision_);
  auto page = std::make_unique<pb::RangeResponse>();
  status_ = store_->Range("scan", request, page.get());
  if (!status_.ok()) return;
  if (revision_ == 0) revision_ = page->header().revision();
  page_ = std::move(page);
}

void EtcdIterator::Seek(std::string_view target) {
  if (unusable_) return;
  std::string key = cf_prefix_ + std::string(target);
  if (key < lower_) key = lower_;
  if (status_.ok() && page_ && page_->kvs_size() > 0 && key >= page_->kvs(0).key() &&
      (key <= page_->kvs(page_->kvs_size() - 1).key() || !page_->more())) {
    // Inside the page at hand: no request.
    int lo = 0, hi = page_->kvs_size();
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (page_->kvs(mid).key() < key) lo = mid + 1;
      else hi = mid;
    }
    pos_ = lo;
    return;
  }
  status_ = Status::Ok();
  Fetch(key);
}

void EtcdIterator::Next() {
  ++pos_;
  if (pos_ < page_->kvs_size() || !page_->more()) return;
  std::string from = page_->kvs(page_->kvs_size() - 1).key() + '\0';
  Fetch(from);
}

}  // namespace

// ---- Public functions -----------------------------------------------------------

Status ParseEtcdUrl(std::string_view url, std::vector<std::string>* endpoints) {
  endpoints->clear();
  if (!IsEtcdUrl(url)) {
    return Status::InvalidArgument("'" + std::string(url) + "' does not start with etcd://");
  }
  std::string_view rest = url.substr(kEtcdUrlScheme.size());
  if (rest.empty()) return Status::InvalidArgument("no HOST:PORT after etcd://");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  while (true) {
    size_t comma = rest.find(',');
    std::string_view endpoint = rest.substr(0, comma);
    size_t colon = endpoint.rfind(':');
    std::string_view host = colon == std::string_view::npos ? endpoint : endpoint.substr(0, colon);
    std::string_view port = colon == std::string_view::npos ? "" : endpoint.substr(colon + 1);
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("bad etcd endpoint '" + std::string(endpoint) + "' in " +
                                     std::string(url) + ": " + why + " (want HOST:PORT)");
    };
    if (host.empty()) return bad("no host");
    if (port.empty()) return bad("no port");
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      return bad("the port is not a number");
    }
    int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return bad("the port is not in 1..65535");
    bool bracketed = host.front() == '[';
    if (bracketed != (host.back() == ']') || (bracketed && host.size() < 3)) {
      return bad("unbalanced brackets around the host");
    }
    for (char c : bracketed ? host.substr(1, host.size() - 2) : host) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_' || (bracketed && c == ':');
      if (!ok) return bad("the host holds '" + std::string(1, c) + "'");
    }
    endpoints->emplace_back(endpoint);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return Status::Ok();
}

Status ValidateEtcdPrefix(std::string_view prefix) {
  if (prefix.empty()) {
    return Status::InvalidArgument(
        "the etcd key prefix is empty (give one with -o prefix=P, e.g. prefix=myapp/)");
  }
  if (prefix.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("the etcd key prefix holds a NUL byte (reserved for rocksfs)");
  }
  return Status::Ok();
}

Status OpenEtcdStore(const EtcdOpenOptions& options, std::unique_ptr<Store>* store) {
  store->reset();
  if (options.endpoints.empty()) return Status::InvalidArgument("no etcd endpoints");
  if (Status s = ValidateEtcdPrefix(options.prefix); !s.ok()) return s;
  if (options.timeout_ms == 0) return Status::InvalidArgument("etcd timeout of 0 ms");
  auto etcd = std::make_unique<EtcdStore>(options);
  if (Status s = etcd->Connect(); !s.ok()) return s;
  *store = std::move(etcd);
  return Status::Ok();
}

}  // namespace rocksfs::kv
