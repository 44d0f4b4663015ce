// replication_sim: deterministic simulation of cstor's replication. For each seed, a target
// and three replicas run on a simulated network, clock and disks (sim/), under a client
// workload and injected faults — replica and target crashes and restarts, partitions,
// delayed, duplicated and reordered messages, slow disks, lost unflushed writes, corrupted
// blocks, connection resets, and at most one power loss of everything — while the checker
// verifies every read (docs/replication.md lists the invariants). Then the faults stop and
// the volume must heal: every replica healthy, every block as the client expects, replicas
// identical, snapshots intact.
//
//   replication_sim [--seed N] [--seeds COUNT] [--seconds S] [--verbose]
//
// A failing seed prints the command that replays it exactly.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "sim/cluster.h"

int main(int argc, char** argv) {
  uint64_t first = 0, count = 1;
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
    } else {
      fmt::print(stderr, "usage: replication_sim [--seed N] [--seeds COUNT] [--seconds S] [--verbose]\n");
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  cstor::sim::SimStats total;
  uint64_t failed = 0;
  for (uint64_t seed = first; seed < first + count; seed++) {
    cstor::sim::Cluster cluster(seed, options);
    auto failure = cluster.Run();
    const auto& s = cluster.stats();
    total.events += s.events;
    total.writes += s.writes;
    total.reads += s.reads;
    total.replica_crashes += s.replica_crashes;
    total.target_crashes += s.target_crashes;
    total.partitions += s.partitions;
    total.slowdowns += s.slowdowns;
    total.corruptions += s.corruptions;
    total.power_losses += s.power_losses;
    total.snapshots += s.snapshots;
    total.rebuilds += s.rebuilds;
    total.repairs += s.repairs;
    if (failure) {
      failed++;
      fmt::print("seed {} FAILED {}\n  replay: build/release/sim/replication_sim --seed {} "
                 "--seconds {} --verbose\n",
                 seed, *failure, seed, options.seconds);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("replication_sim: {} seeds from {}, {} failed, {:.1f} s; {} events, {} writes, "
             "{} reads; faults: {} replica crashes, {} target crashes, {} partitions, {} slow "
             "disks, {} corruptions, {} power losses; {} snapshots, {} rebuilds, {} repairs\n",
             count, first, failed, secs, total.events, total.writes, total.reads,
             total.replica_crashes, total.target_crashes, total.partitions, total.slowdowns,
             total.corruptions, total.power_losses, total.snapshots, total.rebuilds,
             total.repairs);
  return failed == 0 ? 0 : 1;
}
