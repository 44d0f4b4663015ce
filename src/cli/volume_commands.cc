// cstor volume create | list | delete | grow | clone | snapshot ... | dump | digest | write |
// read
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "base/aligned_buffer.h"
#include "base/units.h"
#include "cli/cli.h"
#include "engine/digest.h"

namespace cstor::cli {
namespace {

using engine::Pool;
using engine::Volume;

struct Args {
  std::string pool;
  std::string name;
  std::string target;  // a second name: clone name, or VOLUME@SNAPSHOT
  std::string size;
  std::string block_size = "4K";
  std::string file = "-";
  std::string offset = "0";
  std::string length;
  uint64_t since = 0;
  uint64_t io_seq = 0;
  uint64_t limit = 0;
  bool json = false;
  bool per_block = false;
};

// Prints "label: done of total (rate)" to stderr at most once a second.
class Progress {
 public:
  Progress(std::string label, uint64_t total) : label_(std::move(label)), total_(total) {}
  void Update(uint64_t done, bool final = false) {
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%s: %s of %s (%.1f MiB/s)%s", label_.c_str(),
                 FormatBytes(done).c_str(), total_ ? FormatBytes(total_).c_str() : "?",
                 secs > 0 ? done / secs / kMiB : 0.0, final ? "\n" : "");
  }

 private:
  std::string label_;
  uint64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

Status RunCreate(const Args& a) {
  if (a.size.empty()) return Status::InvalidArgument("--size is required");
  CSTOR_ASSIGN_OR_RETURN(uint64_t size, ParseSizeOption("--size", a.size));
  CSTOR_ASSIGN_OR_RETURN(uint64_t bs, ParseSizeOption("--block-size", a.block_size));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->CreateVolume(a.name, size, static_cast<uint32_t>(bs)));
  std::printf("created volume %s: %s, block size %s\n", a.name.c_str(),
              FormatBytes(size).c_str(), FormatBytes(bs).c_str());
  v.reset();
  return pool->Close();
}

Status RunList(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  auto volumes = pool->ListVolumes();
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : volumes) {
      out.push_back({{"name", v.name}, {"sizeBytes", v.size}, {"blockSize", v.block_size},
                     {"allocatedBytes", v.allocated_bytes}, {"snapshotBytes", v.snapshot_bytes},
                     {"snapshots", v.snapshots}, {"origin", v.origin},
                     {"checkpointedIOSeq", v.checkpoint_io_seq}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    Table t({"NAME", "SIZE", "BLOCK", "ALLOCATED", "SNAPSHOTS", "HELD", "ORIGIN", "CHECKPOINT"});
    for (const auto& v : volumes) {
      t.Add({v.name, FormatBytes(v.size), FormatBytes(v.block_size),
             FormatBytes(v.allocated_bytes), std::to_string(v.snapshots),
             FormatBytes(v.snapshot_bytes), v.origin.empty() ? "-" : v.origin,
             std::to_string(v.checkpoint_io_seq)});
    }
    std::printf("%s", t.Render().c_str());
  }
  return pool->Close();
}

Status RunDelete(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_RETURN_IF_ERROR(pool->DeleteVolume(a.name));
  std::printf("deleted volume %s\n", a.name.c_str());
  return pool->Close();
}

Status RunGrow(const Args& a) {
  if (a.size.empty()) return Status::InvalidArgument("--size is required");
  CSTOR_ASSIGN_OR_RETURN(uint64_t size, ParseSizeOption("--size", a.size));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  CSTOR_RETURN_IF_ERROR(v->Grow(size));
  std::printf("volume %s is now %s\n", a.name.c_str(), FormatBytes(size).c_str());
  v.reset();
  return pool->Close();
}

Status RunClone(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto source, SplitSnapshotName(a.name));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->CloneVolume(a.target, source.first, source.second));
  std::printf("created clone %s of %s\n", a.target.c_str(), a.name.c_str());
  v.reset();
  return pool->Close();
}

Status RunSnapshotCreate(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto names, SplitSnapshotName(a.name));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(names.first));
  CSTOR_ASSIGN_OR_RETURN(auto info, v->CreateSnapshot(names.second));
  std::printf("created snapshot %s (%s referenced, io_seq %lu)\n", a.name.c_str(),
              FormatBytes(info.referenced_bytes).c_str(), info.io_seq);
  v.reset();
  return pool->Close();
}

Status RunSnapshotDelete(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto names, SplitSnapshotName(a.name));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(names.first));
  CSTOR_RETURN_IF_ERROR(v->DeleteSnapshot(names.second));
  std::printf("deleted snapshot %s\n", a.name.c_str());
  v.reset();
  return pool->Close();
}

Status RunSnapshotList(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  Table t({"SNAPSHOT", "CREATED", "SIZE", "REFERENCED", "USED", "IO_SEQ", "CLONES"});
  for (const auto& s : v->ListSnapshots()) {
    std::string clones = s.clones.empty() ? "-" : fmt::format("{}", fmt::join(s.clones, ","));
    t.Add({a.name + "@" + s.name, FormatTime(s.created_micros), FormatBytes(s.size),
           FormatBytes(s.referenced_bytes), FormatBytes(s.used_bytes), std::to_string(s.io_seq),
           clones});
  }
  std::printf("%s", t.Render().c_str());
  v.reset();
  return pool->Close();
}

Status RunDump(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  std::printf("%-12s %-9s %-10s %-8s %-16s %s\n", "BLOCK", "STATE", "IO_SEQ", "BIRTH",
              "LOCATION", "CRC32C");
  uint64_t shown = 0;
  CSTOR_RETURN_IF_ERROR(v->ForEachBlock([&](uint64_t lba, const engine::BlockRecord& r) {
    if (r.io_seq <= a.since && a.since != 0) return true;
    std::string where = r.unmapped ? "-" : fmt::format("{}:{}", r.phys.device, r.phys.unit);
    std::printf("%-12lu %-9s %-10lu %-8lu %-16s %08x\n", lba, r.unmapped ? "unmapped" : "data",
                r.io_seq, r.birth, where.c_str(), r.crc);
    return a.limit == 0 || ++shown < a.limit;
  }));
  v.reset();
  return pool->Close();
}

// Prints one volume's fingerprints (engine/digest.h), to compare replicas offline.
Status RunDigest(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  nlohmann::json blocks = nlohmann::json::array();
  std::function<void(const engine::BlockDigest&)> per_block = [&](const engine::BlockDigest& d) {
    if (a.json) {
      blocks.push_back({{"block", d.lba}, {"io_seq", d.io_seq}, {"crc32c", fmt::format("{:08x}", d.crc)},
                        {"zero", d.zero}});
    } else {
      std::printf("block %lu io_seq %lu crc32c %08x%s\n", d.lba, d.io_seq, d.crc,
                  d.zero ? " zero" : "");
    }
  };
  auto d = engine::DigestVolume(*v, a.per_block ? per_block : nullptr);
  uint64_t checkpoint = v->CheckpointedIoSeq();
  v.reset();
  Status closed = pool->Close();
  CSTOR_RETURN_IF_ERROR(d.status());
  if (a.json) {
    nlohmann::json out = {{"volume", a.name},
                          {"digest", d->digest},
                          {"data_digest", d->data_digest},
                          {"blocks", d->blocks},
                          {"data_blocks", d->data_blocks},
                          {"zero_blocks", d->zero_blocks},
                          {"unmapped_blocks", d->unmapped_blocks},
                          {"max_io_seq", d->max_io_seq},
                          {"checkpoint_io_seq", checkpoint}};
    if (a.per_block) out["per_block"] = std::move(blocks);
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("digest %s\ndata_digest %s\nblocks %lu data %lu zero %lu unmapped %lu "
                "max_io_seq %lu checkpoint %lu\n",
                d->digest.c_str(), d->data_digest.c_str(), d->blocks, d->data_blocks,
                d->zero_blocks, d->unmapped_blocks, d->max_io_seq, checkpoint);
  }
  return closed;
}

Status RunWrite(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(uint64_t offset, ParseSizeOption("--offset", a.offset));
  std::FILE* in = a.file == "-" ? stdin : std::fopen(a.file.c_str(), "rb");
  if (in == nullptr) return Status::FromErrno(errno, "open " + a.file);
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  AlignedBuffer buf(1 << 20);
  uint64_t done = 0;
  Progress progress("write " + a.name, 0);
  Status s;
  while (s.ok()) {
    size_t n = std::fread(buf.data(), 1, buf.size(), in);
    if (n == 0) break;
    size_t padded = (n + 511) / 512 * 512;  // the engine addresses 512-byte sectors
    std::memset(buf.data() + n, 0, padded - n);
    s = v->Write(offset + done, buf.span().subspan(0, padded), a.io_seq);
    done += padded;
    progress.Update(done);
  }
  if (in != stdin) std::fclose(in);
  if (s.ok()) s = v->Flush();
  progress.Update(done, true);
  v.reset();
  Status closed = pool->Close();
  return s.ok() ? closed : s;
}

Status RunRead(const Args& a) {
  CSTOR_ASSIGN_OR_RETURN(uint64_t offset, ParseSizeOption("--offset", a.offset));
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(a.pool));
  CSTOR_ASSIGN_OR_RETURN(auto v, pool->OpenVolume(a.name));
  uint64_t length = v->size() > offset ? v->size() - offset : 0;
  if (!a.length.empty()) {
    CSTOR_ASSIGN_OR_RETURN(length, ParseSizeOption("--length", a.length));
  }
  std::FILE* out = a.file == "-" ? stdout : std::fopen(a.file.c_str(), "wb");
  if (out == nullptr) return Status::FromErrno(errno, "open " + a.file);
  AlignedBuffer buf(1 << 20);
  Progress progress("read " + a.name, length);
  Status s;
  for (uint64_t done = 0; s.ok() && done < length;) {
    size_t n = std::min<uint64_t>(buf.size(), length - done);
    size_t sectors = (n + 511) / 512 * 512;  // read whole sectors, emit what was asked for
    s = v->Read(offset + done, buf.span().subspan(0, sectors));
    if (s.ok() && std::fwrite(buf.data(), 1, n, out) != n) s = Status::IoError("write output");
    done += n;
    progress.Update(done, done == length);
  }
  if (out != stdout) std::fclose(out);
  v.reset();
  Status closed = pool->Close();
  return s.ok() ? closed : s;
}

CLI::App* WithPool(CLI::App* sub, Args& a) {
  sub->add_option("--pool", a.pool, "pool directory")->required();
  return sub;
}

}  // namespace

void AddVolumeCommands(Cli& cli) {
  CLI::App* vol = cli.app.add_subcommand("volume", "manage volumes in a pool");
  vol->require_subcommand(1);
  auto a = std::make_shared<Args>();

  CLI::App* create = WithPool(vol->add_subcommand("create", "create a thin volume"), *a);
  create->add_option("name", a->name, "volume name")->required();
  create->add_option("--size", a->size, "size, e.g. 10G")->required();
  create->add_option("--block-size", a->block_size, "4K to 128K, a power of two")
      ->capture_default_str();
  OnRun(cli, create, [a] { return RunCreate(*a); });

  CLI::App* list = WithPool(vol->add_subcommand("list", "list volumes"), *a);
  list->add_flag("--json", a->json, "print JSON");
  OnRun(cli, list, [a] { return RunList(*a); });

  CLI::App* del = WithPool(vol->add_subcommand("delete", "delete a volume and its snapshots"), *a);
  del->add_option("name", a->name, "volume name")->required();
  OnRun(cli, del, [a] { return RunDelete(*a); });

  CLI::App* grow = WithPool(vol->add_subcommand("grow", "grow a volume"), *a);
  grow->add_option("name", a->name, "volume name")->required();
  grow->add_option("--size", a->size, "new size")->required();
  OnRun(cli, grow, [a] { return RunGrow(*a); });

  CLI::App* clone = WithPool(vol->add_subcommand("clone", "create a writable clone"), *a);
  clone->add_option("source", a->name, "VOLUME@SNAPSHOT")->required();
  clone->add_option("name", a->target, "name of the new volume")->required();
  OnRun(cli, clone, [a] { return RunClone(*a); });

  CLI::App* snap = vol->add_subcommand("snapshot", "create, delete and list snapshots");
  snap->require_subcommand(1);
  CLI::App* snap_create = WithPool(snap->add_subcommand("create", "take a snapshot"), *a);
  snap_create->add_option("snapshot", a->name, "VOLUME@SNAPSHOT")->required();
  OnRun(cli, snap_create, [a] { return RunSnapshotCreate(*a); });
  CLI::App* snap_delete = WithPool(snap->add_subcommand("delete", "delete a snapshot"), *a);
  snap_delete->add_option("snapshot", a->name, "VOLUME@SNAPSHOT")->required();
  OnRun(cli, snap_delete, [a] { return RunSnapshotDelete(*a); });
  CLI::App* snap_list = WithPool(snap->add_subcommand("list", "list a volume's snapshots"), *a);
  snap_list->add_option("volume", a->name, "volume name")->required();
  OnRun(cli, snap_list, [a] { return RunSnapshotList(*a); });

  CLI::App* dump = WithPool(vol->add_subcommand("dump", "print a volume's block map"), *a);
  dump->add_option("name", a->name, "volume name")->required();
  dump->add_option("--since", a->since, "only blocks written after this io sequence");
  dump->add_option("--limit", a->limit, "print at most this many blocks");
  OnRun(cli, dump, [a] { return RunDump(*a); });

  CLI::App* digest = WithPool(
      vol->add_subcommand("digest", "fingerprint a volume's blocks and io sequences, to compare "
                                    "replicas (the pool must not be in use)"),
      *a);
  digest->add_option("name", a->name, "volume name")->required();
  digest->add_flag("--json", a->json, "print JSON");
  digest->add_flag("--per-block", a->per_block,
                   "also list every block holding data: io sequence and crc32c");
  OnRun(cli, digest, [a] { return RunDigest(*a); });

  CLI::App* write = WithPool(vol->add_subcommand("write", "copy a file into a volume"), *a);
  write->add_option("name", a->name, "volume name")->required();
  write->add_option("--input", a->file, "file to read, - for stdin")->capture_default_str();
  write->add_option("--offset", a->offset, "byte offset, a multiple of 512")
      ->capture_default_str();
  write->add_option("--io-seq", a->io_seq, "io sequence number to stamp on the blocks");
  OnRun(cli, write, [a] { return RunWrite(*a); });

  CLI::App* read = WithPool(vol->add_subcommand("read", "copy a volume's contents out"), *a);
  read->add_option("name", a->name, "volume name")->required();
  read->add_option("--output", a->file, "file to write, - for stdout")->capture_default_str();
  read->add_option("--offset", a->offset, "byte offset, a multiple of 512")
      ->capture_default_str();
  read->add_option("--length", a->length, "bytes to read (default: to the end)");
  OnRun(cli, read, [a] { return RunRead(*a); });
}

}  // namespace cstor::cli
