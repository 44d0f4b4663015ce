// replication_sim: deterministic simulation of cstor's replication. For each seed, a target
// and three replicas run on a simulated network, clock and disks (sim/), under a client
// workload and the fault schedule of sim/faults.cc — crashes of replicas, of the target, of
// both and of everything, partitions, slow and failing disks, failed fsyncs, lost
// unflushed writes, corrupted blocks, resets, and delayed, duplicated and reordered
// messages — with fault points inside the production code (base/buggify.h), while the
// checker verifies every read and every failed IO (docs/replication.md lists the
// invariants). Then the faults stop and the volume must heal: every replica healthy, every
// block as the client expects, replicas identical, snapshots intact.
//
//   replication_sim [--seed N] [--seeds COUNT] [--seconds S] [--verbose] [--no-buggify]
//                   [--engine] [--stop-on-failure]
//
// --engine puts the replicas on the real engine (sim/engine_disk.h) instead of SimStore.
//
// A failing seed prints the command that replays it exactly.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "sim/cluster.h"

int main(int argc, char** argv) {
  uint64_t first = 0, count = 1;
  bool stop_on_failure = false;
  cstor::sim::SimOptions options;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> uint64_t {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--seed") {
      first = value();
    } else if (a == "--seeds") {
      count = value();
    } else if (a == "--seconds") {
      options.seconds = value();
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--no-buggify") {
      options.buggify = false;
    } else if (a == "--engine") {
      options.engine = true;
    } else if (a == "--stop-on-failure") {
      stop_on_failure = true;
    } else {
      fmt::print(stderr, "usage: replication_sim [--seed N] [--seeds COUNT] [--seconds S] "
                         "[--verbose] [--no-buggify] [--engine] [--stop-on-failure]\n");
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  cstor::sim::SimStats total;
  uint64_t failed = 0, ran = 0;
  for (uint64_t seed = first; seed < first + count; seed++) {
    cstor::sim::Cluster cluster(seed, options);
    auto failure = cluster.Run();
    total.Add(cluster.stats());
    ran++;
    if (failure) {
      failed++;
      fmt::print("seed {} FAILED {}\n  replay: build/release/sim/replication_sim --seed {} "
                 "--seconds {}{}{} --verbose\n",
                 seed, *failure, seed, options.seconds, options.buggify ? "" : " --no-buggify",
                 options.engine ? " --engine" : "");
      std::fflush(stdout);
      if (stop_on_failure) break;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto join = [](const std::map<std::string, uint64_t>& m) {
    std::string out;
    for (const auto& [k, v] : m) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", v, k);
    return out.empty() ? std::string("none") : out;
  };
  fmt::print("replication_sim: {} seeds from {}, {} failed, {:.1f} s; {} events, {} writes, "
             "{} reads, {} flushes, {} snapshots, {} resizes; {} rebuilds, {} repairs, {} "
             "buggify firings, {} data-loss events ({} seeds diverged after one)\n  faults: {}\n"
             "  failed IOs: {}\n",
             ran, first, failed, secs, total.events, total.writes, total.reads, total.flushes,
             total.snapshots, total.resizes, total.rebuilds, total.repairs, total.buggify_fired,
             total.data_loss_events, total.diverged_after_loss, join(total.faults),
             join(total.failed));
  return failed == 0 ? 0 : 1;
}
