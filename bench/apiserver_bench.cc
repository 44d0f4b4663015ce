// apiserver_bench: the embedded API server under 10,000 objects. It starts `cstor
// apiserver` as a child process (so that its memory is its own) and drives it over HTTPS
// with the client library: create, update, list and watch-event latency (one watch, then
// a thousand open at once), requests answered while ten thousand idle connections are
// open, the server's memory, and how long a restart takes to load the store.
//
//   apiserver_bench [--cstor PATH] [--objects 10000] [--threads 16] [--watch-samples 300]
//                   [--watches 1000] [--idle 10000] [--sync-delay-us 0]
//
// --sync-delay-us N runs the baseline and the server under slow_sync (LD_PRELOAD), which
// makes every fsync and fdatasync N microseconds longer: a disk whose flush is slow, where
// sharing a sync among writers is what group commit is for.
//
// The baseline, measured in the same run, is SQLite itself: single-row transactions of the
// same objects, from the same number of threads, with the server's durability settings
// (WAL, synchronous=FULL). The server's store commits concurrent writers in groups (one
// transaction and one sync for all that wait), so "x sqlite" above 1 is group commit
// paying for the rest of the server. Goals: create at 1.5x sqlite or more with 16 writers;
// p99 event latency under 10 ms with a thousand watches open.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "api/cstor_types.h"
#include "api/kube_types.h"
#include "base/mutex.h"
#include "client/client.h"

namespace cstor {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

api::CStorVolumeReplica Replica(int i) {
  api::CStorVolumeReplica r;
  r.metadata.name = fmt::format("pvc-{:08d}-cstor-disk-pool-x7kq", i);
  r.metadata.namespace_ = "openebs";
  r.metadata.labels[std::string(api::kLabelPoolInstanceName)] = fmt::format("cstor-disk-pool-{}", i % 3);
  r.metadata.labels[std::string(api::kLabelVolumeName)] = fmt::format("pvc-{:08d}", i);
  r.metadata.labels[std::string(api::kLabelPersistentVolume)] = fmt::format("pvc-{:08d}", i);
  r.metadata.finalizers.push_back(std::string(api::kFinalizerVolumeReplica));
  r.spec.capacity = "10Gi";
  r.spec.target_ip = "10.96.143.27";
  r.spec.replica_id = fmt::format("{:016X}", i * 2654435761u);
  r.spec.zvol_workers = "4";
  r.spec.compression = "lz4";
  r.spec.block_size = 4096;
  return r;
}

// The server process.
struct Server {
  pid_t pid = -1;
  std::string kubeconfig;
  std::string listen;

  static Server Start(const std::string& cstor, const std::string& dir, const std::string& listen) {
    Server s;
    s.listen = listen;
    const std::string log = dir + ".log";
    fs::remove(log);  // the previous run's lines must not pass for this one's
    s.pid = fork();
    if (s.pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(cstor.c_str(), cstor.c_str(), "--log-level", "warn", "apiserver", "--data", dir.c_str(),
            "--listen", listen.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Serving once the log names the kubeconfig.
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(log);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("kubeconfig: ", 0) == 0) s.kubeconfig = line.substr(12);
        if (line.rfind("apiserver: https://", 0) == 0 && s.listen.ends_with(":0")) {
          s.listen = line.substr(19);
        }
      }
      if (!s.kubeconfig.empty()) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the API server did not start; see " + log);
  }

  // VmRSS and VmHWM in MiB.
  std::pair<double, double> Memory() const {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    double rss = 0, hwm = 0;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
      if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
    }
    return {rss, hwm};
  }

  void Stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// Connections that completed a TLS handshake and then say nothing, as clients between
// requests do.
class IdleConnections {
 public:
  IdleConnections() : ctx_(SSL_CTX_new(TLS_client_method())) { SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr); }
  ~IdleConnections() {
    for (auto& [fd, ssl] : conns_) {
      SSL_free(ssl);
      close(fd);
    }
    SSL_CTX_free(ctx_);
  }
  // Opens connections to `listen` ("127.0.0.1:port") until `n` are open; false on the
  // first that fails.
  bool Open(const std::string& listen, int n) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1))));
    inet_pton(AF_INET, listen.substr(0, listen.rfind(':')).c_str(), &addr.sin_addr);
    while (static_cast<int>(conns_.size()) < n) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      // A server out of descriptors may leave the handshake unanswered: fail, not hang.
      const timeval timeout{10, 0};
      if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      }
      if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd >= 0) close(fd);
        return false;
      }
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return false;
      }
      conns_.emplace_back(fd, ssl);
    }
    return true;
  }
  // How many the server has not closed. (A connection may be readable without being
  // closed: TLS 1.3 servers send session tickets after the handshake.)
  int StillOpen() const {
    int open = 0;
    for (const auto& [fd, ssl] : conns_) {
      pollfd p{fd, POLLRDHUP, 0};
      open += poll(&p, 1, 0) == 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0 ? 1 : 0;
    }
    return open;
  }
  int size() const { return static_cast<int>(conns_.size()); }

 private:
  SSL_CTX* ctx_;
  std::vector<std::pair<int, SSL*>> conns_;
};

// Runs fn(i) for i in [0, n) on `threads` threads; returns per-call latencies in ms.
std::vector<double> Parallel(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i; (i = next++) < n;) {
        auto start = Clock::now();
        fn(i);
        lat[static_cast<size_t>(t)].push_back(Seconds(Clock::now() - start) * 1000);
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// SQLite alone: one committed transaction per object, as the server's store does.
double SqliteCommitsPerSecond(const std::string& path, int n, int threads) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;", nullptr, nullptr, nullptr);
  sqlite3_busy_timeout(db, 10000);
  sqlite3_close(db);
  std::vector<std::string> docs;
  for (int i = 0; i < n; ++i) docs.push_back(json(Replica(i)).dump());
  auto start = Clock::now();
  // Writers serialize in SQLite as in the server; each thread has its own connection.
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      sqlite3* c = nullptr;
      sqlite3_open(path.c_str(), &c);
      sqlite3_busy_timeout(c, 10000);
      sqlite3_exec(c, "PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(c, "INSERT INTO t VALUES (?1, ?2)", -1, &st, nullptr);
      for (int i; (i = next++) < n;) {
        const std::string key = std::to_string(i);
        sqlite3_exec(c, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        sqlite3_bind_text(st, 2, docs[static_cast<size_t>(i)].data(),
                          static_cast<int>(docs[static_cast<size_t>(i)].size()), SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_exec(c, "COMMIT", nullptr, nullptr, nullptr);
      }
      sqlite3_finalize(st);
      sqlite3_close(c);
    });
  }
  for (auto& th : pool) th.join();
  return n / Seconds(Clock::now() - start);
}

int Run(const std::string& cstor, int objects, int threads, int samples, int watches, int idle_target) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("cstor-apiserver-bench-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  fmt::print("apiserver_bench: {} objects (CStorVolumeReplica, ~{} bytes of JSON each), {} client threads\n",
             objects, json(Replica(0)).dump().size(), threads);

  const double sqlite_rate = SqliteCommitsPerSecond((dir / "baseline.db").string(), objects, threads);
  Server server = Server::Start(cstor, (dir / "api").string(), "127.0.0.1:0");
  auto cfg = client::LoadKubeconfig(server.kubeconfig);
  if (!cfg.ok()) throw std::runtime_error(cfg.status().ToString());
  client::Client api(*cfg);
  (void)api.Create(api::Namespace::kType, "", json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "openebs"}}}});
  const auto [rss0, hwm0] = server.Memory();

  std::atomic<int> errors{0};
  auto check = [&](const Status& s) {
    if (!s.ok() && errors++ < 5) fmt::print(stderr, "error: {}\n", s.ToString());
  };
  // Create.
  auto t0 = Clock::now();
  std::vector<double> create_lat = Parallel(objects, threads, [&](int i) { check(api.Create(Replica(i)).status()); });
  const double create_rate = objects / Seconds(Clock::now() - t0);
  const auto [rss1, hwm1] = server.Memory();

  // Update: read-modify-write with the resourceVersion, as a controller does.
  t0 = Clock::now();
  std::vector<double> update_lat = Parallel(objects, threads, [&](int i) {
    auto r = api.Get<api::CStorVolumeReplica>("openebs", Replica(i).metadata.name);
    if (!r.ok()) return check(r.status());
    r->spec.capacity = "20Gi";
    check(api.Update(*r).status());
  });
  const double update_rate = objects / Seconds(Clock::now() - t0);

  // List: everything at once, and in pages of 500.
  std::vector<double> list_ms, paged_ms;
  size_t list_bytes = 0;
  for (int round = 0; round < 5; ++round) {
    auto start = Clock::now();
    auto all = api.List(api::CStorVolumeReplica::kType, "openebs");
    list_ms.push_back(Seconds(Clock::now() - start) * 1000);
    if (!all.ok()) throw std::runtime_error(all.status().ToString());
    if ((*all)["items"].size() != static_cast<size_t>(objects)) throw std::runtime_error("list is short");
    list_bytes = all->dump().size();
    start = Clock::now();
    client::ListOptions paged;
    paged.limit = 500;
    auto pages = api.ListAll(api::CStorVolumeReplica::kType, "openebs", paged);
    paged_ms.push_back(Seconds(Clock::now() - start) * 1000);
    if (!pages.ok() || (*pages)["items"].size() != static_cast<size_t>(objects)) throw std::runtime_error("paged list is short");
  }
  // In-process serialization of the same list: the floor for a list's cost.
  auto list = api.List(api::CStorVolumeReplica::kType, "openebs");
  auto start = Clock::now();
  for (int round = 0; round < 5; ++round) list_bytes = std::max(list_bytes, list->dump().size());
  const double dump_ms = Seconds(Clock::now() - start) * 1000 / 5;

  // Watch latency: from the start of a write to its event arriving at a watcher, one
  // write at a time, with 10,000 objects stored.
  std::vector<double> watch_lat(static_cast<size_t>(samples));
  std::atomic<int> received{-1};
  std::vector<Clock::time_point> sent(static_cast<size_t>(samples));
  client::WatchCanceller cancel;
  const std::string from = (*list)["metadata"]["resourceVersion"];
  std::thread watcher([&] {
    client::WatchOptions wo;
    wo.resource_version = from;
    wo.label_selector = "cstorpoolinstance.openebs.io/name=cstor-disk-pool-0";
    (void)api.Watch(api::CStorVolumeReplica::kType, "openebs", wo, [&](client::WatchEvent& ev) {
      if (ev.type == "ERROR") fmt::print(stderr, "watch error: {}\n", ev.object.dump());
      if (ev.type != "MODIFIED" || !ev.object.contains("spec")) return true;
      int i = ev.object["spec"].value("blockSize", 0) - 100000;
      if (i >= 0 && i < samples) {
        watch_lat[static_cast<size_t>(i)] = Seconds(Clock::now() - sent[static_cast<size_t>(i)]) * 1000;
        received = i;
      }
      return received + 1 < samples;
    }, &cancel);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < samples; ++i) {
    sent[static_cast<size_t>(i)] = Clock::now();
    check(api.Patch(api::CStorVolumeReplica::kType, "openebs", Replica(i * 3).metadata.name,
                    client::PatchType::kMerge, {{"spec", {{"blockSize", 100000 + i}}}}).status());
    for (int spin = 0; received < i && spin < 20000; ++spin) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  cancel.Cancel();
  watcher.join();
  const auto [rss2, hwm2] = server.Memory();

  // A thousand watches open at once, each selecting one volume's replica by label, as many
  // controllers and their informers do: every change is offered to all of them and
  // delivered to the one that selects it.
  const int nwatch = std::min(watches, objects);
  std::vector<std::atomic<int>> seen(static_cast<size_t>(nwatch));  // last sample each watch saw
  for (auto& v : seen) v = -1;
  std::vector<client::WatchCanceller> cancels(static_cast<size_t>(nwatch));
  std::vector<std::thread> watchers;
  const int64_t base = 200000;
  std::vector<double> many_lat;
  Mutex many_mu;
  std::vector<Clock::time_point> many_sent(static_cast<size_t>(nwatch) * 2);
  auto after_one = api.List(api::CStorVolumeReplica::kType, "openebs");
  const std::string many_from = (*after_one)["metadata"]["resourceVersion"];
  for (int w = 0; w < nwatch; ++w) {
    watchers.emplace_back([&, w] {
      client::WatchOptions wo;
      wo.resource_version = many_from;
      wo.label_selector = fmt::format("{}=pvc-{:08d}", api::kLabelPersistentVolume, w);
      (void)api.Watch(api::CStorVolumeReplica::kType, "openebs", wo, [&, w](client::WatchEvent& ev) {
        if (ev.type == "ERROR") fmt::print(stderr, "watch {} error: {}\n", w, ev.object.dump());
        if (!ev.object.contains("spec") || !ev.object["spec"].is_object()) return true;
        const int64_t k = ev.object["spec"].value("blockSize", int64_t{0}) - base;
        if (ev.type == "MODIFIED" && k >= 0 && k < static_cast<int64_t>(many_sent.size())) {
          if (k >= nwatch) {
            MutexLock lock(&many_mu);
            many_lat.push_back(Seconds(Clock::now() - many_sent[static_cast<size_t>(k)]) * 1000);
          }
          seen[static_cast<size_t>(w)] = static_cast<int>(k);
        }
        return true;
      }, &cancels[static_cast<size_t>(w)]);
    });
  }
  auto patch = [&](int w, int k) {
    many_sent[static_cast<size_t>(k)] = Clock::now();
    check(api.Patch(api::CStorVolumeReplica::kType, "openebs", Replica(w).metadata.name, client::PatchType::kMerge,
                    {{"spec", {{"blockSize", base + k}}}}).status());
  };
  auto wait_seen = [&](int w, int k) {
    for (int spin = 0; seen[static_cast<size_t>(w)] < k && spin < 40000; ++spin) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return seen[static_cast<size_t>(w)] >= k;
  };
  // Warm-up: one change per watch, each seen before going on, proves every watch is live.
  int live = 0;
  for (int w = 0; w < nwatch; ++w) {
    patch(w, w);
    live += wait_seen(w, w) ? 1 : 0;
  }
  const auto [rss_watch, hwm_watch] = server.Memory();
  // Timed: one change at a time to the watches in turn, each latency at its watch.
  for (int w = 0; w < nwatch; ++w) {
    patch(w, nwatch + w);
    wait_seen(w, nwatch + w);
  }
  for (auto& c : cancels) c.Cancel();
  for (auto& t : watchers) t.join();

  // Idle connections: ten thousand clients connected and silent; the server goes on
  // answering (a read-modify-write of each of a thousand objects, timed) and closes none.
  auto idle = std::make_unique<IdleConnections>();
  const auto idle_start = Clock::now();
  const bool idle_opened = idle->Open(server.listen, idle_target);
  const double idle_open_s = Seconds(Clock::now() - idle_start);
  if (!idle_opened) fmt::print(stderr, "only {} idle connections opened\n", idle->size());
  const auto [rss_idle, hwm_idle] = server.Memory();
  const int idle_ops = std::min(objects, 1000);
  std::vector<double> idle_lat = Parallel(idle_ops, threads, [&](int i) {
    auto r = api.Get<api::CStorVolumeReplica>("openebs", Replica(i).metadata.name);
    if (!r.ok()) return check(r.status());
    r->spec.capacity = "30Gi";
    check(api.Update(*r).status());
  });
  const int idle_open = idle->StillOpen();
  idle.reset();

  // Restart: how long the server takes to load 10,000 objects and serve again.
  const std::string listen = server.listen;
  server.Stop();
  start = Clock::now();
  server = Server::Start(cstor, (dir / "api").string(), listen);
  const double restart_s = Seconds(Clock::now() - start);
  const auto [rss3, hwm3] = server.Memory();
  auto after = api.List(api::CStorVolumeReplica::kType, "openebs");
  const bool kept = after.ok() && (*after)["items"].size() == static_cast<size_t>(objects);
  if (!after.ok()) fmt::print(stderr, "list after restart: {}\n", after.status().ToString());
  server.Stop();
  const double db_mib = static_cast<double>(fs::file_size(dir / "api" / "state.db") +
                                            (fs::exists(dir / "api" / "state.db-wal") ? fs::file_size(dir / "api" / "state.db-wal") : 0)) /
                        (1 << 20);

  fmt::print("\n{:<34} {:>12} {:>12} {:>12}\n", "", "per second", "p50 ms", "p99 ms");
  fmt::print("{:<34} {:>12.0f}\n", "sqlite commits (baseline)", sqlite_rate);
  fmt::print("{:<34} {:>12.0f} {:>12.2f} {:>12.2f}   {:.2f}x sqlite\n", "create", create_rate,
             Percentile(create_lat, 0.5), Percentile(create_lat, 0.99), create_rate / sqlite_rate);
  fmt::print("{:<34} {:>12.0f} {:>12.2f} {:>12.2f}   {:.2f}x sqlite\n", "get + update", update_rate,
             Percentile(update_lat, 0.5), Percentile(update_lat, 0.99), update_rate / sqlite_rate);
  fmt::print("{:<34} {:>12} {:>12.1f} {:>12.1f}   {:.1f} MiB; {:.1f}x an in-process dump ({:.1f} ms)\n",
             fmt::format("list {} (one response)", objects), "", Percentile(list_ms, 0.5),
             *std::max_element(list_ms.begin(), list_ms.end()), list_bytes / 1048576.0,
             Percentile(list_ms, 0.5) / dump_ms, dump_ms);
  fmt::print("{:<34} {:>12} {:>12.1f} {:>12.1f}\n", fmt::format("list {} (pages of 500)", objects), "",
             Percentile(paged_ms, 0.5), *std::max_element(paged_ms.begin(), paged_ms.end()));
  fmt::print("{:<34} {:>12} {:>12.2f} {:>12.2f}   ({} samples)\n", "watch event latency", "",
             Percentile(watch_lat, 0.5), Percentile(watch_lat, 0.99), samples);
  fmt::print("{:<34} {:>12} {:>12.2f} {:>12.2f}   ({} samples; {} of {} watches live)\n",
             fmt::format("  with {} watches open", nwatch), "", Percentile(many_lat, 0.5), Percentile(many_lat, 0.99),
             many_lat.size(), live, nwatch);
  fmt::print("{:<34} {:>12} {:>12.2f} {:>12.2f}   ({} idle TLS connections opened in {:.1f} s, {} still open after)\n",
             "  get + update beside idle ones", "", Percentile(idle_lat, 0.5), Percentile(idle_lat, 0.99),
             idle_target, idle_open_s, idle_open);
  fmt::print("\nserver memory (RSS, MiB): {:.1f} empty, {:.1f} after creates, {:.1f} after updates and lists, "
             "{:.1f} with {} watches open, {:.1f} with {} idle connections; peak {:.1f}\n",
             rss0, rss1, rss2, rss_watch, nwatch, rss_idle, idle_target, std::max({hwm1, hwm2, hwm_watch, hwm_idle}));
  fmt::print("restart with {} objects: serving again after {:.2f} s, RSS {:.1f} MiB, all objects kept: {}\n",
             objects, restart_s, rss3, kept ? "yes" : "NO");
  fmt::print("database on disk: {:.1f} MiB; errors: {}\n", db_mib, errors.load());
  fs::remove_all(dir);
  return errors == 0 && kept && live == nwatch && idle_opened && idle_open == idle_target ? 0 : 1;
}

}  // namespace
}  // namespace cstor

int main(int argc, char** argv) {
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;  // ten thousand idle connections need as many descriptors
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  CLI::App app{"the embedded API server with 10,000 objects"};
  std::string cstor = (std::filesystem::path(argv[0]).parent_path() / ".." / "src" / "cli" / "cstor").string();
  int objects = 10000, threads = 16, samples = 300, watches = 1000, idle = 10000;
  app.add_option("--cstor", cstor, "the cstor binary")->capture_default_str();
  app.add_option("--objects", objects, "objects to create")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--threads", threads, "client threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--watch-samples", samples, "writes timed through a watch")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--watches", watches, "watches open at once")->capture_default_str()->check(CLI::Range(1, 5000));
  app.add_option("--idle", idle, "idle connections open at once")->capture_default_str()->check(CLI::Range(1, 15000));
  long sync_delay_us = 0;
  app.add_option("--sync-delay-us", sync_delay_us, "make every sync this much slower (slow_sync, preloaded)")
      ->capture_default_str()->check(CLI::Range(0L, 100'000L));
  CLI11_PARSE(app, argc, argv);
  if (sync_delay_us > 0) {
    // Run again with the library preloaded, for this process and the server it starts.
    const std::string lib = (std::filesystem::canonical("/proc/self/exe").parent_path() / "libslow_sync.so").string();
    const char* preload = getenv("LD_PRELOAD");
    if (preload == nullptr || std::string(preload).find("libslow_sync.so") == std::string::npos) {
      if (!std::filesystem::exists(lib)) {
        fmt::print(stderr, "apiserver_bench: {} is missing (build the slow_sync target)\n", lib);
        return 1;
      }
      setenv("SLOW_SYNC_US", std::to_string(sync_delay_us).c_str(), 1);
      setenv("LD_PRELOAD", lib.c_str(), 1);
      execv("/proc/self/exe", argv);
      fmt::print(stderr, "apiserver_bench: cannot re-run with {} preloaded\n", lib);
      return 1;
    }
    fmt::print("every sync made {} us slower (slow_sync preloaded)\n", sync_delay_us);
  }
  samples = std::min(samples, (objects + 2) / 3);
  try {
    return cstor::Run(cstor, objects, threads, samples, watches, idle);
  } catch (const std::exception& e) {
    fmt::print(stderr, "apiserver_bench: {}\n", e.what());
    return 1;
  }
}
