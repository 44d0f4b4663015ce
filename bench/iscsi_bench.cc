// iscsi_bench: IOPS, throughput and latency of iSCSI targets through libiscsi's async API,
// several targets in one run so that they share the machine's noise, with ratios to the
// first target (the baseline, e.g. Debian's tgt).
//
//   iscsi_bench --target tgt=iscsi://127.0.0.1:3270/iqn.../1
//               --target cstor=iscsi://... [--seconds 5] [--region 256M]
//
// Every target is first filled sequentially over the region (so that reads find data, not
// holes), then each pattern runs for a fixed time on every target in turn: 4 KiB random
// write and read at queue depth 1 and 16, 1 MiB sequential write and read at queue depth 8.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Pattern {
  const char* name;
  bool write;
  bool random;
  uint32_t io_bytes;
  uint32_t depth;
};

constexpr Pattern kPatterns[] = {
    {"4K randwrite QD1", true, true, 4096, 1},     {"4K randwrite QD16", true, true, 4096, 16},
    {"4K randread QD1", false, true, 4096, 1},     {"4K randread QD16", false, true, 4096, 16},
    {"1M seqwrite QD8", true, false, 1 << 20, 8}, {"1M seqread QD8", false, false, 1 << 20, 8},
};

struct Result {
  double iops = 0, mib_per_s = 0, mean_us = 0, p99_us = 0;
  uint64_t errors = 0;
};

// One logged-in session to one LUN.
class Session {
 public:
  Session(const std::string& label, const std::string& url_text) : label_(label) {
    ctx_ = iscsi_create_context("iqn.2016-09.com.openebs.cstor:bench");
    if (!ctx_) throw std::runtime_error("cannot create a libiscsi context");
    iscsi_url* url = iscsi_parse_full_url(ctx_, url_text.c_str());
    if (!url) throw std::runtime_error(label + ": bad URL: " + iscsi_get_error(ctx_));
    iscsi_set_targetname(ctx_, url->target);
    iscsi_set_session_type(ctx_, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx_, ISCSI_HEADER_DIGEST_NONE);
    if (url->user[0]) iscsi_set_initiator_username_pwd(ctx_, url->user, url->passwd);
    lun_ = url->lun;
    const std::string portal = url->portal;
    iscsi_destroy_url(url);
    if (iscsi_full_connect_sync(ctx_, portal.c_str(), lun_) != 0) {
      throw std::runtime_error(label + ": login failed: " + iscsi_get_error(ctx_));
    }
    scsi_task* task = iscsi_readcapacity16_sync(ctx_, lun_);
    if (!task || task->status != SCSI_STATUS_GOOD) {
      throw std::runtime_error(label + ": READ CAPACITY(16) failed: " + iscsi_get_error(ctx_));
    }
    auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(task));
    if (!rc) throw std::runtime_error(label + ": cannot decode READ CAPACITY(16)");
    block_size_ = rc->block_length;
    bytes_ = (rc->returned_lba + 1) * block_size_;
    scsi_free_scsi_task(task);
  }
  ~Session() {
    iscsi_logout_sync(ctx_);
    iscsi_destroy_context(ctx_);
  }

  const std::string& label() const { return label_; }
  uint64_t bytes() const { return bytes_; }

  // Runs `p` over [0, region) until `seconds` pass, or once over the region when
  // `seconds` is 0 (the fill).
  Result Run(const Pattern& p, uint64_t region, double seconds) {
    state_ = State{};
    state_.p = &p;
    state_.units = region / p.io_bytes;
    state_.deadline = seconds > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(seconds))
                                  : Clock::time_point::max();
    state_.once = seconds == 0;
    if (buffer_.size() < p.io_bytes) {
      buffer_.resize(p.io_bytes);
      std::mt19937_64 fill(7);
      for (auto& b : buffer_) b = static_cast<unsigned char>(fill());
    }
    const auto start = Clock::now();
    for (uint32_t i = 0; i < p.depth; i++) Issue();
    while (state_.inflight > 0) {
      pollfd pfd{iscsi_get_fd(ctx_), static_cast<short>(iscsi_which_events(ctx_)), 0};
      if (poll(&pfd, 1, 1000) < 0) throw std::runtime_error("poll failed");
      if (iscsi_service(ctx_, pfd.revents) < 0) {
        throw std::runtime_error(label_ + ": " + iscsi_get_error(ctx_));
      }
    }
    if (!state_.failure.empty()) throw std::runtime_error(state_.failure);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    Result r;
    auto& lat = state_.latencies_us;
    r.errors = state_.errors;
    if (lat.empty()) return r;
    r.iops = static_cast<double>(lat.size()) / elapsed;
    r.mib_per_s = r.iops * p.io_bytes / (1 << 20);
    double sum = 0;
    for (double v : lat) sum += v;
    r.mean_us = sum / static_cast<double>(lat.size());
    std::sort(lat.begin(), lat.end());
    r.p99_us = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    return r;
  }

 private:
  struct State {
    const Pattern* p = nullptr;
    uint64_t units = 0;
    uint64_t next = 0;  // the next unit, sequential patterns
    Clock::time_point deadline;
    bool once = false;
    uint32_t inflight = 0;
    uint64_t errors = 0;
    std::vector<double> latencies_us;
    std::string failure;  // set when a command could not be queued
  };
  struct Io {
    Session* s;
    Clock::time_point start;
  };

  void Issue() {
    const Pattern& p = *state_.p;
    if (Clock::now() >= state_.deadline || !state_.failure.empty()) return;
    uint64_t unit;
    if (p.random) {
      unit = std::uniform_int_distribution<uint64_t>(0, state_.units - 1)(rng_);
    } else {
      if (state_.once && state_.next >= state_.units) return;
      unit = state_.next++ % state_.units;
    }
    const uint64_t lba = unit * p.io_bytes / block_size_;
    auto* io = new Io{this, Clock::now()};
    scsi_task* t =
        p.write ? iscsi_write16_task(ctx_, lun_, lba, buffer_.data(), p.io_bytes, block_size_, 0,
                                     0, 0, 0, 0, &Session::Done, io)
                : iscsi_read16_task(ctx_, lun_, lba, p.io_bytes, block_size_, 0, 0, 0, 0, 0,
                                    &Session::Done, io);
    if (!t) {  // reported after iscsi_service returns: never throw through libiscsi
      delete io;
      state_.failure = label_ + ": cannot queue a command: " + iscsi_get_error(ctx_);
      return;
    }
    state_.inflight++;
  }

  static void Done(iscsi_context*, int status, void* command_data, void* private_data) {
    auto* io = static_cast<Io*>(private_data);
    Session* s = io->s;
    State& st = s->state_;
    st.inflight--;
    if (status == SCSI_STATUS_GOOD) {
      st.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - io->start).count());
    } else {
      st.errors++;
    }
    delete io;
    scsi_free_scsi_task(static_cast<scsi_task*>(command_data));
    s->Issue();
  }

  std::string label_;
  iscsi_context* ctx_ = nullptr;
  int lun_ = 0;
  uint32_t block_size_ = 512;
  uint64_t bytes_ = 0;
  std::vector<unsigned char> buffer_;
  std::mt19937_64 rng_{42};
  State state_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"IOPS, throughput and latency of iSCSI targets, with ratios to the first"};
  std::vector<std::string> targets;
  double seconds = 5;
  std::string region_text = "256M";
  std::string only;
  bool no_fill = false;
  app.add_option("--target", targets, "LABEL=URL; the first is the baseline")->required();
  app.add_option("--seconds", seconds, "Seconds per pattern and target")->capture_default_str();
  app.add_option("--region", region_text, "Bytes of each LUN the patterns use")
      ->capture_default_str();
  app.add_option("--only", only, "Run only the patterns whose name contains this, e.g. QD16");
  app.add_flag("--no-fill", no_fill, "Skip the fill (the LUNs were filled before)");
  CLI11_PARSE(app, argc, argv);
  auto region = cstor::ParseSize(region_text);
  if (!region.ok() || *region < (8u << 20)) {
    std::fprintf(stderr, "--region must be a size of at least 8M\n");
    return 2;
  }
  if (seconds <= 0) {
    std::fprintf(stderr, "--seconds must be positive\n");
    return 2;
  }
  try {
    std::vector<std::unique_ptr<Session>> sessions;
    for (const auto& t : targets) {
      const size_t eq = t.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "--target wants LABEL=URL, not %s\n", t.c_str());
        return 2;
      }
      sessions.push_back(std::make_unique<Session>(t.substr(0, eq), t.substr(eq + 1)));
      if (sessions.back()->bytes() < *region) {
        std::fprintf(stderr, "%s is smaller than --region\n", sessions.back()->label().c_str());
        return 2;
      }
    }
    for (auto& s : sessions) {
      if (no_fill) break;
      std::printf("fill %-10s %s sequentially ...", s->label().c_str(),
                  cstor::FormatBytes(*region).c_str());
      std::fflush(stdout);
      Result r = s->Run(kPatterns[4], *region, 0);
      std::printf(" %.0f MiB/s\n", r.mib_per_s);
    }
    std::printf("\n%-18s %-10s %10s %10s %10s %10s %8s\n", "pattern", "target", "IOPS", "MiB/s",
                "mean us", "p99 us", "ratio");
    for (const Pattern& p : kPatterns) {
      if (std::string_view(p.name).find(only) == std::string_view::npos) continue;
      double baseline = 0;
      for (auto& s : sessions) {
        Result r = s->Run(p, *region, seconds);
        if (baseline == 0) baseline = r.iops;
        std::printf("%-18s %-10s %10.0f %10.1f %10.0f %10.0f %8.2f%s\n", p.name,
                    s->label().c_str(), r.iops, r.mib_per_s, r.mean_us, r.p99_us,
                    baseline > 0 ? r.iops / baseline : 0.0,
                    r.errors ? fmt::format("  ({} errors)", r.errors).c_str() : "");
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "iscsi_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
