#include "scsi/logical_unit.h"

#include <algorithm>

#include "base/log.h"

namespace cstor::scsi {

LogicalUnit::LogicalUnit(bdev::BlockDevice* device, LunOptions options, Post post)
    : device_(device),
      options_(std::move(options)),
      info_(device->Info()),
      size_(info_.size),
      post_(std::move(post)) {}

void LogicalUnit::Execute(Command cmd, Completion done) {
  auto t = std::make_shared<Task>(Task{std::move(cmd), std::move(done)});
  const Command& c = t->cmd;
  NoticeCapacity();
  nexuses_seen_.insert(c.nexus);
  const CommandSpec* spec = FindCommand(c.opcode(), ServiceActionOf(c));
  if (spec == nullptr) {
    // An opcode we know with a service action we do not: the field is the service action.
    bool known_opcode = std::any_of(CommandTable().begin(), CommandTable().end(),
                                    [&](const CommandSpec& s) { return s.opcode == c.opcode(); });
    return Finish(t, Response::Check(known_opcode ? Sense::InvalidFieldInCdb(1, 4)
                                                  : Sense::InvalidOpcode()));
  }
  // A pending unit attention (after a reset, or a reservation another nexus changed) is
  // the answer to the next command; INQUIRY, REPORT LUNS and REQUEST SENSE neither report
  // nor clear one (SAM-5 5.14). A new nexus starts without one.
  const bool ua_exempt = c.opcode() == 0x12 || c.opcode() == 0xa0 || c.opcode() == 0x03;
  auto ua = unit_attentions_.find(c.nexus);
  if (!ua_exempt && ua != unit_attentions_.end() && !ua->second.empty()) {
    Sense s = ua->second.front();
    ua->second.erase(ua->second.begin());
    return Finish(t, Response::Check(s));
  }
  for (uint8_t i = 1; i < spec->cdb_length; i++) {
    uint8_t stray = c.cdb[i] & ~spec->usage[i];
    if (stray != 0) {
      uint8_t bit = 7;
      while (!(stray & (1u << bit))) bit--;
      return Finish(t, Response::Check(Sense::InvalidFieldInCdb(i, bit)));
    }
  }
  if (ReservationConflict(c, *spec)) return Finish(t, Response::Conflict());
  if (options_.read_only && spec->access == Access::kWrite && spec->run == &LogicalUnit::Write) {
    return Finish(t, Response::Check(Sense::WriteProtected()));
  }
  (this->*(spec->run))(t);
}

bool LogicalUnit::ReservationConflict(const Command& c, const CommandSpec& spec) const {
  if (spec.access == Access::kAlways) return false;
  if (spc2_holder_ && *spc2_holder_ != c.nexus) {
    // RESERVE(6)/(10): everything but the always-allowed commands conflicts for others,
    // and RELEASE from another nexus is a harmless no-op.
    return c.opcode() != 0x17 && c.opcode() != 0x57;
  }
  return pr_.Conflicts(c.nexus, spec.access);
}

void LogicalUnit::NoticeCapacity() {
  const uint64_t size = device_->CurrentSize();
  if (size == size_) return;
  CSTOR_LOG_INFO("scsi: capacity changed from {} to {} bytes", size_, size);
  size_ = size;
  for (const auto& n : nexuses_seen_) AddUnitAttention(n, Sense::CapacityChanged());
}

void LogicalUnit::AddUnitAttention(const std::string& nexus, const Sense& s) {
  auto& pending = unit_attentions_[nexus];
  const bool queued = std::any_of(pending.begin(), pending.end(), [&](const Sense& p) {
    return p.key == s.key && p.asc == s.asc && p.ascq == s.ascq;
  });
  if (!queued) pending.push_back(s);
}

void LogicalUnit::Reset(const std::vector<std::string>& nexuses) {
  spc2_holder_.reset();
  for (const auto& n : nexuses) unit_attentions_[n].push_back(Sense::PowerOnOrReset());
}

void LogicalUnit::NexusGone(const std::string& nexus) {
  if (spc2_holder_ == nexus) spc2_holder_.reset();
  unit_attentions_.erase(nexus);
  nexuses_seen_.erase(nexus);
}

void LogicalUnit::Finish(const TaskPtr& t, Response r) {
  nexuses_seen_.insert(t->cmd.nexus);
  t->done(std::move(r));
}

void LogicalUnit::FinishWithDeviceError(const TaskPtr& t, const Status& s, bool write) {
  CSTOR_LOG_WARN("scsi: {:#04x} failed on the device: {}", t->cmd.opcode(), s.ToString());
  Finish(t, Response::Check(SenseForDeviceError(s, write)));
}

bool LogicalUnit::CheckRange(const TaskPtr& t, uint64_t lba, uint64_t count, bool limit_transfer) {
  if (lba > blocks() || count > blocks() - lba) {
    Finish(t, Response::Check(Sense::LbaOutOfRange()));
    return false;
  }
  if (limit_transfer && count > options_.max_transfer_blocks) {
    Finish(t, Response::Check(Sense::InvalidFieldInCdb(t->cmd.cdb_length == 6 ? 4 : 7)));
    return false;
  }
  return true;
}

void LogicalUnit::WithBlocks(uint64_t lba, uint64_t count, bool exclusive,
                             std::function<void(std::function<void()>)> body) {
  locks_.Acquire(lba, std::max<uint64_t>(count, 1), exclusive,
                 [this, body = std::move(body)](RangeLock::Id id) {
                   body([this, id] { locks_.Release(id); });
                 });
}

// ---- device IO, split and brought back to the loop ----

void LogicalUnit::DeviceRead(uint64_t lba, uint64_t count,
                             std::function<void(Result<std::string>)> done) {
  const uint64_t offset = lba * bdev::kSectorSize, length = count * bdev::kSectorSize;
  if (length <= kMaxDeviceIo) {
    return device_->Read(offset, static_cast<uint32_t>(length),
                         [this, done = std::move(done)](Result<std::string> r) mutable {
                           post_([done = std::move(done), r = std::move(r)]() mutable {
                             done(std::move(r));
                           });
                         });
  }
  // Larger reads go in pieces, in parallel; the answer is assembled in order.
  struct Gather {
    std::string data;
    size_t pending;
    Status status;
    std::function<void(Result<std::string>)> done;
  };
  const size_t pieces = (length + kMaxDeviceIo - 1) / kMaxDeviceIo;
  auto g = std::make_shared<Gather>(Gather{std::string(length, '\0'), pieces, {}, std::move(done)});
  for (uint64_t at = 0; at < length; at += kMaxDeviceIo) {
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kMaxDeviceIo, length - at));
    device_->Read(offset + at, n, [this, g, at](Result<std::string> r) {
      post_([g, at, r = std::move(r)]() mutable {
        if (r.ok()) {
          std::copy(r->begin(), r->end(), g->data.begin() + static_cast<ptrdiff_t>(at));
        } else if (g->status.ok()) {
          g->status = r.status();
        }
        if (--g->pending > 0) return;
        if (!g->status.ok()) return g->done(g->status);
        g->done(std::move(g->data));
      });
    });
  }
}

void LogicalUnit::DeviceWrite(uint64_t lba, std::string data, bool fua,
                              std::function<void(Status)> done) {
  fua = fua || !write_cache_;
  const uint64_t offset = lba * bdev::kSectorSize;
  auto back = [this](std::function<void(Status)> cb) {
    return [this, cb = std::move(cb)](Status s) { post_([cb, s] { cb(s); }); };
  };
  if (data.size() <= kMaxDeviceIo) return device_->Write(offset, std::move(data), fua, back(std::move(done)));
  struct Join {
    size_t pending;
    Status status;
    std::function<void(Status)> done;
  };
  const size_t pieces = (data.size() + kMaxDeviceIo - 1) / kMaxDeviceIo;
  auto j = std::make_shared<Join>(Join{pieces, {}, std::move(done)});
  for (uint64_t at = 0; at < data.size(); at += kMaxDeviceIo) {
    size_t n = std::min<uint64_t>(kMaxDeviceIo, data.size() - at);
    device_->Write(offset + at, data.substr(at, n), fua, back([j](Status s) {
      if (!s.ok() && j->status.ok()) j->status = s;
      if (--j->pending == 0) j->done(j->status);
    }));
  }
}

void LogicalUnit::DeviceUnmap(std::vector<Extent> extents, std::function<void(Status)> done) {
  struct Join {
    size_t pending;
    Status status;
    std::function<void(Status)> done;
  };
  extents.erase(std::remove_if(extents.begin(), extents.end(),
                               [](const Extent& e) { return e.count == 0; }),
                extents.end());
  if (extents.empty()) return post_([done] { done(Status::Ok()); });
  auto j = std::make_shared<Join>(Join{extents.size(), {}, std::move(done)});
  for (const Extent& e : extents) {
    device_->Unmap(e.lba * bdev::kSectorSize, e.count * bdev::kSectorSize, [this, j](Status s) {
      post_([j, s] {
        if (!s.ok() && j->status.ok()) j->status = s;
        if (--j->pending == 0) j->done(j->status);
      });
    });
  }
}

}  // namespace cstor::scsi
