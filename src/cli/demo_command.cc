// cstor demo: exercises the storage engine end to end on a fresh pool in a local directory
// and prints what happened. The README's main job until the iSCSI target lands.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/aligned_buffer.h"
#include "base/random.h"
#include "base/units.h"
#include "cli/cli.h"
#include "engine/volume.h"

namespace cstor::cli {
namespace {

using Clock = std::chrono::steady_clock;

void Fill(std::span<std::byte> out, uint64_t seed) {
  Random rng(seed);
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, out.size() - i));
  }
}

// Writes [offset, offset + bytes) in 1 MiB pieces filled from seed, stamping io sequences.
Status WritePattern(engine::Volume& v, uint64_t offset, uint64_t bytes, uint64_t seed,
                    uint64_t* io_seq) {
  AlignedBuffer buf(1 << 20);
  for (uint64_t done = 0; done < bytes; done += buf.size()) {
    Fill(buf.span(), seed + (offset + done) / buf.size());
    CSTOR_RETURN_IF_ERROR(v.Write(offset + done, buf.span(), ++*io_seq));
  }
  return Status::Ok();
}

Status VerifyPattern(const std::function<Status(uint64_t, std::span<std::byte>)>& read,
                     uint64_t offset, uint64_t bytes, uint64_t seed, const std::string& what) {
  AlignedBuffer want(1 << 20), got(1 << 20);
  for (uint64_t done = 0; done < bytes; done += want.size()) {
    Fill(want.span(), seed + (offset + done) / want.size());
    CSTOR_RETURN_IF_ERROR(read(offset + done, got.span()));
    if (std::memcmp(want.data(), got.data(), want.size()) != 0) {
      return Status::Internal(fmt::format("{}: data at offset {} does not match", what,
                                          offset + done));
    }
  }
  return Status::Ok();
}

double MiBps(uint64_t bytes, Clock::time_point start) {
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  return s > 0 ? bytes / s / kMiB : 0;
}

void Step(const std::string& text) { std::printf("  ok  %s\n", text.c_str()); }

Status RunDemo(const std::string& dir) {
  Env* env = Env::Default();
  CSTOR_ASSIGN_OR_RETURN(FileInfo info, env->Stat(JoinPath(dir, "meta")));
  if (info.exists) {
    // Only ever remove what an earlier demo made.
    auto kids = env->GetChildren(JoinPath(dir, "meta"));
    if (kids.ok()) {
      for (const auto& k : *kids) (void)env->DeleteFile(JoinPath(dir, "meta/" + k));
    }
    (void)env->DeleteDir(JoinPath(dir, "meta"));
    (void)env->DeleteFile(JoinPath(dir, "dev0.img"));
    (void)env->DeleteFile(JoinPath(dir, "pool.lock"));
  }
  std::printf("cstor storage engine demo in %s\n", dir.c_str());
  CSTOR_ASSIGN_OR_RETURN(auto pool, engine::Pool::Create(dir, {{"dev0.img", 2 * kGiB}}));
  auto stats = pool->Stats();
  Step(fmt::format("created pool {} with a {} sparse device ({} IO)", stats.guid,
                   FormatBytes(stats.total_bytes), stats.direct_io ? "direct" : "buffered"));

  CSTOR_ASSIGN_OR_RETURN(auto vol, pool->CreateVolume("demo", 1 * kGiB));
  Step("created thin volume demo: 1 GiB, 4 KiB blocks, nothing allocated yet");

  uint64_t seq = 0;
  auto start = Clock::now();
  CSTOR_RETURN_IF_ERROR(WritePattern(*vol, 0, 128 * kMiB, 1, &seq));
  CSTOR_RETURN_IF_ERROR(vol->Flush());
  Step(fmt::format("wrote and flushed 128 MiB at {:.0f} MiB/s; checkpointed io_seq {}",
                   MiBps(128 * kMiB, start), vol->CheckpointedIoSeq()));
  const uint64_t before_snapshot = vol->CheckpointedIoSeq();

  CSTOR_ASSIGN_OR_RETURN(auto snap, vol->CreateSnapshot("before"));
  Step(fmt::format("snapshot demo@before: {} referenced", FormatBytes(snap.referenced_bytes)));

  CSTOR_RETURN_IF_ERROR(WritePattern(*vol, 32 * kMiB, 16 * kMiB, 2, &seq));
  auto live_read = [&](uint64_t off, std::span<std::byte> out) { return vol->Read(off, out); };
  auto snap_read = [&](uint64_t off, std::span<std::byte> out) {
    return vol->ReadSnapshot("before", off, out);
  };
  CSTOR_RETURN_IF_ERROR(VerifyPattern(live_read, 32 * kMiB, 16 * kMiB, 2, "live volume"));
  CSTOR_RETURN_IF_ERROR(VerifyPattern(snap_read, 0, 128 * kMiB, 1, "snapshot"));
  auto snaps = vol->ListSnapshots();
  Step(fmt::format("overwrote 16 MiB: live volume has the new data, the snapshot the old; "
                   "the snapshot now holds {} alone", FormatBytes(snaps.at(0).used_bytes)));

  CSTOR_ASSIGN_OR_RETURN(auto clone, pool->CloneVolume("demo-clone", "demo", "before"));
  CSTOR_RETURN_IF_ERROR(WritePattern(*clone, 0, 8 * kMiB, 3, &seq));
  auto clone_read = [&](uint64_t off, std::span<std::byte> out) { return clone->Read(off, out); };
  CSTOR_RETURN_IF_ERROR(VerifyPattern(clone_read, 0, 8 * kMiB, 3, "clone"));
  CSTOR_RETURN_IF_ERROR(VerifyPattern(clone_read, 8 * kMiB, 120 * kMiB, 1, "clone"));
  CSTOR_RETURN_IF_ERROR(VerifyPattern(live_read, 0, 8 * kMiB, 1, "origin after clone write"));
  Step("clone demo-clone of demo@before: shares its data, writes stay its own");

  CSTOR_ASSIGN_OR_RETURN(auto changes, vol->ChangedSince(before_snapshot));
  uint64_t changed = 0;
  while (true) {
    CSTOR_ASSIGN_OR_RETURN(auto batch, changes->Next(1024));
    if (batch.empty()) break;
    changed += batch.size();
  }
  Step(fmt::format("blocks changed since io_seq {}: {} ({}), of {} written in all",
                   before_snapshot, changed, FormatBytes(changed * 4096),
                   FormatBytes(vol->Info().allocated_bytes)));

  CSTOR_RETURN_IF_ERROR(vol->Unmap(64 * kMiB, 64 * kMiB, ++seq));
  CSTOR_RETURN_IF_ERROR(pool->Flush());
  Step(fmt::format("unmapped 64 MiB: volume now allocates {}, pool uses {}",
                   FormatBytes(vol->Info().allocated_bytes),
                   FormatBytes(pool->Stats().used_bytes)));

  vol.reset();
  clone.reset();
  CSTOR_RETURN_IF_ERROR(pool->Close());
  CSTOR_ASSIGN_OR_RETURN(pool, engine::Pool::Open(dir));
  CSTOR_ASSIGN_OR_RETURN(vol, pool->OpenVolume("demo"));
  CSTOR_RETURN_IF_ERROR(VerifyPattern(live_read, 0, 32 * kMiB, 1, "reopened volume"));
  CSTOR_RETURN_IF_ERROR(VerifyPattern(snap_read, 0, 128 * kMiB, 1, "reopened snapshot"));
  Step("closed and reopened the pool: volume and snapshot read back intact");

  start = Clock::now();
  CSTOR_ASSIGN_OR_RETURN(auto scrub, pool->Scrub());
  Step(fmt::format("scrub verified {} blocks ({}) at {:.0f} MiB/s: {} bad", scrub.blocks_checked,
                   FormatBytes(scrub.bytes_checked), MiBps(scrub.bytes_checked, start),
                   scrub.errors.size()));
  CSTOR_ASSIGN_OR_RETURN(auto check, pool->Check());
  Step(fmt::format("metadata check: {} units referenced, {} allocated, {} problems",
                   check.referenced_units, check.allocated_units, check.problems.size()));
  if (!scrub.errors.empty() || !check.problems.empty()) {
    return Status::Corruption("the demo pool failed verification");
  }
  vol.reset();
  CSTOR_RETURN_IF_ERROR(pool->Close());
  std::printf("demo finished; inspect it with:\n  cstor pool status %s\n"
              "  cstor volume list --pool %s\n  cstor volume snapshot list --pool %s demo\n",
              dir.c_str(), dir.c_str(), dir.c_str());
  return Status::Ok();
}

}  // namespace

void AddDemoCommand(Cli& cli) {
  auto dir = std::make_shared<std::string>("data/demo");
  CLI::App* demo = cli.app.add_subcommand(
      "demo", "run the storage engine end to end on a fresh local pool and report");
  demo->add_option("--dir", *dir, "pool directory (an earlier demo pool there is replaced)")
      ->capture_default_str();
  OnRun(cli, demo, [dir] { return RunDemo(*dir); });
}

}  // namespace cstor::cli
