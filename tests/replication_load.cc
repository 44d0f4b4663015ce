// replication_load: a volume's target (the same VolumeTarget `cstor target` runs) with a
// write load inside it, for tests with real replica processes. Killing this process kills
// the target mid-write, which is the point.
//
//   replication_load run    --volume V --secret-file F --listen ADDR --state-dir D --log L
//                           [--seconds N] [--fill] [--qd N] [--rate N] [--seed N]
//                           [--fail-on-error]
//   replication_load verify --volume V --secret-file F --listen ADDR --state-dir D --log L
//
// `run` logs every write to L before issuing it and again once acknowledged (write(2) per
// record: the records outlive a kill -9 of this process). `verify` starts the target again,
// waits for the volume to serve, and reads every block the log mentions: each must hold
// its last acknowledged write, or a write issued after that which was never acknowledged
// (in flight when the process died, or failed). In-flight writes never overlap, so that
// this rule is exact.
//
// Phases: each SIGUSR1 during the load starts a new phase (a test sends one when it freezes
// a replica and one when it thaws it). At the end, `run` prints per phase the writes, IOPS,
// p50/p99/max latency, failures, and the bytes of distinct blocks written.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/coding.h"
#include "base/log.h"
#include "base/random.h"
#include "base/units.h"
#include "target/volume_target.h"

namespace cstor {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kBlock = 4096;

// One log record: 32 bytes.
struct Record {
  uint8_t kind = 0;  // 1 issued, 2 acknowledged
  uint64_t tag = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};
constexpr size_t kRecordSize = 32;

std::string EncodeRecord(const Record& r) {
  std::string out;
  PutFixed8(&out, r.kind);
  PutFixed64(&out, r.tag);
  PutFixed64(&out, r.offset);
  PutFixed32(&out, r.length);
  out.resize(kRecordSize, '\0');
  return out;
}

// The contents of one block as written by the write `tag`.
std::string BlockData(uint64_t tag, uint64_t block) {
  Random rng(tag * 0x9E3779B97F4A7C15ull ^ (block + 1) * 0xC2B2AE3D27D4EB4Full);
  std::string out(kBlock, '\0');
  for (size_t i = 0; i < kBlock; i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

std::string WriteData(uint64_t tag, uint64_t offset, uint32_t length) {
  std::string out;
  for (uint64_t b = offset / kBlock; b < (offset + length) / kBlock; b++) out += BlockData(tag, b);
  return out;
}

struct Args {
  std::string volume = "vol";
  std::string secret_file;
  std::string listen = "127.0.0.1:6060";
  std::string state_dir;
  std::string log;
  uint32_t rf = 3;
  double seconds = 10;
  bool fill = false;
  uint32_t qd = 8;
  uint32_t rate = 0;  // writes per second in the load phase; 0: as fast as it goes
  uint64_t seed = 0;
  bool fail_on_error = false;
};

// Bumped by SIGUSR1: the load's current phase.
std::atomic<int> g_phase{0};
static_assert(std::atomic<int>::is_always_lock_free);  // safe in a signal handler

void OnPhaseSignal(int) { g_phase.fetch_add(1, std::memory_order_relaxed); }

// What the writes issued in one phase did.
struct PhaseStats {
  Clock::time_point start, end;
  std::vector<uint64_t> latencies_micros;  // of acknowledged writes
  uint64_t failed = 0;
  std::set<uint64_t> blocks;  // distinct blocks written
};

uint64_t Percentile(std::vector<uint64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void PrintPhases(std::vector<PhaseStats>& phases) {
  for (size_t i = 0; i < phases.size(); i++) {
    PhaseStats& p = phases[i];
    double secs = std::max(1e-3, std::chrono::duration<double>(p.end - p.start).count());
    auto& l = p.latencies_micros;
    uint64_t max = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
    uint64_t p50 = Percentile(l, 0.50), p99 = Percentile(l, 0.99);
    std::printf("phase %zu: %.1f s, %zu writes acknowledged, %.0f IOPS, latency p50 %.2f ms "
                "p99 %.2f ms max %.2f ms, %lu failed, %zu distinct blocks written (%lu bytes)\n",
                i, secs, l.size(), static_cast<double>(l.size()) / secs, p50 / 1e3, p99 / 1e3,
                max / 1e3, p.failed, p.blocks.size(), p.blocks.size() * uint64_t{kBlock});
  }
}

Result<std::unique_ptr<target::VolumeTarget>> StartTarget(const Args& a) {
  target::TargetOptions o;
  o.volume.name = a.volume;
  CSTOR_ASSIGN_OR_RETURN(o.volume.secret, Env::Default()->ReadSmallFile(a.secret_file));
  while (!o.volume.secret.empty() && o.volume.secret.back() == '\n') o.volume.secret.pop_back();
  o.volume.replication_factor = a.rf;
  o.listen_address = a.listen;
  o.state_dir = a.state_dir;
  return target::VolumeTarget::Start(o);
}

std::string Describe(const replication::VolumeStatus& s) {
  std::string out = fmt::format("{} io_seq {}", replication::PhaseName(s.phase), s.io_seq);
  for (const auto& r : s.replicas) {
    out += fmt::format(" | {} {}", r.id, replication::ModeName(r.mode));
    if (r.mode == replication::ReplicaMode::kRebuilding) {
      out += fmt::format(" {}/{}", FormatBytes(r.rebuild_done_bytes),
                         FormatBytes(r.rebuild_total_bytes));
    }
  }
  return out;
}

// Waits (bounded) until the volume serves IO; with `healthy`, until every replica is healthy.
Status WaitForVolume(target::VolumeTarget& t, bool healthy, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::string last;
  while (true) {
    auto s = t.GetStatus();
    bool ok = healthy ? s.phase == replication::Phase::kHealthy
                      : s.phase == replication::Phase::kHealthy ||
                            s.phase == replication::Phase::kDegraded;
    std::string line = Describe(s);
    if (line != last) std::printf("status: %s\n", line.c_str());
    std::fflush(stdout);
    last = line;
    if (ok) return Status::Ok();
    if (Clock::now() > deadline) {
      return Status::Unavailable(fmt::format("the volume did not become {} in {} s: {}",
                                             healthy ? "Healthy" : "ready", seconds, line));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

class Log {
 public:
  static Result<Log> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return Status::IoError(fmt::format("open {}: {}", path, std::strerror(errno)));
    return Log(fd);
  }
  Log(Log&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~Log() {
    if (fd_ >= 0) ::close(fd_);
  }
  void Append(const Record& r) {
    std::string bytes = EncodeRecord(r);
    std::lock_guard l(mu_);
    if (::write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      std::fprintf(stderr, "replication_load: log write failed: %s\n", std::strerror(errno));
      std::abort();
    }
  }

 private:
  explicit Log(int fd) : fd_(fd) {}
  int fd_;
  std::mutex mu_;
};

int Run(const Args& a) {
  auto log = Log::Open(a.log);
  if (!log.ok()) return std::fprintf(stderr, "%s\n", log.status().ToString().c_str()), 1;
  auto t = StartTarget(a);
  if (!t.ok()) return std::fprintf(stderr, "%s\n", t.status().ToString().c_str()), 1;
  auto& target = **t;
  if (Status s = WaitForVolume(target, /*healthy=*/true, 60); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  uint64_t size = target.GetStatus().size;
  uint64_t seed = a.seed != 0 ? a.seed : Env::Default()->NewRandomSeed();
  Random rng(seed);
  uint64_t run_id = rng.Next() & 0xFFFFFFFF;
  uint64_t next_tag = run_id << 32;

  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, uint64_t> inflight;  // first block -> end block
  uint64_t acked = 0, failed = 0, bytes = 0;
  std::string first_error;

  auto overlaps = [&](uint64_t first, uint64_t end) {
    auto it = inflight.lower_bound(first);
    if (it != inflight.end() && it->first < end) return true;
    if (it != inflight.begin() && std::prev(it)->second > first) return true;
    return false;
  };
  std::vector<PhaseStats> phases(1);
  // REQUIRES: mu held.
  auto issue = [&](uint64_t offset, uint32_t length) {
    uint64_t tag = ++next_tag;
    uint64_t first = offset / kBlock, end = (offset + length) / kBlock;
    inflight[first] = end;
    size_t phase = phases.size() - 1;
    for (uint64_t b = first; b < end; b++) phases[phase].blocks.insert(b);
    log->Append({1, tag, offset, length});
    auto issued_at = Clock::now();
    target.Write(offset, WriteData(tag, offset, length), [&, tag, offset, length, first, phase,
                                                          issued_at](Status s) {
      auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - issued_at);
      if (s.ok()) log->Append({2, tag, offset, length});
      std::lock_guard l(mu);
      inflight.erase(first);
      if (s.ok()) {
        phases[phase].latencies_micros.push_back(static_cast<uint64_t>(latency.count()));
      } else {
        phases[phase].failed++;
      }
      if (s.ok()) {
        acked++;
        bytes += length;
      } else {
        failed++;
        if (first_error.empty()) first_error = s.ToString();
      }
      cv.notify_all();
    });
  };

  auto start = Clock::now();
  if (a.fill) {
    const uint32_t chunk = 1 << 20;
    for (uint64_t off = 0; off < size; off += chunk) {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return inflight.size() < a.qd; });
      issue(off, static_cast<uint32_t>(std::min<uint64_t>(chunk, size - off)));
    }
    std::unique_lock l(mu);
    cv.wait(l, [&] { return inflight.empty(); });
    std::printf("filled %s in %.1f s (%lu writes failed)\n", FormatBytes(size).c_str(),
                std::chrono::duration<double>(Clock::now() - start).count(), failed);
  }
  std::printf("load started (seed %lu)\n", seed);
  std::fflush(stdout);
  auto load_start = Clock::now();
  {
    std::lock_guard l(mu);
    phases.assign(1, PhaseStats{});
    phases[0].start = load_start;
  }
  const int first_phase = g_phase.load();
  auto end = load_start +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  auto next_status = load_start;
  std::string last;
  uint64_t issued = 0;
  while (Clock::now() < end) {
    if (a.rate != 0) {
      auto due = load_start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(issued) / a.rate));
      std::this_thread::sleep_until(std::min(due, end));
    }
    std::unique_lock l(mu);
    cv.wait(l, [&] { return inflight.size() < a.qd; });
    while (static_cast<int>(phases.size()) <= g_phase.load() - first_phase) {
      auto now = Clock::now();
      phases.back().end = now;
      phases.emplace_back().start = now;
      std::printf("phase %zu started\n", phases.size() - 1);
      std::fflush(stdout);
    }
    uint32_t length = kBlock * static_cast<uint32_t>(rng.Range(1, 16));
    uint64_t offset = rng.Range(0, (size - length) / kBlock) * kBlock;
    if (overlaps(offset / kBlock, (offset + length) / kBlock)) continue;
    issue(offset, length);
    issued++;
    l.unlock();
    if (Clock::now() >= next_status) {
      next_status += std::chrono::seconds(1);
      std::string line = Describe(target.GetStatus());
      if (line != last) std::printf("status: %s\n", line.c_str());
      std::fflush(stdout);
      last = line;
    }
  }
  {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return inflight.empty(); });
  }
  double secs = std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("load done: %lu writes acknowledged (%s, %.0f writes/s), %lu failed%s%s\n", acked,
              FormatBytes(bytes).c_str(), acked / secs, failed, first_error.empty() ? "" : ": ",
              first_error.c_str());
  {
    std::lock_guard l(mu);  // every write has completed: no callback touches phases now
    phases.back().end = Clock::now();
    PrintPhases(phases);
  }
  std::fflush(stdout);
  // Leave the volume whole: every replica back and healthy.
  Status healthy = WaitForVolume(target, /*healthy=*/true, 120);
  auto st = target.GetStatus();
  std::printf("rebuilds completed: %lu\n", st.rebuilds_completed);
  if (!healthy.ok()) return std::fprintf(stderr, "%s\n", healthy.ToString().c_str()), 1;
  if (a.fail_on_error && failed > 0) {
    return std::fprintf(stderr, "%lu writes failed: %s\n", failed, first_error.c_str()), 1;
  }
  return 0;
}

int Verify(const Args& a) {
  auto text = Env::Default()->ReadSmallFile(a.log);
  if (!text.ok()) return std::fprintf(stderr, "%s\n", text.status().ToString().c_str()), 1;
  // Per block: its last acknowledged write, and writes issued after it but not acknowledged.
  struct BlockState {
    std::optional<uint64_t> acked;
    std::set<uint64_t> maybe;
  };
  std::map<uint64_t, BlockState> blocks;
  std::map<uint64_t, Record> issued;  // not yet acknowledged
  size_t records = text->size() / kRecordSize;
  for (size_t i = 0; i < records; i++) {
    const char* p = text->data() + i * kRecordSize;
    Record r{static_cast<uint8_t>(p[0]), DecodeFixedLE<uint64_t>(p + 1),
             DecodeFixedLE<uint64_t>(p + 9), DecodeFixedLE<uint32_t>(p + 17)};
    for (uint64_t b = r.offset / kBlock; b < (r.offset + r.length) / kBlock; b++) {
      if (r.kind == 1) {
        blocks[b].maybe.insert(r.tag);
      } else {
        blocks[b].acked = r.tag;
        blocks[b].maybe.clear();  // older unacknowledged writes lose to this one
      }
    }
  }
  auto t = StartTarget(a);
  if (!t.ok()) return std::fprintf(stderr, "%s\n", t.status().ToString().c_str()), 1;
  if (Status s = WaitForVolume(**t, /*healthy=*/false, 120); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  uint64_t checked = 0, unacked_seen = 0, bad = 0;
  for (const auto& [b, state] : blocks) {
    auto data = (*t)->ReadSync(b * kBlock, kBlock);
    if (!data.ok()) {
      std::fprintf(stderr, "block %lu: read failed: %s\n", b, data.status().ToString().c_str());
      bad++;
      continue;
    }
    checked++;
    bool ok = false;
    if (state.acked && *data == BlockData(*state.acked, b)) ok = true;
    if (!state.acked && *data == std::string(kBlock, '\0')) ok = true;
    for (uint64_t tag : state.maybe) {
      if (!ok && *data == BlockData(tag, b)) {
        ok = true;
        unacked_seen++;
      }
    }
    if (!ok) {
      if (bad < 10) {
        std::fprintf(stderr, "block %lu: holds neither its last acknowledged write (%s) nor a "
                     "later unacknowledged one (%zu candidates)\n", b,
                     state.acked ? fmt::format("tag {:x}", *state.acked).c_str() : "none",
                     state.maybe.size());
      }
      bad++;
    }
  }
  std::printf("verified %lu blocks from %zu log records: %lu wrong, %lu hold a write that was "
              "never acknowledged (allowed)\n", checked, records, bad, unacked_seen);
  std::printf("status: %s\n", Describe((*t)->GetStatus()).c_str());
  return bad == 0 ? 0 : 1;
}

}  // namespace
}  // namespace cstor

int main(int argc, char** argv) {
  cstor::Args a;
  CLI::App app{"replication_load: a target with a write load, and its verifier"};
  app.require_subcommand(1);
  for (auto* sub : {app.add_subcommand("run", "Run the target with a write load"),
                    app.add_subcommand("verify", "Restart the target and check every block")}) {
    sub->add_option("--volume", a.volume)->capture_default_str();
    sub->add_option("--secret-file", a.secret_file)->required();
    sub->add_option("--listen", a.listen)->capture_default_str();
    sub->add_option("--state-dir", a.state_dir)->required();
    sub->add_option("--log", a.log)->required();
    sub->add_option("--replication-factor", a.rf)->capture_default_str();
  }
  auto* run = app.get_subcommand("run");
  run->add_option("--seconds", a.seconds)->capture_default_str();
  run->add_flag("--fill", a.fill, "Write the whole volume first");
  run->add_option("--qd", a.qd)->capture_default_str();
  run->add_option("--rate", a.rate, "Writes per second in the load phase (0: unlimited)");
  run->add_option("--seed", a.seed);
  run->add_flag("--fail-on-error", a.fail_on_error, "Exit 1 if any write failed");
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa {};
  sa.sa_handler = cstor::OnPhaseSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  if (app.got_subcommand("run")) return cstor::Run(a);
  return cstor::Verify(a);
}
