// iscsi_verify_load: a load that checks what it reads, through libiscsi (a real initiator),
// for the replication chaos test.
//
//   iscsi_verify_load --url iscsi://127.0.0.1:3260/iqn.../0 [--seconds 60 | --stop-file F]
//                     [--region 64M] [--qd 16] [--read-percent 30] [--seed N]
//
// Keeps --qd commands in flight over the first --region bytes of the LUN: 4 KiB writes
// whose bytes name the block, a generation and the seed, and 4 KiB reads that must find the
// last generation acknowledged for the block (zeros if it was never written). A block has at
// most one command in flight, so exactly one generation is right. When --seconds pass or
// the stop file appears, it stops issuing, drains, and reads the whole region back.
//
// Exits 1 if any command failed or any block held the wrong bytes; prints a progress line
// every --progress seconds (commands, the slowest one) and the totals at the end.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/units.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kBlock = 4096;
constexpr char kMagic[8] = {'c', 's', 't', 'o', 'r', 'v', 'f', 'y'};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The bytes of generation `gen` of `block`: a header naming them, then a stream seeded by
// both, so that a block from another place or time never matches.
void Fill(uint64_t seed, uint64_t block, uint64_t gen, unsigned char* out) {
  std::memcpy(out, kMagic, 8);
  std::memcpy(out + 8, &block, 8);
  std::memcpy(out + 16, &gen, 8);
  uint64_t x = seed ^ (block * 0x9e3779b97f4a7c15ULL) ^ (gen * 0xbf58476d1ce4e5b9ULL) ^ 1;
  for (uint32_t i = 24; i < kBlock; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(out + i, &x, 8);
  }
}

// What a block holds instead of what it should, for the report.
std::string Describe(const unsigned char* got) {
  if (std::all_of(got, got + kBlock, [](unsigned char c) { return c == 0; })) return "zeros";
  if (std::memcmp(got, kMagic, 8) != 0) return "bytes this load never wrote";
  uint64_t block = 0, gen = 0;
  std::memcpy(&block, got + 8, 8);
  std::memcpy(&gen, got + 16, 8);
  return "block " + std::to_string(block) + " generation " + std::to_string(gen);
}

class Load {
 public:
  struct Options {
    std::string url;
    double seconds = 60;
    std::string stop_file;
    uint64_t region = 64 << 20;
    uint32_t qd = 16;
    uint32_t read_percent = 30;
    uint64_t seed = 1;
    double progress = 5;
  };

  explicit Load(Options o) : o_(std::move(o)), rng_(o_.seed) {}
  ~Load() {
    if (ctx_) {
      if (connected_) iscsi_logout_sync(ctx_);
      iscsi_destroy_context(ctx_);
    }
  }

  bool Connect() {
    ctx_ = iscsi_create_context("iqn.2016-09.com.openebs.cstor:verify-load");
    if (!ctx_) return Error("cannot create a libiscsi context");
    iscsi_url* url = iscsi_parse_full_url(ctx_, o_.url.c_str());
    if (!url) return Error(std::string("bad URL: ") + iscsi_get_error(ctx_));
    iscsi_set_targetname(ctx_, url->target);
    iscsi_set_session_type(ctx_, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx_, ISCSI_HEADER_DIGEST_NONE);
    lun_ = url->lun;
    std::string portal = url->portal;
    iscsi_destroy_url(url);
    if (iscsi_full_connect_sync(ctx_, portal.c_str(), lun_) != 0) {
      return Error(std::string("login failed: ") + iscsi_get_error(ctx_));
    }
    connected_ = true;
    scsi_task* t = iscsi_readcapacity16_sync(ctx_, lun_);
    if (!t || t->status != SCSI_STATUS_GOOD) return Error("READ CAPACITY(16) failed");
    auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
    if (!rc) return Error("cannot decode READ CAPACITY(16)");
    lba_size_ = rc->block_length;
    uint64_t bytes = (rc->returned_lba + 1) * lba_size_;
    scsi_free_scsi_task(t);
    if (kBlock % lba_size_ != 0) return Error("the LUN's block size does not divide 4 KiB");
    if (bytes < o_.region) return Error("the LUN is smaller than --region");
    blocks_.resize(o_.region / kBlock);
    return true;
  }

  // The load, then the full read-back. True if nothing failed and nothing was wrong.
  bool Run() {
    start_ = last_progress_ = Clock::now();
    deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(o_.seconds));
    std::printf("verify-load: %s, %zu blocks of 4 KiB, qd %u, %u%% reads\n", o_.url.c_str(),
                blocks_.size(), o_.qd, o_.read_percent);
    std::fflush(stdout);
    for (uint32_t i = 0; i < o_.qd; i++) IssueRandom();
    if (!Pump()) return false;
    const double load_seconds = Seconds(Clock::now() - start_);
    std::printf("verify-load: load done in %.1f s: %lu writes, %lu reads, %lu failed, %lu wrong, "
                "slowest command %.0f ms\n",
                load_seconds, writes_, reads_, failed_, wrong_, slowest_ms_);
    // Read everything back.
    stopping_ = false;
    verifying_ = true;
    next_verify_ = 0;
    for (uint32_t i = 0; i < o_.qd; i++) IssueVerify();
    if (!Pump()) return false;
    std::printf("verify-load: read back %lu blocks: %lu wrong, %lu failed\n", verified_, wrong_,
                failed_);
    return failed_ == 0 && wrong_ == 0;
  }

 private:
  struct Block {
    uint64_t gen = 0;      // last acknowledged generation (0: never written, reads zeros)
    bool busy = false;     // a command is in flight on it
    bool unknown = false;  // a write to it failed: either generation may be there
  };
  struct Io {
    Load* load;
    uint64_t block;
    uint64_t gen;  // written, or expected
    bool write;
    Clock::time_point start;
    std::vector<unsigned char> data;
  };

  bool Error(const std::string& what) {
    std::fprintf(stderr, "verify-load: %s\n", what.c_str());
    return false;
  }

  bool Stopping() {
    if (stopping_) return true;
    if (Clock::now() >= deadline_ || (!o_.stop_file.empty() && access(o_.stop_file.c_str(), F_OK) == 0)) {
      stopping_ = true;
    }
    return stopping_;
  }

  // Services the session until nothing is in flight.
  bool Pump() {
    while (inflight_ > 0) {
      pollfd pfd{iscsi_get_fd(ctx_), static_cast<short>(iscsi_which_events(ctx_)), 0};
      if (poll(&pfd, 1, 100) < 0) return Error("poll failed");
      if (iscsi_service(ctx_, pfd.revents) < 0) {
        return Error(std::string("session failed: ") + iscsi_get_error(ctx_));
      }
      if (!queue_failure_.empty()) return Error(queue_failure_);
      Progress();
    }
    return true;
  }

  void Progress() {
    auto now = Clock::now();
    if (o_.progress <= 0 || Seconds(now - last_progress_) < o_.progress) return;
    last_progress_ = now;
    std::printf("verify-load: %5.0f s  %lu writes  %lu reads  %lu failed  %lu wrong  slowest %.0f ms\n",
                Seconds(now - start_), writes_, reads_, failed_, wrong_, window_slowest_ms_);
    std::fflush(stdout);
    window_slowest_ms_ = 0;
  }

  void IssueRandom() {
    if (Stopping()) return;
    uint64_t b;
    do {
      b = std::uniform_int_distribution<uint64_t>(0, blocks_.size() - 1)(rng_);
    } while (blocks_[b].busy);
    const bool write = std::uniform_int_distribution<uint32_t>(0, 99)(rng_) >= o_.read_percent;
    Issue(b, write);
  }

  void IssueVerify() {
    while (next_verify_ < blocks_.size() && blocks_[next_verify_].unknown) next_verify_++;
    if (next_verify_ >= blocks_.size()) return;
    Issue(next_verify_++, false);
  }

  void Issue(uint64_t b, bool write) {
    Block& blk = blocks_[b];
    blk.busy = true;
    auto* io = new Io{this, b, write ? blk.gen + 1 : blk.gen, write, Clock::now(), {}};
    const uint64_t lba = b * kBlock / lba_size_;
    scsi_task* t;
    if (write) {
      io->data.resize(kBlock);
      Fill(o_.seed, b, io->gen, io->data.data());
      t = iscsi_write16_task(ctx_, lun_, lba, io->data.data(), kBlock, lba_size_, 0, 0, 0, 0, 0,
                             &Load::Done, io);
    } else {
      t = iscsi_read16_task(ctx_, lun_, lba, kBlock, lba_size_, 0, 0, 0, 0, 0, &Load::Done, io);
    }
    if (!t) {  // reported by Pump: never throw through libiscsi
      queue_failure_ = std::string("cannot queue a command: ") + iscsi_get_error(ctx_);
      blk.busy = false;
      delete io;
      return;
    }
    inflight_++;
  }

  static void Done(iscsi_context* ctx, int status, void* command_data, void* private_data) {
    auto* io = static_cast<Io*>(private_data);
    auto* task = static_cast<scsi_task*>(command_data);
    Load& l = *io->load;
    l.inflight_--;
    const double ms = Seconds(Clock::now() - io->start) * 1000;
    l.slowest_ms_ = std::max(l.slowest_ms_, ms);
    l.window_slowest_ms_ = std::max(l.window_slowest_ms_, ms);
    Block& blk = l.blocks_[io->block];
    blk.busy = false;
    if (status != SCSI_STATUS_GOOD) {
      l.failed_++;
      std::fprintf(stderr, "verify-load: %s of block %lu failed: %s\n", io->write ? "write" : "read",
                   io->block, iscsi_get_error(ctx));
      if (io->write) blk.unknown = true;
    } else if (io->write) {
      l.writes_++;
      blk.gen = io->gen;
    } else {
      l.reads_++;
      if (l.verifying_) l.verified_++;
      std::vector<unsigned char> want(kBlock, 0);
      if (io->gen != 0) Fill(l.o_.seed, io->block, io->gen, want.data());
      if (!blk.unknown && (task->datain.size != static_cast<int>(kBlock) ||
                           std::memcmp(task->datain.data, want.data(), kBlock) != 0)) {
        l.wrong_++;
        std::string got = task->datain.size == static_cast<int>(kBlock)
                              ? Describe(task->datain.data)
                              : std::to_string(task->datain.size) + " bytes";
        std::fprintf(stderr, "verify-load: block %lu should hold generation %lu, holds %s\n",
                     io->block, io->gen, got.c_str());
      }
    }
    delete io;
    scsi_free_scsi_task(task);
    if (l.verifying_) {
      l.IssueVerify();
    } else {
      l.IssueRandom();
    }
  }

  Options o_;
  std::mt19937_64 rng_;
  iscsi_context* ctx_ = nullptr;
  bool connected_ = false;
  int lun_ = 0;
  uint32_t lba_size_ = 512;
  std::vector<Block> blocks_;
  uint32_t inflight_ = 0;
  bool stopping_ = false, verifying_ = false;
  uint64_t next_verify_ = 0;
  std::string queue_failure_;
  Clock::time_point start_, last_progress_, deadline_;
  unsigned long writes_ = 0, reads_ = 0, failed_ = 0, wrong_ = 0, verified_ = 0;
  double slowest_ms_ = 0, window_slowest_ms_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A verifying write and read load through libiscsi"};
  Load::Options o;
  std::string region = "64M";
  app.add_option("--url", o.url, "iscsi://HOST:PORT/IQN/LUN")->required();
  app.add_option("--seconds", o.seconds, "How long to load")->capture_default_str();
  app.add_option("--stop-file", o.stop_file, "Stop loading once this file exists");
  app.add_option("--region", region, "Bytes of the LUN to use, from its start")->capture_default_str();
  app.add_option("--qd", o.qd, "Commands in flight")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--read-percent", o.read_percent, "Share of reads")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_option("--seed", o.seed, "Seeds the choice of blocks and the bytes written")
      ->capture_default_str();
  app.add_option("--progress", o.progress, "Seconds between progress lines (0: none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto bytes = cstor::ParseSize(region);
  if (!bytes.ok() || *bytes < kBlock * 64 || *bytes % kBlock != 0) {
    std::fprintf(stderr, "--region must be a multiple of 4 KiB, at least 256K\n");
    return 2;
  }
  o.region = *bytes;
  if (o.region / kBlock < 4 * uint64_t{o.qd}) {
    std::fprintf(stderr, "--region must hold at least 4 blocks of 4 KiB per command in flight\n");
    return 2;
  }
  Load load(o);
  if (!load.Connect()) return 1;
  return load.Run() ? 0 : 1;
}
