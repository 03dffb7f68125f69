// EtcdCluster: real etcd members for tests, on free 127.0.0.1 ports, each
// with its own data directory under a fresh temporary directory, stopped by
// PID and removed on destruction.
//
// Thread-safety: one thread at a time.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kv/etcd_store.h"

namespace rocksfs::kv::testing {

// A port nobody listens on right now (bind to port 0, read it, close).
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// The path of the etcd server binary, or "" (tests then skip).
inline std::string EtcdBinary() {
  for (const char* path : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

class EtcdCluster {
 public:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    pid_t pid = -1;
  };

  // `extra_flags` go to every member (e.g. "--max-txn-ops=16").
  explicit EtcdCluster(int members, std::vector<std::string> extra_flags = {})
      : extra_flags_(std::move(extra_flags)) {
    char dir_template[] = "/tmp/rocksfs-etcd-test-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client_port = FreePort();
      m.peer_port = FreePort();
      m.data_dir = dir_ + "/" + m.name;
      members_.push_back(m);
    }
    for (size_t i = 0; i < members_.size(); ++i) Start(i);
  }

  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) Stop(i);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::vector<std::string> Endpoints() const {
    std::vector<std::string> out;
    for (const Member& m : members_) out.push_back("127.0.0.1:" + std::to_string(m.client_port));
    return out;
  }
  std::string EndpointList() const {
    std::string out;
    for (const std::string& e : Endpoints()) out += (out.empty() ? "" : ",") + e;
    return out;
  }
  const Member& member(size_t i) const { return members_[i]; }
  size_t size() const { return members_.size(); }

  void Start(size_t i) {
    Member& m = members_[i];
    if (m.pid > 0) return;
    std::string initial;
    for (const Member& other : members_) {
      if (!initial.empty()) initial += ',';
      initial += other.name + "=http://127.0.0.1:" + std::to_string(other.peer_port);
    }
    std::vector<std::string> args = {
        EtcdBinary(),
        "--name=" + m.name,
        "--data-dir=" + m.data_dir,
        "--listen-client-urls=http://127.0.0.1:" + std::to_string(m.client_port),
        "--advertise-client-urls=http://127.0.0.1:" + std::to_string(m.client_port),
        "--listen-peer-urls=http://127.0.0.1:" + std::to_string(m.peer_port),
        "--initial-advertise-peer-urls=http://127.0.0.1:" + std::to_string(m.peer_port),
        "--initial-cluster=" + initial,
        "--initial-cluster-state=new",
        "--initial-cluster-token=rocksfs-test",
    };
    for (const std::string& flag : extra_flags_) args.push_back(flag);
    std::string log = dir_ + "/" + m.name + ".log";
    // Everything the child needs is made before the fork: only
    // async-signal-safe calls after it (the test process has threads).
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    m.pid = pid;
  }

  // SIGKILL: the member dies as in a crash.
  void Kill(size_t i) { Signal(i, SIGKILL); }
  void Stop(size_t i) { Signal(i, SIGTERM); }

  // Waits until the cluster answers a linearizable read (so it has a
  // leader), or fails the test.
  void WaitReady(std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    Status last;
    while (std::chrono::steady_clock::now() < deadline) {
      EtcdOpenOptions options;
      options.endpoints = Endpoints();
      options.prefix = "ready/";
      options.timeout_ms = 1000;
      std::unique_ptr<Store> store;
      last = OpenEtcdStore(options, &store);
      if (last.ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "etcd cluster did not become ready: " << last.ToString();
  }

  // Runs etcdctl against the cluster and returns its standard output.
  std::string Etcdctl(const std::string& args) const {
    std::string command = "ETCDCTL_API=3 etcdctl --endpoints=" + EndpointList() + " " + args;
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  }

 private:
  void Signal(size_t i, int signal) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, signal);
    int status;
    ::waitpid(m.pid, &status, 0);
    m.pid = -1;
  }

  std::string dir_;
  std::vector<Member> members_;
  std::vector<std::string> extra_flags_;
};

}  // namespace rocksfs::kv::testing
