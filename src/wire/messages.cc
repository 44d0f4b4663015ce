#include "wire/messages.h"

#include <fmt/format.h>

#include "base/coding.h"

namespace cstor::wire {
namespace {

// Builds a payload.
class Writer {
 public:
  Writer& U8(uint8_t v) { PutFixed8(&out_, v); return *this; }
  Writer& U32(uint32_t v) { PutFixed32(&out_, v); return *this; }
  Writer& U64(uint64_t v) { PutFixed64(&out_, v); return *this; }
  Writer& Str(std::string_view s) { PutLengthPrefixed(&out_, s); return *this; }
  template <size_t N>
  Writer& Bytes(const std::array<uint8_t, N>& a) {
    out_.append(reinterpret_cast<const char*>(a.data()), N);
    return *this;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads a payload, remembering the first problem.
class Reader {
 public:
  Reader(std::string_view in, std::string_view what) : d_(in), what_(what) {}
  uint8_t U8() { return d_.U8(); }
  uint32_t U32() { return d_.U32(); }
  uint64_t U64() { return d_.U64(); }
  bool Bool() {
    uint8_t v = d_.U8();
    if (v > 1) Fail("boolean out of range");
    return v == 1;
  }
  std::string Str(size_t max = kMaxNameBytes) {
    uint32_t n = d_.U32();
    if (n > max) {
      Fail(fmt::format("string of {} bytes exceeds {}", n, max));
      return {};
    }
    return std::string(d_.Bytes(n));
  }
  template <size_t N>
  void Bytes(std::array<uint8_t, N>* out) {
    std::string_view b = d_.Bytes(N);
    if (b.size() == N) std::copy(b.begin(), b.end(), out->begin());
  }
  size_t Count(size_t max = kMaxListEntries) {
    uint32_t n = d_.U32();
    if (n > max) {
      Fail(fmt::format("list of {} entries exceeds {}", n, max));
      return 0;
    }
    return n;
  }
  void Fail(std::string why) {
    if (problem_.empty()) problem_ = std::move(why);
  }
  Status Finish() {
    if (problem_.empty() && !d_.ok()) problem_ = "payload is truncated";
    if (problem_.empty() && !d_.done()) problem_ = fmt::format("{} unexpected trailing bytes",
                                                               d_.remaining());
    if (problem_.empty()) return Status::Ok();
    return Status::Protocol(fmt::format("bad {} message: {}", what_, problem_));
  }
  bool ok() const { return problem_.empty() && d_.ok(); }

 private:
  Decoder d_;
  std::string_view what_;
  std::string problem_;
};

void PutSnapshots(Writer& w, const std::vector<SnapshotRef>& snaps) {
  w.U32(static_cast<uint32_t>(snaps.size()));
  for (const auto& s : snaps) w.Str(s.name).U64(s.io_seq);
}

std::vector<SnapshotRef> GetSnapshots(Reader& r) {
  std::vector<SnapshotRef> out(r.Count());
  for (auto& s : out) {
    s.name = r.Str();
    s.io_seq = r.U64();
  }
  return out;
}

void PutVersions(Writer& w, const std::vector<BlockVersion>& blocks) {
  w.U32(static_cast<uint32_t>(blocks.size()));
  for (const auto& b : blocks) w.U64(b.block).U64(b.io_seq).U8(b.flags).Str(b.data);
}

std::vector<BlockVersion> GetVersions(Reader& r) {
  std::vector<BlockVersion> out(r.Count());
  for (auto& b : out) {
    b.block = r.U64();
    b.io_seq = r.U64();
    b.flags = r.U8();
    b.data = r.Str(kMaxIoBytes);
    if (b.flags & ~uint8_t{7}) r.Fail("unknown block flags");
    if (!r.ok()) break;
  }
  return out;
}

}  // namespace

std::string EncodePayload(const Hello& m) {
  Writer w;
  w.U8(static_cast<uint8_t>(m.purpose)).Str(m.volume).Str(m.replica_id).U64(m.replica_guid);
  w.Str(m.pool).U64(m.checkpoint_io_seq).U64(m.max_io_seq).U64(m.volume_size).U32(m.block_size);
  w.Str(m.rebuild_address);
  PutSnapshots(w, m.snapshots);
  w.U64(m.snapshot_epoch);
  w.Bytes(m.nonce);
  return w.Take();
}
Status DecodePayload(std::string_view in, Hello* m) {
  Reader r(in, "Hello");
  uint8_t purpose = r.U8();
  if (purpose != 1 && purpose != 2) r.Fail(fmt::format("unknown purpose {}", purpose));
  m->purpose = static_cast<Hello::Purpose>(purpose);
  m->volume = r.Str();
  m->replica_id = r.Str();
  m->replica_guid = r.U64();
  m->pool = r.Str();
  m->checkpoint_io_seq = r.U64();
  m->max_io_seq = r.U64();
  m->volume_size = r.U64();
  m->block_size = r.U32();
  m->rebuild_address = r.Str();
  m->snapshots = GetSnapshots(r);
  m->snapshot_epoch = r.U64();
  r.Bytes(&m->nonce);
  return r.Finish();
}

std::string EncodePayload(const Challenge& m) { return Writer().Bytes(m.nonce).Bytes(m.proof).Take(); }
Status DecodePayload(std::string_view in, Challenge* m) {
  Reader r(in, "Challenge");
  r.Bytes(&m->nonce);
  r.Bytes(&m->proof);
  return r.Finish();
}

std::string EncodePayload(const Auth& m) { return Writer().Bytes(m.proof).Take(); }
Status DecodePayload(std::string_view in, Auth* m) {
  Reader r(in, "Auth");
  r.Bytes(&m->proof);
  return r.Finish();
}

std::string EncodePayload(const Welcome& m) {
  return Writer().U64(m.session_id).U8(m.quorum).U64(m.volume_size).U32(m.block_size).Take();
}
Status DecodePayload(std::string_view in, Welcome* m) {
  Reader r(in, "Welcome");
  m->session_id = r.U64();
  m->quorum = r.Bool();
  m->volume_size = r.U64();
  m->block_size = r.U32();
  return r.Finish();
}

std::string EncodePayload(const Reject& m) { return Writer().Str(m.message).Take(); }
Status DecodePayload(std::string_view in, Reject* m) {
  Reader r(in, "Reject");
  m->message = r.Str(4096);
  return r.Finish();
}

std::string EncodePayload(const WriteRequest& m) {
  return Writer().U64(m.io_seq).U64(m.offset).Str(m.data).Take();
}
Status DecodePayload(std::string_view in, WriteRequest* m) {
  Reader r(in, "Write");
  m->io_seq = r.U64();
  m->offset = r.U64();
  m->data = r.Str(kMaxIoBytes);
  return r.Finish();
}

std::string EncodePayload(const ReadRequest& m) { return Writer().U64(m.offset).U32(m.length).Take(); }
Status DecodePayload(std::string_view in, ReadRequest* m) {
  Reader r(in, "Read");
  m->offset = r.U64();
  m->length = r.U32();
  if (m->length > kMaxIoBytes) r.Fail(fmt::format("read of {} bytes exceeds {}", m->length, kMaxIoBytes));
  return r.Finish();
}

std::string EncodePayload(const UnmapRequest& m) {
  return Writer().U64(m.io_seq).U64(m.offset).U64(m.length).Take();
}
Status DecodePayload(std::string_view in, UnmapRequest* m) {
  Reader r(in, "Unmap");
  m->io_seq = r.U64();
  m->offset = r.U64();
  m->length = r.U64();
  return r.Finish();
}

std::string EncodePayload(const FlushResponse& m) { return Writer().U64(m.checkpoint_io_seq).Take(); }
Status DecodePayload(std::string_view in, FlushResponse* m) {
  Reader r(in, "Flush response");
  m->checkpoint_io_seq = r.U64();
  return r.Finish();
}

std::string EncodePayload(const SnapshotCreateRequest& m) {
  return Writer().Str(m.name).U64(m.io_seq).U64(m.epoch).Take();
}
Status DecodePayload(std::string_view in, SnapshotCreateRequest* m) {
  Reader r(in, "SnapshotCreate");
  m->name = r.Str();
  m->io_seq = r.U64();
  m->epoch = r.U64();
  return r.Finish();
}

std::string EncodePayload(const SnapshotDeleteRequest& m) {
  return Writer().Str(m.name).U64(m.epoch).Take();
}
Status DecodePayload(std::string_view in, SnapshotDeleteRequest* m) {
  Reader r(in, "SnapshotDelete");
  m->name = r.Str();
  m->epoch = r.U64();
  return r.Finish();
}

std::string EncodePayload(const SnapshotListResponse& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.snapshots.size()));
  for (const auto& s : m.snapshots) {
    w.Str(s.name).U64(s.io_seq).U64(s.size).U64(s.referenced_bytes).U64(s.used_bytes);
  }
  return w.Take();
}
Status DecodePayload(std::string_view in, SnapshotListResponse* m) {
  Reader r(in, "SnapshotList response");
  m->snapshots.resize(r.Count());
  for (auto& s : m->snapshots) {
    s.name = r.Str();
    s.io_seq = r.U64();
    s.size = r.U64();
    s.referenced_bytes = r.U64();
    s.used_bytes = r.U64();
  }
  return r.Finish();
}

std::string EncodePayload(const ResizeRequest& m) { return Writer().U64(m.size).Take(); }
Status DecodePayload(std::string_view in, ResizeRequest* m) {
  Reader r(in, "Resize");
  m->size = r.U64();
  return r.Finish();
}

std::string EncodePayload(const StatusResponse& m) {
  return Writer()
      .U64(m.checkpoint_io_seq)
      .U64(m.max_io_seq)
      .U64(m.volume_size)
      .U64(m.allocated_bytes)
      .U8(m.rebuilding)
      .U64(m.rebuild_done_bytes)
      .U64(m.rebuild_total_bytes)
      .Take();
}
Status DecodePayload(std::string_view in, StatusResponse* m) {
  Reader r(in, "Status response");
  m->checkpoint_io_seq = r.U64();
  m->max_io_seq = r.U64();
  m->volume_size = r.U64();
  m->allocated_bytes = r.U64();
  m->rebuilding = r.Bool();
  m->rebuild_done_bytes = r.U64();
  m->rebuild_total_bytes = r.U64();
  return r.Finish();
}

std::string EncodePayload(const RebuildStart& m) {
  Writer w;
  w.U8(static_cast<uint8_t>(m.mode)).Str(m.source_address).Str(m.source_replica).U64(m.since).U64(m.floor);
  PutSnapshots(w, m.snapshots);
  w.U64(m.snapshot_epoch).U64(m.max_bytes_per_second);
  return w.Take();
}
Status DecodePayload(std::string_view in, RebuildStart* m) {
  Reader r(in, "RebuildStart");
  uint8_t mode = r.U8();
  if (mode != 1 && mode != 2) r.Fail(fmt::format("unknown mode {}", mode));
  m->mode = static_cast<RebuildStart::Mode>(mode);
  m->source_address = r.Str();
  m->source_replica = r.Str();
  m->since = r.U64();
  m->floor = r.U64();
  m->snapshots = GetSnapshots(r);
  m->snapshot_epoch = r.U64();
  m->max_bytes_per_second = r.U64();
  return r.Finish();
}

std::string EncodePayload(const RebuildProgress& m) {
  return Writer().U64(m.done_bytes).U64(m.total_bytes).U64(m.phase).Take();
}
Status DecodePayload(std::string_view in, RebuildProgress* m) {
  Reader r(in, "RebuildProgress");
  m->done_bytes = r.U64();
  m->total_bytes = r.U64();
  m->phase = r.U64();
  return r.Finish();
}

std::string EncodePayload(const RebuildDone& m) {
  Writer w;
  w.Str(m.message).U64(m.checkpoint_io_seq).U64(m.copied_bytes);
  PutSnapshots(w, m.snapshots);
  w.U32(static_cast<uint32_t>(m.corrupt_blocks.size()));
  for (uint64_t b : m.corrupt_blocks) w.U64(b);
  w.U64(m.base_io_seq);
  return w.Take();
}
Status DecodePayload(std::string_view in, RebuildDone* m) {
  Reader r(in, "RebuildDone");
  m->message = r.Str(4096);
  m->checkpoint_io_seq = r.U64();
  m->copied_bytes = r.U64();
  m->snapshots = GetSnapshots(r);
  m->corrupt_blocks.resize(r.Count());
  for (auto& b : m->corrupt_blocks) b = r.U64();
  m->base_io_seq = r.U64();
  return r.Finish();
}

std::string EncodePayload(const RepairRequest& m) {
  Writer w;
  PutVersions(w, m.blocks);
  return w.Take();
}
Status DecodePayload(std::string_view in, RepairRequest* m) {
  Reader r(in, "Repair");
  m->blocks = GetVersions(r);
  return r.Finish();
}

std::string EncodePayload(const StreamOpen& m) {
  return Writer().U64(m.since).Str(m.snapshot).U64(m.start_block).U64(m.below).Take();
}
Status DecodePayload(std::string_view in, StreamOpen* m) {
  Reader r(in, "StreamOpen");
  m->since = r.U64();
  m->snapshot = r.Str();
  m->start_block = r.U64();
  m->below = r.U64();
  return r.Finish();
}

std::string EncodePayload(const StreamOpened& m) {
  return Writer().U64(m.stream_id).U64(m.total_blocks).Take();
}
Status DecodePayload(std::string_view in, StreamOpened* m) {
  Reader r(in, "StreamOpen response");
  m->stream_id = r.U64();
  m->total_blocks = r.U64();
  return r.Finish();
}

std::string EncodePayload(const StreamNext& m) {
  return Writer().U64(m.stream_id).U32(m.max_blocks).Take();
}
Status DecodePayload(std::string_view in, StreamNext* m) {
  Reader r(in, "StreamNext");
  m->stream_id = r.U64();
  m->max_blocks = r.U32();
  return r.Finish();
}

std::string EncodePayload(const StreamBatch& m) {
  Writer w;
  w.U8(m.done).U64(m.scanned_blocks);
  PutVersions(w, m.blocks);
  return w.Take();
}
Status DecodePayload(std::string_view in, StreamBatch* m) {
  Reader r(in, "StreamNext response");
  m->done = r.Bool();
  m->scanned_blocks = r.U64();
  m->blocks = GetVersions(r);
  return r.Finish();
}

std::string EncodePayload(const BlockVersionsRequest& m) {
  Writer w;
  w.Str(m.snapshot).U32(static_cast<uint32_t>(m.blocks.size()));
  for (uint64_t b : m.blocks) w.U64(b);
  return w.Take();
}
Status DecodePayload(std::string_view in, BlockVersionsRequest* m) {
  Reader r(in, "BlockVersions");
  m->snapshot = r.Str();
  m->blocks.resize(r.Count());
  for (auto& b : m->blocks) b = r.U64();
  return r.Finish();
}

std::string EncodePayload(const BlockVersionsResponse& m) {
  Writer w;
  PutVersions(w, m.blocks);
  return w.Take();
}
Status DecodePayload(std::string_view in, BlockVersionsResponse* m) {
  Reader r(in, "BlockVersions response");
  m->blocks = GetVersions(r);
  return r.Finish();
}

}  // namespace cstor::wire
