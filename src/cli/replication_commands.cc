// cstor target | cstor replica serve: the two ends of replication as processes.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/random.h"
#include "base/units.h"
#include "bdev/file_device.h"
#include "bdev/memory_device.h"
#include "cli/cli.h"
#include "iscsi/target.h"
#include "replica/replica_server.h"
#include "target/replicated_device.h"
#include "target/volume_target.h"

namespace cstor::cli {
namespace {

using target::ReplicatedDevice;

// Blocks SIGINT and SIGTERM in this thread and every thread started after it, so that the
// main thread can wait for them.
class TerminationSignals {
 public:
  TerminationSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // Waits up to `micros` for a signal; answers it, or 0.
  int Wait(uint64_t micros) {
    timespec ts{static_cast<time_t>(micros / 1'000'000), static_cast<long>(micros % 1'000'000) * 1000};
    int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_;
};

Result<std::string> ReadSecret(const std::string& secret, const std::string& secret_file) {
  if (!secret.empty() && !secret_file.empty()) {
    return Status::InvalidArgument("give --secret or --secret-file, not both");
  }
  if (!secret_file.empty()) {
    auto text = Env::Default()->ReadSmallFile(secret_file);
    if (!text.ok()) return text.status().WithContext("--secret-file");
    std::string s = *text;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) return Status::InvalidArgument("--secret-file " + secret_file + " is empty");
    return s;
  }
  if (secret.empty()) {
    return Status::InvalidArgument(
        "the volume's secret is needed (--secret-file FILE, or --secret TEXT)");
  }
  return secret;
}

nlohmann::json StatusJson(const replication::VolumeStatus& s) {
  nlohmann::json replicas = nlohmann::json::array();
  for (const auto& r : s.replicas) {
    replicas.push_back({{"id", r.id},
                        {"guid", r.guid},
                        {"address", r.address},
                        {"mode", replication::ModeName(r.mode)},
                        {"quorum", r.quorum},
                        {"checkpointedIoSeq", r.checkpointed_io_seq},
                        {"inflightReads", r.inflight_reads},
                        {"inflightWrites", r.inflight_writes},
                        {"inflightSyncs", r.inflight_syncs},
                        {"upSeconds", r.up_micros / 1'000'000},
                        {"rebuildAttempts", r.rebuild_attempts},
                        {"lastError", r.last_error}});
    // Rebuild progress only while rebuilding, and a total only once the copy has seen
    // enough of the source to estimate it: never a made-up 0 of 0.
    if (r.mode == replication::ReplicaMode::kRebuilding) {
      nlohmann::json progress = {{"doneBytes", r.rebuild_done_bytes}};
      if (r.rebuild_total_bytes > 0) progress["totalBytes"] = r.rebuild_total_bytes;
      replicas.back()["rebuild"] = std::move(progress);
    }
  }
  return {{"volume", s.name},
          {"phase", replication::PhaseName(s.phase)},
          {"message", s.message},
          {"size", s.size},
          {"blockSize", s.block_size},
          {"replicationFactor", s.replication_factor},
          {"consistencyFactor", s.consistency_factor},
          {"healthyReplicas", s.healthy},
          {"ioSeq", s.io_seq},
          {"replicas", replicas},
          {"writes", s.writes},
          {"reads", s.reads},
          {"flushes", s.flushes},
          {"failedIos", s.failed_ios},
          {"repairs", s.repairs},
          {"rebuildsCompleted", s.rebuilds_completed},
          {"drops", s.drops},
          {"heldWrites", s.held_writes},
          {"writesWaiting", s.writes_waiting}};
}

std::string StatusLine(const replication::VolumeStatus& s) {
  std::string line = fmt::format("volume {}: {} ({}), io_seq {}", s.name,
                                 replication::PhaseName(s.phase), s.message, s.io_seq);
  for (const auto& r : s.replicas) {
    line += fmt::format("; {} {}", r.id, replication::ModeName(r.mode));
    if (std::string progress = replication::RebuildProgressText(r); !progress.empty()) {
      line += " " + progress;
    }
  }
  return line;
}

// ---- cstor target ----

struct TargetArgs {
  std::string volume;
  std::string secret, secret_file;
  uint32_t replication_factor = 3;
  std::string listen = "0.0.0.0:6060";
  std::string state_dir;
  std::string size;
  std::string rebuild_rate;
  std::string status_file;
  double status_interval = 10;
  // Serve a memory or file LUN over iSCSI instead of a replicated volume.
  std::string memory;
  std::string file;
  // iSCSI.
  std::string portal = "127.0.0.1:3260";
  std::string chap_user, chap_secret_file;
  std::string mutual_chap_user, mutual_chap_secret_file;
  uint32_t queue_depth = 128;
};

Result<std::optional<iscsi::ChapSecret>> ChapOption(const std::string& what,
                                                    const std::string& user,
                                                    const std::string& secret_file) {
  if (user.empty() && secret_file.empty()) return std::optional<iscsi::ChapSecret>();
  if (user.empty() || secret_file.empty()) {
    return Status::InvalidArgument(fmt::format("{} needs both a user and a secret file", what));
  }
  auto text = Env::Default()->ReadSmallFile(secret_file);
  if (!text.ok()) return text.status().WithContext(what + " secret file");
  std::string secret = *text;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  // RFC 7143 section 12.1.3: CHAP secrets of fewer than 96 bits are refused.
  if (secret.size() < 12) {
    return Status::InvalidArgument(fmt::format(
        "{} secret in {} has {} bytes; CHAP needs at least 12", what, secret_file, secret.size()));
  }
  return std::optional<iscsi::ChapSecret>(iscsi::ChapSecret{user, secret});
}

Result<iscsi::TargetConfig> IscsiConfig(const TargetArgs& a) {
  iscsi::TargetConfig c;
  c.name = "iqn.2016-09.com.openebs.cstor:" + a.volume;
  c.alias = a.volume;
  c.portal = a.portal;
  if (a.queue_depth < 1 || a.queue_depth > 4096) {
    return Status::InvalidArgument("--queue-depth must be between 1 and 4096");
  }
  c.queue_depth = a.queue_depth;
  CSTOR_ASSIGN_OR_RETURN(c.chap, ChapOption("CHAP", a.chap_user, a.chap_secret_file));
  CSTOR_ASSIGN_OR_RETURN(c.mutual,
                         ChapOption("mutual CHAP", a.mutual_chap_user, a.mutual_chap_secret_file));
  if (c.mutual && !c.chap) {
    return Status::InvalidArgument(
        "mutual CHAP needs one-way CHAP too (--chap-user and --chap-secret-file)");
  }
  return c;
}

Result<std::unique_ptr<iscsi::Target>> StartIscsi(const TargetArgs& a, bdev::BlockDevice* device,
                                                  net::EventLoop* loop = nullptr) {
  CSTOR_ASSIGN_OR_RETURN(iscsi::TargetConfig c, IscsiConfig(a));
  auto target = iscsi::Target::Start(c, device, {}, loop);
  if (!target.ok()) return target.status().WithContext("iSCSI portal " + a.portal);
  std::printf("iSCSI: %s%s\n", (*target)->url().c_str(), c.chap ? " (CHAP)" : "");
  std::fflush(stdout);
  return target;
}

// Serves a memory or file device as LUN 0 of iqn.2016-09.com.openebs.cstor:<volume>.
Status RunLocalTarget(const TargetArgs& a) {
  if (!a.memory.empty() && !a.file.empty()) {
    return Status::InvalidArgument("give --memory or --file, not both");
  }
  std::unique_ptr<bdev::BlockDevice> device;
  const std::string serial = "cstor-" + a.volume;
  if (!a.memory.empty()) {
    CSTOR_ASSIGN_OR_RETURN(uint64_t size, ParseSizeOption("--memory", a.memory));
    if (size == 0 || size % bdev::kSectorSize) {
      return Status::InvalidArgument("--memory must be a positive multiple of 512 bytes");
    }
    device = std::make_unique<bdev::MemoryDevice>(size, serial);
  } else {
    bdev::FileDeviceOptions fo;
    fo.path = a.file;
    fo.serial = serial;
    if (!a.size.empty()) {
      CSTOR_ASSIGN_OR_RETURN(fo.size, ParseSizeOption("--size", a.size));
    }
    CSTOR_ASSIGN_OR_RETURN(device, bdev::FileDevice::Open(fo));
  }
  TerminationSignals signals;
  CSTOR_ASSIGN_OR_RETURN(auto iscsi, StartIscsi(a, device.get()));
  int sig = 0;
  while ((sig = signals.Wait(1'000'000)) == 0) {
  }
  CSTOR_LOG_INFO("target {}: stopping on signal {}", a.volume, sig);
  iscsi->Stop();
  device.reset();  // waits for IO in flight, whose answers reach the logical unit
  return Status::Ok();
}

// Serves a replicated volume: replicas connect on the replication port; once one has told
// the volume's geometry, LUN 0 is served over iSCSI.
Status RunTarget(const TargetArgs& a) {
  if (!a.memory.empty() || !a.file.empty()) return RunLocalTarget(a);
  target::TargetOptions o;
  o.volume.name = a.volume;
  CSTOR_ASSIGN_OR_RETURN(o.volume.secret, ReadSecret(a.secret, a.secret_file));
  o.volume.replication_factor = a.replication_factor;
  if (!a.size.empty()) {
    CSTOR_ASSIGN_OR_RETURN(o.volume.size, ParseSizeOption("--size", a.size));
  }
  if (!a.rebuild_rate.empty()) {
    CSTOR_ASSIGN_OR_RETURN(o.volume.timing.rebuild_bytes_per_second,
                           ParseSizeOption("--rebuild-rate", a.rebuild_rate));
  }
  if (a.status_interval < 0) return Status::InvalidArgument("--status-interval must be >= 0");
  CSTOR_RETURN_IF_ERROR(IscsiConfig(a).status());  // bad iSCSI options fail before anything starts
  o.listen_address = a.listen;
  o.state_dir = a.state_dir;
  TerminationSignals signals;
  CSTOR_ASSIGN_OR_RETURN(auto t, target::VolumeTarget::Start(o));
  std::printf("target for volume %s listening for replicas on %s\n", a.volume.c_str(),
              t->address().c_str());
  std::fflush(stdout);
  uint64_t interval = a.status_interval > 0 ? static_cast<uint64_t>(a.status_interval * 1e6)
                                            : 1'000'000;
  std::unique_ptr<ReplicatedDevice> device;
  std::unique_ptr<iscsi::Target> iscsi;
  std::string last;
  bool said_waiting = false;
  while (true) {
    // Every 100 ms until the LUN is up, then at the status interval (at most 1 s when a
    // status file is kept).
    uint64_t wait = iscsi ? (a.status_file.empty() ? interval : std::min<uint64_t>(interval, 1'000'000))
                          : 100'000;
    int sig = signals.Wait(wait);
    if (sig != 0) {
      CSTOR_LOG_INFO("volume {}: stopping on signal {}", a.volume, sig);
      break;
    }
    auto st = t->GetStatus();
    if (!iscsi) {
      if (st.size > 0 && st.block_size > 0) {
        device = std::make_unique<ReplicatedDevice>(t.get());
        // On the volume's own loop: no thread hand-offs between iSCSI and replication.
        CSTOR_ASSIGN_OR_RETURN(iscsi, StartIscsi(a, device.get(), &t->loop()));
      } else if (!said_waiting) {
        CSTOR_LOG_INFO("volume {}: iSCSI waits for a replica to tell the volume's size", a.volume);
        said_waiting = true;
      }
    }
    if (!a.status_file.empty()) {
      Status w = Env::Default()->WriteSmallFileAtomically(a.status_file, StatusJson(st).dump(2));
      if (!w.ok()) CSTOR_LOG_WARN("cannot write --status-file: {}", w.ToString());
    }
    std::string line = StatusLine(st);
    if (a.status_interval > 0 && line != last) CSTOR_LOG_INFO("{}", line);
    last = line;
  }
  if (iscsi) iscsi->Stop();
  t->Stop();
  return Status::Ok();
}

// ---- cstor replica serve ----

struct ReplicaArgs {
  std::string pool;
  std::vector<std::string> volumes;  // NAME or NAME=HOST:PORT
  std::string target;
  std::string secret, secret_file;
  std::string replica_id;
  std::string listen = "127.0.0.1:0";
  std::string advertise;
  size_t threads = 8;
};

constexpr const char* kReplicaGuidAttribute = "replica-guid";

// This copy's identity: made once, kept with the volume. A volume deleted and created again
// is a new copy (the target then rebuilds it in full).
Result<uint64_t> ReplicaGuid(engine::Volume& v) {
  if (auto g = v.GetAttribute(kReplicaGuidAttribute)) {
    uint64_t guid = 0;
    auto [end, ec] = std::from_chars(g->data(), g->data() + g->size(), guid);
    if (ec == std::errc() && end == g->data() + g->size() && guid != 0) return guid;
  }
  uint64_t guid = 0;
  while (guid == 0) guid = Random(Env::Default()->NewRandomSeed()).Next();
  CSTOR_RETURN_IF_ERROR(v.SetAttribute(kReplicaGuidAttribute, std::to_string(guid)));
  return guid;
}

Status RunReplica(const ReplicaArgs& a) {
  CSTOR_ASSIGN_OR_RETURN(std::string secret, ReadSecret(a.secret, a.secret_file));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  engine::PoolStats stats = pool->Stats();
  std::string replica_id = a.replica_id.empty() ? "pool-" + stats.guid.substr(0, 12) : a.replica_id;
  std::vector<replica::ServedVolume> served;
  for (const std::string& spec : a.volumes) {
    size_t eq = spec.find('=');
    std::string name = spec.substr(0, eq);
    std::string target = eq == std::string::npos ? a.target : spec.substr(eq + 1);
    if (target.empty()) {
      return Status::InvalidArgument("volume " + name +
                                     " has no target: give --target HOST:PORT or NAME=HOST:PORT");
    }
    auto v = pool->OpenVolume(name);
    if (!v.ok()) {
      return v.status().WithContext(fmt::format(
          "volume {} in pool {} (create it with: cstor volume create --pool {} {} --size SIZE)",
          name, a.pool, a.pool, name));
    }
    CSTOR_ASSIGN_OR_RETURN(uint64_t guid, ReplicaGuid(**v));
    served.push_back({*v, secret, target, replica_id, guid, stats.guid});
  }
  TerminationSignals signals;
  replica::ReplicaServerOptions o;
  o.listen_address = a.listen;
  o.advertise_address = a.advertise;
  o.engine_threads = a.threads;
  CSTOR_ASSIGN_OR_RETURN(auto server, replica::ReplicaServer::Start(o, std::move(served)));
  std::printf("replica %s serving %zu volume(s) from %s; rebuild streams on %s\n",
              replica_id.c_str(), a.volumes.size(), a.pool.c_str(),
              server->rebuild_address().c_str());
  std::fflush(stdout);
  // A fenced pool never serves again in this process; exiting hands the restart (and with
  // it a fresh import of the pool, whose journal replay drops the failed epoch) to the
  // supervisor. The target has already dropped this replica and rebuilds it when it returns.
  int sig = 0;
  Status health;
  while ((sig = signals.Wait(1'000'000)) == 0 && (health = server->Health()).ok()) {
  }
  if (!health.ok()) {
    CSTOR_LOG_ERROR("replica {}: exiting, the pool must be imported again: {}", replica_id,
                    health.message());
    server->Stop();
    Status closed = pool->Close();  // reports the same failure
    (void)closed;
    return health.WithContext("pool " + a.pool);
  }
  CSTOR_LOG_INFO("replica {}: stopping on signal {}", replica_id, sig);
  server->Stop();
  return pool->Close();
}

}  // namespace

void AddReplicationCommands(Cli& cli) {
  auto t = std::make_shared<TargetArgs>();
  auto* target = cli.app.add_subcommand(
      "target", "Serve one volume over iSCSI: replicate its writes to its replicas (replication port), or serve a memory or file LUN");
  target->add_option("--volume", t->volume, "Volume name")->required();
  target->add_option("--secret", t->secret, "The volume's secret (visible to ps; prefer --secret-file)");
  target->add_option("--secret-file", t->secret_file, "File holding the volume's secret");
  target->add_option("--replication-factor,-r", t->replication_factor, "Replicas per volume")
      ->capture_default_str();
  target->add_option("--listen", t->listen, "Replication address replicas dial")
      ->capture_default_str();
  target->add_option("--state-dir", t->state_dir,
                     "Directory that keeps the volume's known replicas across restarts");
  target->add_option("--size", t->size, "Volume size (default: what the replicas hold)");
  target->add_option("--rebuild-rate", t->rebuild_rate, "Rebuild throttle per second, e.g. 200M");
  target->add_option("--status-file", t->status_file,
                     "Write the volume's status as JSON here, every second");
  target->add_option("--status-interval", t->status_interval,
                     "Seconds between status log lines when something changed (0: none)")
      ->capture_default_str();
  target->add_option("--memory", t->memory, "Serve a memory LUN of this size over iSCSI");
  target->add_option("--file", t->file, "Serve this file over iSCSI (created sparse with --size)");
  target->add_option("--portal", t->portal, "iSCSI portal address (port 0: any free port)")
      ->capture_default_str();
  target->add_option("--chap-user", t->chap_user, "CHAP: the user initiators log in as");
  target->add_option("--chap-secret-file", t->chap_secret_file,
                     "CHAP: file holding the initiators' secret (12 to 255 bytes)");
  target->add_option("--mutual-chap-user", t->mutual_chap_user,
                     "Mutual CHAP: the user the target answers as");
  target->add_option("--mutual-chap-secret-file", t->mutual_chap_secret_file,
                     "Mutual CHAP: file holding the target's secret");
  target->add_option("--queue-depth", t->queue_depth, "iSCSI commands in flight per session")
      ->capture_default_str();
  OnRun(cli, target, [t] { return RunTarget(*t); });

  auto r = std::make_shared<ReplicaArgs>();
  auto* replica = cli.app.add_subcommand("replica", "Replica server")->require_subcommand(1);
  auto* serve = replica->add_subcommand(
      "serve", "Serve volumes of a pool to their targets, and rebuild streams to peers");
  serve->add_option("--pool", r->pool, "Pool directory")->required();
  serve->add_option("--volume", r->volumes, "Volume to serve: NAME, or NAME=HOST:PORT of its target")
      ->required();
  serve->add_option("--target", r->target, "The target's replication address, HOST:PORT");
  serve->add_option("--secret", r->secret, "The volume's secret (visible to ps; prefer --secret-file)");
  serve->add_option("--secret-file", r->secret_file, "File holding the volume's secret");
  serve->add_option("--replica-id", r->replica_id, "This replica's id (default: from the pool guid)");
  serve->add_option("--listen", r->listen, "Where peers fetch rebuild streams")
      ->capture_default_str();
  serve->add_option("--advertise", r->advertise,
                    "The address peers dial for rebuild streams (default: the listen address)");
  serve->add_option("--threads", r->threads, "Engine worker threads")->capture_default_str();
  OnRun(cli, serve, [r] { return RunReplica(*r); });
}

}  // namespace cstor::cli
