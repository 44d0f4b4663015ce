// engine_bench: the storage engine against a plain file of the same size on the same disk,
// with the same IO mode (direct by default) and the same flushes, in one run. Prints IOPS,
// MiB/s and the engine/plain ratio per pattern, then what the metadata costs.
//
//   engine_bench [--dir DIR] [--size 1G] [--seconds 3] [--rounds 2] [--buffered]
//                [--block-size 4K] [--only PATTERN] [--target plain|engine]
//
// Each pattern runs for a fixed time on each target, alternating rounds; the best round of
// each target counts, which damps the noise of a shared machine.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/check.h"
#include "base/random.h"
#include "base/units.h"
#include "engine/block_cache.h"
#include "engine/pool.h"
#include "env/env.h"

namespace cstor {
namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string dir = "bench-data";
  uint64_t size = kGiB;
  uint32_t block_size = 4096;  // the engine volume's block size
  double seconds = 3;
  int rounds = 2;
  bool direct = true;
  std::string only;    // run only patterns whose name contains this
  std::string target;  // "plain" or "engine": run only that target
};

// Something to run a pattern against.
struct Target {
  std::string name;
  std::function<Status(uint64_t, std::span<const std::byte>, uint64_t)> write;
  std::function<Status(uint64_t, std::span<std::byte>)> read;
  std::function<Status()> flush;
};

struct Pattern {
  std::string name;
  uint64_t io_size;
  bool random;
  bool write;
  int flush_every;  // 0: never
  double goal;      // minimum engine/plain ratio we aim for
};

struct Result {
  double iops = 0;
  double mibps = 0;
};

Result Run(const Target& t, const Pattern& p, const Config& c, uint64_t* io_seq) {
  AlignedBuffer buf(p.io_size);
  Random rng(p.io_size * 31 + p.random);
  for (size_t i = 0; i < buf.size(); i++) buf.data()[i] = std::byte(rng.Next());
  const uint64_t slots = c.size / p.io_size;
  uint64_t ops = 0, seq_pos = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(c.seconds);
  while (Clock::now() < deadline) {
    for (int i = 0; i < 32; i++) {
      uint64_t slot = p.random ? rng.Uniform(slots) : seq_pos++ % slots;
      Status s = p.write ? t.write(slot * p.io_size, buf.span(), ++*io_seq)
                         : t.read(slot * p.io_size, buf.span());
      if (!s.ok()) {
        fmt::print(stderr, "{} {}: {}\n", t.name, p.name, s.ToString());
        std::exit(1);
      }
      ops++;
      if (p.flush_every && ops % p.flush_every == 0) {
        Status f = t.flush();
        if (!f.ok()) {
          fmt::print(stderr, "{} flush: {}\n", t.name, f.ToString());
          std::exit(1);
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return {ops / secs, ops * p.io_size / secs / kMiB};
}

Status Fill(const Target& t, const Config& c, uint64_t* io_seq) {
  AlignedBuffer buf(kMiB);
  Random rng(5);
  for (size_t i = 0; i < buf.size(); i++) buf.data()[i] = std::byte(rng.Next());
  for (uint64_t off = 0; off < c.size; off += buf.size()) {
    CSTOR_RETURN_IF_ERROR(t.write(off, buf.span(), ++*io_seq));
  }
  return t.flush();
}

uint64_t DirBytes(Env* env, const std::string& dir) {
  uint64_t total = 0;
  auto kids = env->GetChildren(dir);
  if (!kids.ok()) return 0;
  for (const auto& k : *kids) {
    auto info = env->Stat(JoinPath(dir, k));
    if (info.ok() && !info->is_directory) total += info->size;
  }
  return total;
}

int Main(const Config& c) {
  Env* env = Env::Default();
  CSTOR_CHECK_OK(env->CreateDirs(c.dir));
  const std::string plain_path = JoinPath(c.dir, "plain.img");
  const std::string pool_dir = JoinPath(c.dir, "pool");
  (void)env->DeleteFile(plain_path);
  auto old_meta = env->GetChildren(JoinPath(pool_dir, "meta"));
  if (old_meta.ok()) {  // a pool from an earlier run
    for (const auto& k : *old_meta) (void)env->DeleteFile(JoinPath(pool_dir, "meta/" + k));
    (void)env->DeleteDir(JoinPath(pool_dir, "meta"));
    (void)env->DeleteFile(JoinPath(pool_dir, "dev0.img"));
  }

  auto plain = env->OpenFile(plain_path, {.create = true, .direct_io = c.direct});
  if (!plain.ok()) {
    fmt::print(stderr, "open {}: {}\n", plain_path, plain.status().ToString());
    return 1;
  }
  CSTOR_CHECK_OK((*plain)->Truncate(c.size));
  engine::PoolOptions opts;
  opts.direct_io = c.direct;
  opts.block_cache_bytes = 64 << 20;
  auto pool = engine::Pool::Create(pool_dir, {{"dev0.img", c.size * 2 + (64 << 20)}}, opts);
  if (!pool.ok()) {
    fmt::print(stderr, "create pool: {}\n", pool.status().ToString());
    return 1;
  }
  auto volume = *(*pool)->CreateVolume("bench", c.size, c.block_size);

  File* file = plain->get();
  Target plain_target{"plain file",
                      [file](uint64_t off, std::span<const std::byte> d, uint64_t) {
                        return file->Write(off, d);
                      },
                      [file](uint64_t off, std::span<std::byte> d) {
                        return file->ReadExact(off, d);
                      },
                      [file] { return file->Sync(); }};
  engine::Volume* v = volume.get();
  Target engine_target{"engine",
                       [v](uint64_t off, std::span<const std::byte> d, uint64_t seq) {
                         return v->Write(off, d, seq);
                       },
                       [v](uint64_t off, std::span<std::byte> d) { return v->Read(off, d); },
                       [v] { return v->Flush(); }};

  fmt::print(
      "engine_bench: {} volume ({} blocks) vs a {} plain file in {}, {} IO, {} s per run, "
      "best of {}\n",
      FormatBytes(c.size), FormatBytes(c.block_size), FormatBytes(c.size), c.dir,
      c.direct ? "direct" : "buffered", c.seconds, c.rounds);
  uint64_t seq = 0;
  auto fill_start = Clock::now();
  CSTOR_CHECK_OK(Fill(plain_target, c, &seq));
  double plain_fill = std::chrono::duration<double>(Clock::now() - fill_start).count();
  fill_start = Clock::now();
  CSTOR_CHECK_OK(Fill(engine_target, c, &seq));
  double engine_fill = std::chrono::duration<double>(Clock::now() - fill_start).count();
  fmt::print("prefill (1 MiB writes, then flush): plain {:.0f} MiB/s, engine {:.0f} MiB/s\n\n",
             c.size / plain_fill / kMiB, c.size / engine_fill / kMiB);

  const std::vector<Pattern> patterns = {
      {"4K random write", 4096, true, true, 0, 0.7},
      {"4K random write, flush/32", 4096, true, true, 32, 0.7},
      {"4K random read", 4096, true, false, 0, 0.85},
      {"128K sequential write", 128 << 10, false, true, 0, 0.8},
      {"128K sequential write, flush/32", 128 << 10, false, true, 32, 0.8},
      {"128K sequential read", 128 << 10, false, false, 0, 0.8},
  };
  fmt::print("{:<32} {:>18} {:>18} {:>7} {:>6}\n", "pattern", "plain file", "engine", "ratio",
             "goal");
  int missed = 0;
  for (const Pattern& p : patterns) {
    if (!c.only.empty() && p.name.find(c.only) == std::string::npos) continue;
    Result best_plain, best_engine;
    for (int r = 0; r < c.rounds; r++) {
      Result a = c.target != "engine" ? Run(plain_target, p, c, &seq) : Result{1, 1};
      Result b = c.target != "plain" ? Run(engine_target, p, c, &seq) : Result{1, 1};
      if (a.iops > best_plain.iops) best_plain = a;
      if (b.iops > best_engine.iops) best_engine = b;
    }
    double ratio = best_engine.iops / best_plain.iops;
    bool met = ratio >= p.goal;
    missed += !met;
    auto cell = [&](const Result& r) {
      return p.io_size <= 4096 ? fmt::format("{:.0f} IOPS", r.iops)
                               : fmt::format("{:.0f} MiB/s", r.mibps);
    };
    fmt::print("{:<32} {:>18} {:>18} {:>7.2f} {:>6}{}\n", p.name, cell(best_plain),
               cell(best_engine), ratio, fmt::format(">={:.2f}", p.goal), met ? "" : "  (missed)");
  }

  CSTOR_CHECK_OK((*pool)->Flush());
  engine::PoolStats st = (*pool)->Stats();
  engine::VolumeInfo info = volume->Info();
  uint64_t meta_disk = DirBytes(env, JoinPath(pool_dir, "meta"));
  double tib_factor = double(kTiB) / info.allocated_bytes;
  uint64_t bitmap_per_tib = 2 * (kTiB / engine::kUnitSize) / 8;
  fmt::print("\nmetadata for {} written ({} blocks of {}):\n", FormatBytes(info.allocated_bytes),
             info.allocated_bytes / c.block_size, FormatBytes(c.block_size));
  fmt::print("  in memory: allocation bitmaps {} here = {} per TiB of pool capacity;\n"
             "             bounded caches: block map {} entries ({}), metadata store {}\n",
             FormatBytes(st.bitmap_memory_bytes), FormatBytes(bitmap_per_tib),
             st.block_cache_entries,
             FormatBytes(st.block_cache_entries * engine::BlockCache::kBytesPerEntry),
             FormatBytes(st.meta_memory_bytes));
  fmt::print("  on disk:   metadata store {} = {} per TiB written\n", FormatBytes(meta_disk),
             FormatBytes(static_cast<uint64_t>(meta_disk * tib_factor)));
  fmt::print("  commits: {}\n", st.commits);
  return missed == 0 ? 0 : 3;
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
  std::string size = "1G", block_size = "4K";
  CLI::App app{"The engine against a plain file of the same size, same disk, same run"};
  app.add_option("--dir", c.dir, "Where the pool and the plain file go")->capture_default_str();
  app.add_option("--size", size, "Size of the volume and of the file")->check(SizeCheck())->capture_default_str();
  app.add_option("--seconds", c.seconds, "Seconds per pattern and round")->capture_default_str();
  app.add_option("--rounds", c.rounds, "Rounds (the best counts)")->capture_default_str();
  app.add_flag("--buffered", [&c](int64_t) { c.direct = false; }, "Buffered IO instead of direct");
  app.add_option("--block-size", block_size, "The engine volume's block size")->check(SizeCheck())->capture_default_str();
  app.add_option("--only", c.only, "Run only patterns whose name contains this");
  app.add_option("--target", c.target, "Run only this target")->check(CLI::IsMember({"plain", "engine"}));
  CLI11_PARSE(app, argc, argv);
  c.size = *cstor::ParseSize(size);
  c.block_size = static_cast<uint32_t>(*cstor::ParseSize(block_size));
  return cstor::Main(c);
}
