// Pool::Scrub (read and verify every stored block) and Pool::Check (metadata consistency).
#include <fmt/format.h>

#include "base/aligned_buffer.h"
#include "engine/pool.h"
#include "engine/pool_core.h"

namespace cstor::engine {
namespace {

std::vector<std::shared_ptr<Volume>> AllVolumes(PoolCore& core) {
  MutexLock l(&core.volumes_mu);
  std::vector<std::shared_ptr<Volume>> out;
  for (auto& [name, v] : core.volumes) out.push_back(v);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a->id() < b->id(); });
  return out;
}

}  // namespace

namespace {

// A block to verify: where it lives and what its data must hash to.
struct ScrubItem {
  uint64_t lba;
  BlockRecord rec;
  bool held;  // a version only snapshots hold
};

}  // namespace

Result<ScrubReport> Pool::Scrub(const std::function<void(uint64_t, uint64_t)>& progress) {
  PoolCore& core = *core_;
  ScrubReport report;
  const uint64_t total = core.alloc->used_units() * kUnitSize;
  uint64_t last_report = 0;
  constexpr size_t kBatch = 1024;
  constexpr uint64_t kMaxRead = 1 << 20;
  for (auto& v : AllVolumes(core)) {
    ReaderLock io(&v->io_lock_);  // snapshots cannot go away while we read what they hold
    Status usable = v->CheckUsable();
    if (usable.Is(Code::kNotFound)) continue;  // deleted meanwhile
    CSTOR_RETURN_IF_ERROR(usable);             // fenced or closed: nothing it says is current
    const uint64_t bs = v->block_size();
    const uint32_t upb = v->units_per_block();
    AlignedBuffer buf(std::max(kMaxRead, bs));
    // Verifies a batch, reading blocks that sit next to each other on disk together.
    auto verify = [&](std::vector<ScrubItem>& items) -> Status {
      std::sort(items.begin(), items.end(), [](const ScrubItem& a, const ScrubItem& b) {
        return std::pair(a.rec.phys.device, a.rec.phys.unit) <
               std::pair(b.rec.phys.device, b.rec.phys.unit);
      });
      for (size_t i = 0; i < items.size();) {
        size_t j = i + 1;
        while (j < items.size() && (j - i + 1) * bs <= buf.size() &&
               items[j].rec.phys.device == items[i].rec.phys.device &&
               items[j].rec.phys.unit == items[i].rec.phys.unit + (j - i) * upb) {
          j++;
        }
        const PhysAddr at = items[i].rec.phys;
        CSTOR_RETURN_IF_ERROR(
            core.ReadAt(at, buf.span().subspan(0, (j - i) * bs)));
        for (size_t k = i; k < j; k++) {
          const ScrubItem& it = items[k];
          report.blocks_checked++;
          report.bytes_checked += bs;
          Status s = v->Verify(it.lba, it.rec, buf.span().subspan((k - i) * bs, bs));
          if (s.ok()) continue;
          if (!it.held) {
            // Live blocks may be rewritten while we read them; a mismatch counts only if the
            // block is unchanged and still bad when read again under its lock.
            core.checksum_errors--;
            auto guard = v->stripes_.Lock(it.lba, 1, /*exclusive=*/false);
            auto now = core.map->Get({v->id(), it.lba});
            if (!now.ok() || !*now || !(**now == it.rec)) continue;
            AlignedBuffer one(bs);
            CSTOR_RETURN_IF_ERROR(core.ReadAt(it.rec.phys, one.span()));
            s = v->Verify(it.lba, it.rec, one.span());
            if (s.ok()) continue;
          }
          report.errors.push_back({v->name(), it.held, it.lba, it.rec.io_seq, s.message()});
        }
        i = j;
      }
      if (progress && report.bytes_checked - last_report >= (64 << 20)) {
        last_report = report.bytes_checked;
        progress(report.bytes_checked, total);
      }
      items.clear();
      return Status::Ok();
    };
    std::vector<ScrubItem> batch;
    Status failed;
    CSTOR_RETURN_IF_ERROR(core.map->ScanLive(v->id(), 0, UINT64_MAX, [&](uint64_t lba,
                                                                         const BlockRecord& rec) {
      if (rec.has_data()) batch.push_back({lba, rec, false});
      if (batch.size() == kBatch) failed = verify(batch);
      return failed.ok();
    }));
    CSTOR_RETURN_IF_ERROR(failed);
    CSTOR_RETURN_IF_ERROR(verify(batch));
    CSTOR_RETURN_IF_ERROR(core.map->ScanOld(v->id(), 0, UINT64_MAX, [&](uint64_t lba, uint64_t,
                                                                        const OldRecord& old) {
      if (old.rec.has_data()) batch.push_back({lba, old.rec, true});
      if (batch.size() == kBatch) failed = verify(batch);
      return failed.ok();
    }));
    CSTOR_RETURN_IF_ERROR(failed);
    CSTOR_RETURN_IF_ERROR(verify(batch));
  }
  if (progress) progress(report.bytes_checked, total);
  return report;
}

Result<CheckReport> Pool::Check() NO_THREAD_SAFETY_ANALYSIS {
  PoolCore& core = *core_;
  MutexLock admin(&core.admin_mu);
  auto volumes = AllVolumes(core);
  for (auto& v : volumes) v->io_lock_.Lock();  // quiesce: no IO while we count
  struct Unlock {
    std::vector<std::shared_ptr<Volume>>& vs;
    ~Unlock() NO_THREAD_SAFETY_ANALYSIS {
      for (auto& v : vs) v->io_lock_.Unlock();
    }
  } unlock{volumes};
  CSTOR_RETURN_IF_ERROR(core.journal->Flush());

  CheckReport report;
  std::vector<std::vector<bool>> referenced;
  for (auto& d : core.devices) referenced.emplace_back(d->units(), false);
  auto problem = [&](std::string msg) {
    if (report.problems.size() < 100) report.problems.push_back(std::move(msg));
  };
  auto reference = [&](const std::string& what, const BlockRecord& rec, uint32_t upb) {
    if (rec.phys.device >= referenced.size() ||
        rec.phys.unit + upb > referenced[rec.phys.device].size()) {
      problem(fmt::format("{} points outside the devices", what));
      return;
    }
    for (uint64_t u = rec.phys.unit; u < rec.phys.unit + upb; u++) {
      if (referenced[rec.phys.device][u]) {
        problem(fmt::format("{}: unit {}:{} is referenced twice", what, rec.phys.device, u));
      }
      referenced[rec.phys.device][u] = true;
      if (!core.alloc->PersistentIsSet(rec.phys.device, u)) {
        problem(fmt::format("{}: unit {}:{} is marked free", what, rec.phys.device, u));
      }
      report.referenced_units++;
    }
  };
  for (auto& v : volumes) {
    const uint32_t upb = v->units_per_block();
    uint64_t live = 0, held = 0;
    CSTOR_RETURN_IF_ERROR(core.map->ScanLive(v->id(), 0, UINT64_MAX, [&](uint64_t lba,
                                                                         const BlockRecord& r) {
      if (lba >= v->blocks()) problem(fmt::format("{} block {} is past the end", v->name(), lba));
      if (r.has_data()) {
        live++;
        reference(fmt::format("{} block {}", v->name(), lba), r, upb);
      }
      return true;
    }));
    CSTOR_RETURN_IF_ERROR(core.map->ScanOld(v->id(), 0, UINT64_MAX, [&](uint64_t lba,
                                                                        uint64_t birth,
                                                                        const OldRecord& o) {
      auto kill = core.store->Get(keys::Kill(v->id(), o.kill, lba));
      if (!kill.ok() || !*kill) {
        problem(fmt::format("{} block {} born {}: no kill index entry", v->name(), lba, birth));
      }
      if (o.rec.has_data()) {
        held++;
        reference(fmt::format("{} block {} (held, born {})", v->name(), lba, birth), o.rec, upb);
      }
      return true;
    }));
    std::string kills = keys::KillPrefix(v->id());
    CSTOR_RETURN_IF_ERROR(core.store->Scan(kills, keys::PrefixEnd(kills), [&](std::string_view k,
                                                                            std::string_view val) {
      uint64_t vol, kill, lba;
      auto rec = DecodeKill(val);
      if (!keys::ParseKill(k, &vol, &kill, &lba) || !rec.ok()) {
        problem(fmt::format("{}: malformed kill index entry", v->name()));
        return true;
      }
      auto old = core.store->Get(keys::Old(vol, lba, rec->birth));
      if (!old.ok() || !*old) {
        problem(fmt::format("{} block {} killed {}: kill index entry without a held version",
                            v->name(), lba, kill));
      }
      return true;
    }));
    VolumeCounters c = core.journal->Counters(v->id());
    if (c.live_blocks != live || c.held_blocks != held) {
      problem(fmt::format("{}: counters say {} live and {} held blocks; found {} and {}",
                          v->name(), c.live_blocks, c.held_blocks, live, held));
    }
  }
  uint64_t leaked = 0;
  core.alloc->ForEachPersistent([&](uint32_t dev, uint64_t unit) {
    report.allocated_units++;
    if (!referenced[dev][unit]) leaked++;
  });
  if (leaked > 0) problem(fmt::format("{} allocated units are referenced by nothing", leaked));
  if (core.alloc->used_units() != core.alloc->persistent_used_units()) {
    problem(fmt::format("{} units in use but {} allocated in the stored bitmap",
                        core.alloc->used_units(), core.alloc->persistent_used_units()));
  }
  return report;
}

}  // namespace cstor::engine
