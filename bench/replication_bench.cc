// replication_bench: a replicated volume driven in-process over loopback TCP, with one and
// with three replicas, beside the engine alone, in one run. Prints IOPS and latency per
// pattern and the ratios; then rebuild figures: a replica that missed 1% of the volume's
// blocks, and one that missed all of them.
//
//   replication_bench [--dir DIR] [--size 256M] [--seconds 3] [--rounds 2] [--buffered]
//                     [--only PATTERN] [--skip-rebuild]
//
// The target, each replica and the benchmark's client are separate event loops and
// threads in one process, talking over TCP on 127.0.0.1: what a volume costs on one
// machine, before any network latency. Each pattern runs for a fixed time on each
// configuration, alternating rounds; the best round counts, which damps the noise of a
// shared machine.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "base/check.h"
#include "base/log.h"
#include "base/random.h"
#include "base/units.h"
#include "engine/pool.h"
#include "env/env.h"
#include "replica/replica_server.h"
#include "target/volume_target.h"

namespace cstor {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kIo = 4096;

struct Config {
  std::string dir = "bench-data-replication";
  uint64_t size = 256 * kMiB;
  double seconds = 3;
  int rounds = 2;
  bool direct = true;
  std::string only;
  bool rebuild = true;
};

// Something the benchmark drives: asynchronous 4 KiB writes and reads.
struct Device {
  std::string name;
  std::function<void(uint64_t, std::string, std::function<void(Status)>)> write;
  std::function<void(uint64_t, uint32_t, std::function<void(Status)>)> read;
};

struct Figures {
  double iops = 0;
  double mean_latency_us = 0;
};

// Keeps `qd` IOs in flight for `seconds`; each completion issues the next.
Figures Drive(const Device& d, bool write, uint32_t qd, double seconds, uint64_t size) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    uint32_t outstanding = 0;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> ops{0}, latency_ns{0}, counter{0};
    std::string data;
    std::string error;
  } st;
  st.data.resize(kIo);
  Random fill(7);
  for (auto& ch : st.data) ch = static_cast<char>(fill.Next());
  const uint64_t blocks = size / kIo;
  std::function<void()> issue = [&] {
    // A fixed pseudo-random walk over the blocks, shared by all issuers.
    uint64_t n = st.counter.fetch_add(1);
    uint64_t block = (n * 0x9E3779B97F4A7C15ull >> 17) % blocks;
    auto start = Clock::now();
    auto done = [&, start](Status s) {
      st.latency_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start)
                           .count();
      st.ops++;
      if (!s.ok()) {
        std::lock_guard l(st.mu);
        if (st.error.empty()) st.error = s.ToString();
        st.stop = true;
      }
      if (!st.stop) return issue();
      std::lock_guard l(st.mu);
      st.outstanding--;
      st.cv.notify_all();
    };
    if (write) {
      d.write(block * kIo, st.data, done);
    } else {
      d.read(block * kIo, kIo, done);
    }
  };
  auto start = Clock::now();
  {
    std::lock_guard l(st.mu);
    st.outstanding = qd;
  }
  for (uint32_t i = 0; i < qd; i++) issue();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  st.stop = true;
  std::unique_lock l(st.mu);
  st.cv.wait(l, [&] { return st.outstanding == 0; });
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (!st.error.empty()) {
    fmt::print(stderr, "{}: {}\n", d.name, st.error);
    std::exit(1);
  }
  return {st.ops / secs, st.ops ? st.latency_ns / 1000.0 / st.ops : 0};
}

// Writes the whole device with 4 KiB... in 1 MiB pieces, QD 8.
void Fill(const Device& d, uint64_t size) {
  std::mutex mu;
  std::condition_variable cv;
  uint32_t outstanding = 0;
  std::string data(kMiB, 'f');
  std::string error;
  for (uint64_t off = 0; off < size; off += kMiB) {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return outstanding < 8; });
    outstanding++;
    l.unlock();
    d.write(off, data, [&](Status s) {
      std::lock_guard g(mu);
      if (!s.ok() && error.empty()) error = s.ToString();
      outstanding--;
      cv.notify_all();
    });
  }
  std::unique_lock l(mu);
  cv.wait(l, [&] { return outstanding == 0; });
  if (!error.empty()) {
    fmt::print(stderr, "fill {}: {}\n", d.name, error);
    std::exit(1);
  }
}

Device TargetDevice(std::string name, target::VolumeTarget* t) {
  return {std::move(name),
          [t](uint64_t off, std::string data, std::function<void(Status)> done) {
            t->Write(off, std::move(data), std::move(done));
          },
          [t](uint64_t off, uint32_t len, std::function<void(Status)> done) {
            t->Read(off, len, [done](Result<std::string> r) { done(r.status()); });
          }};
}

// One replicated volume: a target and `rf` replica servers, each on its own pool.
struct Cluster {
  std::unique_ptr<target::VolumeTarget> target;
  std::vector<std::shared_ptr<engine::Volume>> volumes;
  std::vector<std::unique_ptr<replica::ReplicaServer>> replicas;
  std::vector<replica::ServedVolume> served;

  Status StartReplica(size_t i) {
    CSTOR_ASSIGN_OR_RETURN(auto server, replica::ReplicaServer::Start({}, {served[i]}));
    replicas[i] = std::move(server);
    return Status::Ok();
  }
};

Status WaitHealthy(target::VolumeTarget& t, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (t.GetStatus().phase != replication::Phase::kHealthy) {
    if (Clock::now() > deadline) {
      return Status::Unavailable(fmt::format("volume {} not healthy: {}", t.GetStatus().name,
                                             t.GetStatus().message));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Cluster>> StartCluster(const std::string& name, uint32_t rf,
                                              std::vector<engine::Pool*> pools, uint64_t size) {
  auto c = std::make_unique<Cluster>();
  target::TargetOptions o;
  o.volume.name = name;
  o.volume.secret = "bench-secret";
  o.volume.replication_factor = rf;
  o.listen_address = "127.0.0.1:0";
  CSTOR_ASSIGN_OR_RETURN(c->target, target::VolumeTarget::Start(o));
  for (uint32_t i = 0; i < rf; i++) {
    CSTOR_ASSIGN_OR_RETURN(auto v, pools[i]->CreateVolume(name, size, kIo));
    c->volumes.push_back(v);
    c->served.push_back({v, "bench-secret", c->target->address(), fmt::format("r{}", i + 1),
                         1000u + i, fmt::format("pool{}", i + 1)});
    c->replicas.emplace_back();
    CSTOR_RETURN_IF_ERROR(c->StartReplica(i));
  }
  CSTOR_RETURN_IF_ERROR(WaitHealthy(*c->target, 30));
  return c;
}

Status RemoveTree(Env* env, const std::string& path) {
  CSTOR_ASSIGN_OR_RETURN(FileInfo info, env->Stat(path));
  if (!info.exists) return Status::Ok();
  if (!info.is_directory) return env->DeleteFile(path);
  CSTOR_ASSIGN_OR_RETURN(auto children, env->GetChildren(path));
  for (const auto& child : children) CSTOR_RETURN_IF_ERROR(RemoveTree(env, JoinPath(path, child)));
  return env->DeleteDir(path);
}

std::string Iops(double v) { return fmt::format("{:.0f}", v); }

int Main(const Config& c) {
  Env* env = Env::Default();
  SetLogLevel("warn");
  // A fresh directory: pools from an earlier run are removed.
  CSTOR_CHECK_OK(RemoveTree(env, c.dir));
  CSTOR_CHECK_OK(env->CreateDirs(c.dir));
  engine::PoolOptions opts;
  opts.direct_io = c.direct;
  std::vector<std::unique_ptr<engine::Pool>> pools;
  for (int i = 1; i <= 3; i++) {
    auto p = engine::Pool::Create(JoinPath(c.dir, fmt::format("pool{}", i)),
                                  {{"dev0.img", c.size * 4 + 256 * kMiB}}, opts);
    if (!p.ok()) {
      fmt::print(stderr, "create pool: {}\n", p.status().ToString());
      return 1;
    }
    pools.push_back(std::move(*p));
  }
  fmt::print("replication_bench: {} volumes, 4 KiB IO, {} IO on the pools, {} s per run, best "
             "of {}; target and replicas in this process over loopback TCP\n",
             FormatBytes(c.size), c.direct ? "direct" : "buffered", c.seconds, c.rounds);

  // The engine alone: the same volume size on pool 1, driven by a thread per IO in flight.
  auto solo = *pools[0]->CreateVolume("solo", c.size, kIo);
  asio::thread_pool solo_threads(32);
  std::atomic<uint64_t> solo_seq{0};
  Device engine_dev{
      "engine alone",
      [&](uint64_t off, std::string data, std::function<void(Status)> done) {
        asio::post(solo_threads, [&, off, data = std::move(data), done = std::move(done)] {
          done(solo->Write(off, std::as_bytes(std::span(data)), ++solo_seq));
        });
      },
      [&](uint64_t off, uint32_t len, std::function<void(Status)> done) {
        asio::post(solo_threads, [&, off, len, done = std::move(done)] {
          std::string out(len, '\0');
          done(solo->Read(off, std::as_writable_bytes(std::span(out))));
        });
      }};

  auto rf1 = StartCluster("rf1", 1, {pools[0].get()}, c.size);
  auto rf3 = StartCluster("rf3", 3, {pools[0].get(), pools[1].get(), pools[2].get()}, c.size);
  if (!rf1.ok() || !rf3.ok()) {
    fmt::print(stderr, "start: {}\n", (!rf1.ok() ? rf1.status() : rf3.status()).ToString());
    return 1;
  }
  Device rf1_dev = TargetDevice("RF=1", (*rf1)->target.get());
  Device rf3_dev = TargetDevice("RF=3", (*rf3)->target.get());
  std::vector<const Device*> devices = {&engine_dev, &rf1_dev, &rf3_dev};
  auto fill_start = Clock::now();
  for (const Device* d : devices) Fill(*d, c.size);
  fmt::print("prefilled the three volumes in {:.1f} s\n\n",
             std::chrono::duration<double>(Clock::now() - fill_start).count());

  struct Pattern {
    std::string name;
    bool write;
    uint32_t qd;
  };
  const std::vector<Pattern> patterns = {{"4K random write QD1", true, 1},
                                         {"4K random write QD32", true, 32},
                                         {"4K random read QD1", false, 1},
                                         {"4K random read QD32", false, 32}};
  fmt::print("{:<22} {:>14} {:>14} {:>14} {:>11} {:>12}\n", "pattern (IOPS)", "engine alone",
             "RF=1", "RF=3", "RF=3/RF=1", "RF=3/engine");
  std::vector<std::vector<Figures>> best(patterns.size(), std::vector<Figures>(3));
  for (size_t p = 0; p < patterns.size(); p++) {
    const Pattern& pat = patterns[p];
    if (!c.only.empty() && pat.name.find(c.only) == std::string::npos) continue;
    for (int r = 0; r < c.rounds; r++) {
      for (size_t d = 0; d < devices.size(); d++) {
        Figures f = Drive(*devices[d], pat.write, pat.qd, c.seconds, c.size);
        if (f.iops > best[p][d].iops) best[p][d] = f;
      }
    }
    auto& b = best[p];
    fmt::print("{:<22} {:>14} {:>14} {:>14} {:>11.2f} {:>12.2f}{}\n", pat.name, Iops(b[0].iops),
               Iops(b[1].iops), Iops(b[2].iops), b[2].iops / b[1].iops, b[2].iops / b[0].iops,
               pat.write && pat.qd == 32 ? "   (goal RF=3/RF=1 >= 0.60)" : "");
  }
  // Here the three replicas share one disk, so each RF=3 write waits for the second of
  // three writes the disk takes at once; the engine with three writes in flight shows what
  // that alone costs.
  fmt::print("\nmean latency at QD1 (us)   engine alone   engine, 3 in flight   RF=1   RF=3   "
             "added by RF=3 (goal < 100)\n");
  for (size_t p : {size_t{0}, size_t{2}}) {
    if (best[p][0].iops == 0) continue;
    auto& b = best[p];
    Figures shared;
    for (int r = 0; r < c.rounds; r++) {
      Figures f = Drive(engine_dev, patterns[p].write, 3, c.seconds, c.size);
      if (shared.iops == 0 || f.mean_latency_us < shared.mean_latency_us) shared = f;
    }
    fmt::print("  {:<24} {:>12.0f} {:>21.0f} {:>6.0f} {:>6.0f} {:>8.0f} over engine alone, {:.0f} "
               "over 3 in flight\n",
               patterns[p].name, b[0].mean_latency_us, shared.mean_latency_us,
               b[1].mean_latency_us, b[2].mean_latency_us,
               b[2].mean_latency_us - b[0].mean_latency_us,
               b[2].mean_latency_us - shared.mean_latency_us);
  }

  if (c.rebuild) {
    Cluster& cl = **rf3;
    auto rebuild = [&](const std::string& what, uint64_t blocks_to_write, bool sequential) {
      // Everything so far durable everywhere: the replica's checkpoint is current.
      CSTOR_CHECK_OK(cl.target->FlushSync());
      cl.replicas[2]->Stop();
      cl.replicas[2].reset();
      // Writes it misses: distinct blocks.
      const uint64_t blocks = c.size / kIo;
      Random rng(blocks_to_write);
      std::string data(kIo, 'm');
      for (uint64_t i = 0; i < blocks_to_write; i++) {
        uint64_t block = sequential ? i : (i * 0x9E3779B97F4A7C15ull >> 13) % blocks;
        CSTOR_CHECK_OK(cl.target->WriteSync(block * kIo, data));
      }
      // Distinct blocks written (the random walk may repeat a few).
      std::set<uint64_t> distinct;
      for (uint64_t i = 0; i < blocks_to_write; i++) {
        distinct.insert(sequential ? i : (i * 0x9E3779B97F4A7C15ull >> 13) % blocks);
      }
      CSTOR_CHECK_OK(cl.StartReplica(2));
      CSTOR_CHECK_OK(WaitHealthy(*cl.target, 300));
      auto state = cl.replicas[2]->State().at(0);
      uint64_t missed = distinct.size() * kIo;
      fmt::print("  {:<34} missed {:>10}, copied {:>10} ({:.2f}x what it missed, {:.1f}% of the "
                 "volume) in {:.2f} s: {:.0f} MiB/s copied\n",
                 what, FormatBytes(missed), FormatBytes(state.last_rebuild_bytes),
                 double(state.last_rebuild_bytes) / missed,
                 100.0 * state.last_rebuild_bytes / c.size,
                 state.last_rebuild_micros / 1e6,
                 state.last_rebuild_bytes / kMiB / std::max(1e-6, state.last_rebuild_micros / 1e6));
    };
    fmt::print("\nrebuild of a replica of the RF=3 volume that was down while others were written\n");
    rebuild("1% of the blocks, random", c.size / kIo / 100, false);
    rebuild("every block", c.size / kIo, true);
  }
  (*rf1)->target->Stop();
  (*rf3)->target->Stop();
  for (auto* cl : {rf1->get(), rf3->get()}) {
    for (auto& r : cl->replicas) {
      if (r) r->Stop();
    }
  }
  solo_threads.join();
  return 0;
}

}  // namespace
}  // namespace cstor


// A size option such as 256M, checked by the project's own parser.
static CLI::Validator SizeCheck() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        auto s = cstor::ParseSize(v);
        return s.ok() ? std::string() : s.status().message();
      },
      "SIZE");
}

int main(int argc, char** argv) {
  cstor::Config c;
  std::string size = "256M";
  CLI::App app{"A replicated volume with RF=1 and RF=3 beside the engine alone, same run"};
  app.add_option("--dir", c.dir, "Where the pools go")->capture_default_str();
  app.add_option("--size", size, "Volume size")->check(SizeCheck())->capture_default_str();
  app.add_option("--seconds", c.seconds, "Seconds per pattern and round")->capture_default_str();
  app.add_option("--rounds", c.rounds, "Rounds (the best counts)")->capture_default_str();
  app.add_flag("--buffered", [&c](int64_t) { c.direct = false; }, "Buffered IO instead of direct");
  app.add_option("--only", c.only, "Run only patterns whose name contains this");
  app.add_flag("--skip-rebuild", [&c](int64_t) { c.rebuild = false; }, "Skip the rebuild figures");
  CLI11_PARSE(app, argc, argv);
  c.size = *cstor::ParseSize(size);
  return cstor::Main(c);
}
