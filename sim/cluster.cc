#include "sim/cluster.h"

#include <fmt/format.h>

#include <cstring>

#include <spdlog/pattern_formatter.h>

#include "base/log.h"

namespace cstor::sim {
namespace {

// Log lines carry the simulated time (pattern flag %*).
const SimWorld* g_clock = nullptr;
class SimTimeFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string t = fmt::format("[{:10.6f}]", g_clock ? g_clock->now() / 1e6 : 0.0);
    dest.append(t.data(), t.data() + t.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SimTimeFlag>();
  }
};

constexpr uint32_t kBlock = 4096;
constexpr uint64_t kSector = 512;
constexpr uint32_t kQueueDepth = 4;
constexpr const char* kVolume = "pvc-sim";
constexpr const char* kSecret = "sim-secret";

}  // namespace

Cluster::Cluster(uint64_t seed, SimOptions options)
    : seed_(seed), options_(options), world_(seed),
      checker_(options.volume_blocks * kBlock / kSector),
      volume_bytes_(options.volume_blocks * kBlock) {
  Random& rng = world_.rng();
  world_.faults().duplicate_per_mille = static_cast<uint32_t>(rng.Uniform(20));
  world_.faults().reorder_per_mille = static_cast<uint32_t>(rng.Uniform(50));
  world_.faults().max_delay_micros = rng.Range(100, 2000);
  config_.name = kVolume;
  config_.secret = kSecret;
  config_.replication_factor = 3;
  config_.timing.rebuild_retry_max_micros = 8'000'000;
  target_transport_ = world_.AddNode("target");
  world_.Listen("target", 6060);
  for (int i = 1; i <= 3; i++) {
    Replica r;
    r.node = fmt::format("r{}", i);
    r.id = fmt::format("replica-{}", i);
    r.guid = 1000 + i;
    r.store = std::make_unique<SimStore>(&world_, r.node, volume_bytes_, kBlock);
    r.transport = world_.AddNode(r.node);
    world_.Listen(r.node, 7000);
    config_.known_replicas[r.id] = r.guid;
    replicas_.push_back(std::move(r));
  }
  StartTarget();
  for (auto& r : replicas_) StartReplica(r);
}

Cluster::~Cluster() {
  load_ = false;
  target_.reset();  // answers what is outstanding; nothing is checked any more
}

void Cluster::Note(const std::string& what) {
  if (options_.verbose) fmt::print("[{:10.6f}] {}\n", world_.now() / 1e6, what);
}

void Cluster::Fail(std::string why) {
  if (failure_) return;
  failure_ = fmt::format("at {:.6f}s: {}", world_.now() / 1e6, why);
  if (!options_.verbose) return;
  // What each replica holds of the block the failure names, if it names a sector.
  size_t at = why.find("sector ");
  if (at == std::string::npos) return;
  uint64_t sector = std::strtoull(why.c_str() + at + 7, nullptr, 10);
  uint64_t block = sector * kSector / kBlock;
  for (const auto& r : replicas_) {
    auto it = r.store->live().find(block);
    if (it == r.store->live().end()) {
      Note(fmt::format("{} block {}: absent", r.node, block));
      continue;
    }
    uint64_t id = 0;
    if (!it->second.unmapped) {
      std::memcpy(&id, it->second.data.data() + (sector * kSector) % kBlock, 8);
    }
    Note(fmt::format("{} block {}: io_seq {}{} (sector {} from write {})", r.node, block,
                     it->second.io_seq, it->second.unmapped ? " unmapped" : "", sector, id));
  }
}

void Cluster::StartTarget() {
  Note("target starts");
  target_ = std::make_unique<replication::ReplicatedVolume>(config_, target_transport_);
  world_.Start("target", target_.get());
  target_down_ = false;
}

void Cluster::StartReplica(Replica& r) {
  Note(r.node + " starts");
  replica::ReplicaNodeOptions o;
  o.rebuild_address = r.node + ":7000";
  r.agent = std::make_unique<replica::ReplicaNode>(o, r.transport);
  world_.Start(r.node, r.agent.get());
  r.agent->AddVolume({kVolume, kSecret, "target:6060", r.id, r.guid, "pool-" + r.node,
                      r.store.get()});
  r.down = false;
}

void Cluster::CrashTarget() {
  Note("target crashes");
  stats_.target_crashes++;
  world_.Crash("target");
  target_down_ = true;
  // Destroying it answers the client's outstanding IO with errors: unknown outcomes.
  auto dying = std::move(target_);
  dying.reset();
}

void Cluster::CrashReplica(Replica& r) {
  Note(r.node + " crashes");
  world_.Crash(r.node);
  r.store->Crash();
  r.agent.reset();
  r.down = true;
}

bool Cluster::AllHealthy() const {
  if (target_down_ || !target_) return false;
  auto st = target_->GetStatus();
  if (st.phase != replication::Phase::kHealthy) return false;
  for (const auto& r : st.replicas) {
    if (r.mode != replication::ReplicaMode::kHealthy) return false;
  }
  return st.replicas.size() == 3;
}

// ---- the client ----

void Cluster::WorkloadStep() {
  if (!load_) return;
  // At most a queue's worth per step: IO refused at once completes inside IssueOp.
  for (uint32_t room = kQueueDepth - std::min(outstanding_, kQueueDepth); room > 0 && !target_down_;
       room--) {
    IssueOp();
  }
  // Think time keeps a seed's event count (and run time) modest.
  world_.After(world_.rng().Range(1000, 10000), [this] { WorkloadStep(); });
}

void Cluster::IssueOp() {
  Random& rng = world_.rng();
  const uint64_t sectors = volume_bytes_ / kSector;
  uint64_t kind = rng.Uniform(100);
  uint64_t now = world_.now();
  outstanding_++;
  auto done_one = [this] { outstanding_--; };
  if (kind < 62) {  // write or unmap, a third of them whole blocks
    bool whole = rng.OneIn(3);
    uint64_t first = rng.Uniform(sectors), count = rng.Range(1, 40);
    if (whole) {
      first = first / 8 * 8;
      count = (count + 7) / 8 * 8;
    }
    count = std::min(count, sectors - first);
    bool zeros = kind >= 56;
    uint64_t id = checker_.BeginWrite(now, first, count, zeros);
    auto cb = [this, id, done_one](Status s) {
      checker_.EndWrite(id, world_.now(), s.ok());
      if (!s.ok()) stats_.failed_ios++;
      done_one();
    };
    stats_.writes++;
    if (zeros) return target_->Unmap(first * kSector, count * kSector, cb);
    return target_->Write(first * kSector, checker_.Content(id, first, count), cb);
  }
  if (kind < 90) {
    outstanding_--;
    return IssueRead();
  }
  if (kind < 98) {
    stats_.flushes++;
    return target_->Flush([this, now, done_one](Status s) {
      done_one();
      if (s.ok()) checker_.FlushSucceeded(now);
    });
  }
  if (rng.Uniform(4) != 0) {  // snapshots are rarer: reads instead
    outstanding_--;
    return IssueRead();
  }
  if (rng.OneIn(2) || snaps_.empty()) {
    std::string name = fmt::format("snap-{}", next_snap_++);
    return target_->CreateSnapshot(name, [this, name, now, done_one](Status s) {
      done_one();
      if (s.ok()) {
        stats_.snapshots++;
        snaps_.push_back({name, now, world_.now()});
      }
    });
  }
  size_t pick = rng.Uniform(snaps_.size());
  std::string name = snaps_[pick].name;
  target_->DeleteSnapshot(name, [this, name, done_one](Status s) {
    done_one();
    // Deleted, or — if the delete failed — maybe deleted: no longer checked either way.
    std::erase_if(snaps_, [&](const Snap& x) { return x.name == name; });
    Note(fmt::format("delete {}: {}", name, s.ToString()));
  });
}

void Cluster::IssueRead() {
  Random& rng = world_.rng();
  const uint64_t sectors = volume_bytes_ / kSector;
  uint64_t first = rng.Uniform(sectors), count = std::min(rng.Range(1, 64), sectors - first);
  uint64_t now = world_.now();
  outstanding_++;
  stats_.reads++;
  target_->Read(first * kSector, static_cast<uint32_t>(count * kSector),
                [this, now, first](Result<std::string> r) {
                  outstanding_--;
                  if (!r.ok()) {
                    stats_.failed_ios++;
                    return;
                  }
                  if (auto bad = checker_.CheckRead(now, world_.now(), first, *r)) Fail(*bad);
                });
}

// ---- faults ----

void Cluster::InjectFault() {
  if (!faults_on_) return;
  Random& rng = world_.rng();
  world_.After(rng.Range(300'000, 1'500'000), [this] { InjectFault(); });
  uint64_t kind = rng.Uniform(100);
  Replica& r = replicas_[rng.Uniform(replicas_.size())];
  // At most RF - CF = 1 replica is lost at a time: a new replica fault only when all three
  // are healthy again.
  bool may_lose_replica = !impaired_ && AllHealthy();
  if (kind < 15 && may_lose_replica) {
    stats_.replica_crashes++;
    impaired_ = true;
    CrashReplica(r);
    world_.After(rng.Range(300'000, 4'000'000), [this, &r] {
      StartReplica(r);
      impaired_ = false;
    });
  } else if (kind < 27 && may_lose_replica) {
    stats_.partitions++;
    impaired_ = true;
    world_.Partition(r.node, "target");
    Note(r.node + " cut off from the target");
    world_.After(rng.Range(500'000, 8'000'000), [this, &r] {
      world_.Heal(r.node, "target");
      Note(r.node + " reconnected to the target");
      impaired_ = false;
    });
  } else if (kind < 35 && may_lose_replica) {
    stats_.slowdowns++;
    impaired_ = true;
    r.store->SetSlow(true);
    Note(r.node + " disk slow");
    world_.After(rng.Range(1'000'000, 6'000'000), [this, &r] {
      r.store->SetSlow(false);
      impaired_ = false;
    });
  } else if (kind < 45) {
    Replica& other = replicas_[rng.Uniform(replicas_.size())];
    if (&other == &r) return;
    stats_.partitions++;
    world_.Partition(r.node, other.node);
    Note(r.node + " cut off from " + other.node);
    world_.After(rng.Range(500'000, 5'000'000),
                 [this, a = r.node, b = other.node] { world_.Heal(a, b); });
  } else if (kind < 55) {
    stats_.resets++;
    std::string victim = rng.OneIn(2) ? "target" : r.node;
    Note("reset a connection of " + victim);
    world_.ResetRandomConnection(victim);
  } else if (kind < 62 && !corrupted_ && may_lose_replica) {
    // One bad copy of one block, repaired from the others when read or rebuilt.
    std::vector<uint64_t> blocks;
    for (const auto& [b, blk] : r.store->live()) {
      if (!blk.unmapped) blocks.push_back(b);
    }
    if (blocks.empty()) return;
    stats_.corruptions++;
    uint64_t bad = blocks[rng.Uniform(blocks.size())];
    Note(fmt::format("{} block {} corrupted", r.node, bad));
    r.store->Corrupt(bad);
    corrupted_ = true;
    world_.After(3'000'000, [this] { corrupted_ = false; });
  } else if (kind < 72 && !target_down_) {
    CrashTarget();
    world_.After(rng.Range(200'000, 3'000'000), [this] { StartTarget(); });
  } else if (kind < 74 && !power_lost_ && !target_down_ && !impaired_) {
    // Every replica and the target lose power at once.
    power_lost_ = true;
    Note("power loss");
    stats_.power_losses++;
    impaired_ = true;
    CrashTarget();
    for (auto& rep : replicas_) CrashReplica(rep);
    checker_.PowerLoss(world_.now());
    world_.After(1'000'000, [this] {
      for (auto& rep : replicas_) StartReplica(rep);
      StartTarget();
      impaired_ = false;
    });
  }
}

// ---- the run ----

std::optional<std::string> Cluster::Run() {
  spdlog::set_level(options_.verbose ? (std::getenv("CSTOR_SIM_DEBUG") ? spdlog::level::debug
                                                                       : spdlog::level::info)
                                     : spdlog::level::off);
  if (options_.verbose) {
    g_clock = &world_;
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SimTimeFlag>('*').set_pattern("%* %v");
    spdlog::set_formatter(std::move(formatter));
  }
  world_.After(1'000'000, [this] { WorkloadStep(); });
  world_.After(2'000'000, [this] { InjectFault(); });
  const uint64_t fault_end = (2 + options_.seconds) * 1'000'000;
  world_.After(fault_end / 2, [this] {
    if (grown_ || target_down_) return;
    grown_ = true;
    uint64_t bigger = volume_bytes_ + 32 * kBlock;
    target_->Resize(bigger, [this, bigger](Status s) {
      if (!s.ok()) return;
      volume_bytes_ = bigger;
      checker_.Grow(bigger / kSector);
    });
  });
  world_.RunUntil(fault_end);
  if (failure_) return failure_;
  // Heal: no new faults, everything up and fast, partitions gone.
  faults_on_ = false;
  world_.HealAll();
  for (auto& r : replicas_) r.store->SetSlow(false);
  world_.RunUntil(world_.now() + 10'000'000);  // pending restarts happen
  for (auto& r : replicas_) {
    if (r.down) StartReplica(r);
  }
  if (target_down_) StartTarget();
  // Liveness: the volume must come back to Healthy with every replica rebuilt.
  uint64_t deadline = world_.now() + 120'000'000;
  while (!AllHealthy() && world_.now() < deadline && !failure_) {
    world_.RunUntil(world_.now() + 100'000);
  }
  if (failure_) return failure_;
  if (!AllHealthy()) {
    auto st = target_->GetStatus();
    std::string replicas;
    for (const auto& r : st.replicas) {
      replicas += fmt::format(" {}={}({} attempts{}{})", r.id, replication::ModeName(r.mode),
                              r.rebuild_attempts, r.last_error.empty() ? "" : ": ",
                              r.last_error);
    }
    return fmt::format("the volume did not heal in 120 s: {} ({};{} )",
                       replication::PhaseName(st.phase), st.message, replicas);
  }
  load_ = false;
  deadline = world_.now() + 60'000'000;
  while (outstanding_ > 0 && world_.now() < deadline) world_.RunUntil(world_.now() + 100'000);
  if (outstanding_ > 0) return fmt::format("{} client IOs never finished", outstanding_);
  return FinalChecks();
}

std::optional<std::string> Cluster::FinalChecks() {
  // Every block of the volume, read through the target.
  bool read_done = false;
  uint64_t now = world_.now();
  target_->Read(0, static_cast<uint32_t>(volume_bytes_), [&](Result<std::string> r) {
    read_done = true;
    if (!r.ok()) return Fail("final read failed: " + r.status().ToString());
    if (auto bad = checker_.CheckRead(now, world_.now(), 0, *r)) Fail("final read: " + *bad);
  });
  world_.RunUntil(world_.now() + 10'000'000);
  if (!read_done) Fail("final read never finished");
  if (failure_) return failure_;
  // Let in-flight background work settle, then every replica must hold the same data.
  world_.RunUntil(world_.now() + 5'000'000);
  const SimStore& a = *replicas_[0].store;
  for (size_t i = 1; i < replicas_.size(); i++) {
    const SimStore& b = *replicas_[i].store;
    for (uint64_t blk = 0; blk < volume_bytes_ / kBlock; blk++) {
      if (a.ReadDirect(blk) != b.ReadDirect(blk)) {
        return fmt::format("replicas {} and {} differ at block {}", replicas_[0].node,
                           replicas_[i].node, blk);
      }
    }
  }
  // Snapshots the client was told succeeded exist on every replica, hold what the client
  // could have read when it took them, and are the same everywhere.
  auto image_of = [&](const std::map<uint64_t, SimStore::Block>& blocks) {
    std::string image;
    for (uint64_t b = 0; b < volume_bytes_ / kBlock; b++) {
      auto it = blocks.find(b);
      image += (it == blocks.end() || it->second.unmapped) ? std::string(kBlock, '\0')
                                                            : it->second.data;
    }
    return image;
  };
  for (const Snap& snap : snaps_) {
    std::string first;
    const std::map<uint64_t, SimStore::Block>* first_blocks = nullptr;
    for (const auto& rep : replicas_) {
      const auto* blocks = rep.store->snapshot(snap.name);
      if (blocks == nullptr) {
        return fmt::format("snapshot {} is missing on {}", snap.name, rep.node);
      }
      std::string image = image_of(*blocks);
      if (first.empty()) {
        first = image;
        first_blocks = blocks;
      } else if (image != first) {
        uint64_t b = 0;
        while (image.compare(b * kBlock, kBlock, first, b * kBlock, kBlock) == 0) b++;
        auto seq = [&](const std::map<uint64_t, SimStore::Block>* m) {
          auto it = m->find(b);
          return it == m->end() ? std::string("absent") : fmt::format("io_seq {}", it->second.io_seq);
        };
        return fmt::format("snapshot {} differs between {} ({}) and {} ({}) at block {}",
                           snap.name, replicas_[0].node, seq(first_blocks), rep.node, seq(blocks), b);
      }
    }
    if (auto bad = checker_.CheckRead(snap.issued, snap.done, 0, first)) {
      return fmt::format("snapshot {}: {}", snap.name, *bad);
    }
  }
  auto st = target_->GetStatus();
  stats_.rebuilds = st.rebuilds_completed;
  stats_.repairs = st.repairs;
  stats_.events = world_.events_run();
  return failure_;
}

}  // namespace cstor::sim
