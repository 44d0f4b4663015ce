#include "replica/engine_store.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "base/aligned_buffer.h"

namespace cstor::replica {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

wire::BlockVersion ToWire(engine::BlockChange c) {
  wire::BlockVersion v;
  v.block = c.lba;
  v.io_seq = c.io_seq;
  if (c.absent) {
    v.flags = wire::BlockVersion::kAbsent;
  } else if (!c.status.ok()) {
    v.flags = wire::BlockVersion::kCorrupt;  // the target mends it from another copy
  } else if (c.unmapped) {
    v.flags = wire::BlockVersion::kUnmapped;
  } else {
    v.data.assign(reinterpret_cast<const char*>(c.data.data()), c.data.size());
  }
  return v;
}

}  // namespace

EngineStore::EngineStore(std::shared_ptr<engine::Volume> volume, Executor workers, Executor loop)
    : volume_(std::move(volume)), workers_(std::move(workers)), loop_(std::move(loop)) {}

EngineStore::~EngineStore() = default;

template <typename T>
void EngineStore::Run(std::function<Result<T>()> work, DoneWith<T> done) {
  workers_([loop = loop_, work = std::move(work), done = std::move(done)]() mutable {
    auto result = std::make_shared<Result<T>>(work());
    loop([done = std::move(done), result] { done(std::move(*result)); });
  });
}

void EngineStore::RunStatus(std::function<Status()> work, Done done) {
  workers_([loop = loop_, work = std::move(work), done = std::move(done)]() mutable {
    Status s = work();
    loop([done = std::move(done), s = std::move(s)] { done(s); });
  });
}

ReplicaStore::Info EngineStore::GetInfo() {
  engine::VolumeInfo v = volume_->Info();
  Info info;
  info.size = v.size;
  info.block_size = v.block_size;
  info.checkpoint_io_seq = v.checkpoint_io_seq;
  info.max_io_seq = v.max_io_seq;
  info.allocated_bytes = v.allocated_bytes;
  for (const auto& s : volume_->ListSnapshots(/*space=*/false)) {
    info.snapshots.push_back({s.name, s.io_seq});
  }
  if (auto epoch = volume_->GetAttribute(kSnapshotEpochAttribute)) {
    std::from_chars(epoch->data(), epoch->data() + epoch->size(), info.snapshot_epoch);
  }
  return info;
}

Status EngineStore::Health() { return volume_->Health(); }

void EngineStore::AnnounceIo(uint64_t io_seq) { volume_->AnnounceIo(io_seq); }

void EngineStore::Write(uint64_t offset, std::string data, uint64_t io_seq, Done done) {
  RunStatus(
      [v = volume_, offset, data = std::move(data), io_seq] {
        return v->Write(offset, Bytes(data), io_seq, /*newer_only=*/true, /*announced=*/true);
      },
      std::move(done));
}

void EngineStore::Read(uint64_t offset, uint32_t length, DoneWith<std::string> done) {
  Run<std::string>(
      [v = volume_, offset, length]() -> Result<std::string> {
        std::string out(length, '\0');
        CSTOR_RETURN_IF_ERROR(
            v->Read(offset, std::as_writable_bytes(std::span(out.data(), out.size()))));
        return out;
      },
      std::move(done));
}

void EngineStore::Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, Done done) {
  RunStatus(
      [v = volume_, offset, length, io_seq] {
        return v->Unmap(offset, length, io_seq, /*newer_only=*/true, /*announced=*/true);
      },
      std::move(done));
}

void EngineStore::Flush(DoneWith<uint64_t> done) {
  Run<uint64_t>(
      [v = volume_]() -> Result<uint64_t> {
        CSTOR_RETURN_IF_ERROR(v->Flush());
        return v->CheckpointedIoSeq();
      },
      std::move(done));
}

void EngineStore::CreateSnapshot(std::string name, uint64_t io_seq, Done done) {
  RunStatus([v = volume_, name = std::move(name),
             io_seq] { return v->CreateSnapshot(name, io_seq).status(); },
            std::move(done));
}

void EngineStore::DeleteSnapshot(std::string name, Done done) {
  RunStatus([v = volume_, name = std::move(name)] { return v->DeleteSnapshot(name); },
            std::move(done));
}

void EngineStore::ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>> done) {
  Run<std::vector<wire::SnapshotEntry>>(
      [v = volume_]() -> Result<std::vector<wire::SnapshotEntry>> {
        std::vector<wire::SnapshotEntry> out;
        for (const auto& s : v->ListSnapshots()) {
          out.push_back({s.name, s.io_seq, s.size, s.referenced_bytes, s.used_bytes});
        }
        return out;
      },
      std::move(done));
}

void EngineStore::SetSnapshotEpoch(uint64_t epoch, Done done) {
  RunStatus(
      [v = volume_, epoch] {
        return v->SetAttribute(kSnapshotEpochAttribute, fmt::format("{}", epoch));
      },
      std::move(done));
}

void EngineStore::Resize(uint64_t size, Done done) {
  RunStatus(
      [v = volume_, size] {
        if (size == v->size()) return Status::Ok();
        return v->Grow(size);
      },
      std::move(done));
}

void EngineStore::OpenStream(uint64_t since, std::string snapshot, uint64_t start_block,
                             uint64_t below, DoneWith<wire::StreamOpened> done) {
  uint64_t id = next_stream_++;
  auto stream = std::make_shared<Stream>();
  stream->snapshot = snapshot;
  Run<wire::StreamOpened>(
      [v = volume_, stream, id, since, snapshot = std::move(snapshot),
       start_block, below]() -> Result<wire::StreamOpened> {
        CSTOR_ASSIGN_OR_RETURN(
            auto it, v->ChangedSince(since, snapshot, {.start_block = start_block, .below = below}));
        MutexLock l(&stream->mu);
        wire::StreamOpened opened{id, it->total_blocks()};
        stream->it = std::move(it);
        return opened;
      },
      [this, id, stream, done = std::move(done)](Result<wire::StreamOpened> r) {
        if (r.ok()) streams_[id] = stream;
        done(std::move(r));
      });
}

void EngineStore::NextBatch(uint64_t stream_id, uint32_t max_blocks,
                            DoneWith<wire::StreamBatch> done) {
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) {
    return loop_([done = std::move(done), stream_id] {
      done(Status::NotFound(fmt::format("no open stream {}", stream_id)));
    });
  }
  Run<wire::StreamBatch>(
      [stream = found->second, max_blocks]() -> Result<wire::StreamBatch> {
        MutexLock l(&stream->mu);
        CSTOR_ASSIGN_OR_RETURN(auto changes, stream->it->Next(std::max<uint32_t>(1, max_blocks)));
        wire::StreamBatch batch;
        batch.done = changes.empty();
        batch.scanned_blocks = stream->it->scanned_blocks();
        for (auto& c : changes) batch.blocks.push_back(ToWire(std::move(c)));
        return batch;
      },
      std::move(done));
}

void EngineStore::CloseStream(uint64_t stream_id) { streams_.erase(stream_id); }

void EngineStore::ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                               DoneWith<std::vector<wire::BlockVersion>> done) {
  Run<std::vector<wire::BlockVersion>>(
      [v = volume_, snapshot = std::move(snapshot),
       blocks = std::move(blocks)]() -> Result<std::vector<wire::BlockVersion>> {
        std::vector<wire::BlockVersion> out;
        for (uint64_t b : blocks) {
          CSTOR_ASSIGN_OR_RETURN(engine::BlockChange c, v->ReadVersion(b, snapshot));
          out.push_back(ToWire(std::move(c)));
        }
        return out;
      },
      std::move(done));
}

void EngineStore::ApplyVersion(wire::BlockVersion version, uint64_t keep_at, Done done) {
  RunStatus(
      [v = volume_, version = std::move(version), keep_at]() -> Status {
        engine::BlockChange c;
        c.lba = version.block;
        c.io_seq = version.io_seq;
        c.absent = version.flags & wire::BlockVersion::kAbsent;
        c.unmapped = version.flags & wire::BlockVersion::kUnmapped;
        if (version.flags & wire::BlockVersion::kCorrupt) {
          return Status::InvalidArgument(
              fmt::format("block {} arrived marked corrupt; it cannot be applied", c.lba));
        }
        if (!c.absent && !c.unmapped) {
          if (version.data.size() != v->block_size()) {
            return Status::InvalidArgument(fmt::format(
                "block {} arrived with {} bytes; the volume's blocks are {} bytes", c.lba,
                version.data.size(), v->block_size()));
          }
          c.data = AlignedBuffer(version.data.size());
          std::memcpy(c.data.data(), version.data.data(), version.data.size());
        }
        return v->ApplyChange(c, keep_at).status();
      },
      std::move(done));
}

void EngineStore::ChangedBetween(uint64_t above, uint64_t below,
                                 DoneWith<std::vector<uint64_t>> done) {
  Run<std::vector<uint64_t>>(
      [v = volume_, above, below]() -> Result<std::vector<uint64_t>> {
        CSTOR_ASSIGN_OR_RETURN(auto it, v->ChangedSince(above, "", {.with_data = false}));
        std::vector<uint64_t> out;
        while (true) {
          CSTOR_ASSIGN_OR_RETURN(auto changes, it->Next(1024));
          if (changes.empty()) return out;
          for (const auto& c : changes) {
            if (c.io_seq < below) out.push_back(c.lba);
          }
        }
      },
      std::move(done));
}

void EngineStore::HoldCheckpoint(std::optional<uint64_t> at) { volume_->HoldCheckpoint(at); }

}  // namespace cstor::replica
