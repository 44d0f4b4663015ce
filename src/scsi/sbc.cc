// Block commands (SBC-3): capacity, reads, writes, verification, WRITE SAME, UNMAP, GET LBA
// STATUS, COMPARE AND WRITE and SYNCHRONIZE CACHE.
#include <algorithm>

#include "scsi/logical_unit.h"

namespace cstor::scsi {
namespace {

struct Extent16 {
  uint64_t lba;
  uint64_t count;
};

// LBA and transfer length of a READ/WRITE/VERIFY/SYNCHRONIZE CACHE/WRITE SAME CDB.
Extent16 LbaAndLength(const Command& c) {
  const uint8_t* b = c.cdb.data();
  switch (c.cdb_length <= 6 ? 6 : c.opcode() >> 5) {
    case 6: {
      uint64_t n = b[4];
      if (n == 0 && (c.opcode() == 0x08 || c.opcode() == 0x0a)) n = 256;
      return {GetBE(b + 1, 3) & 0x1fffff, n};
    }
    case 1:
    case 2: return {GetBE(b + 2, 4), GetBE(b + 7, 2)};   // 10-byte
    case 5: return {GetBE(b + 2, 4), GetBE(b + 6, 4)};   // 12-byte
    default: return {GetBE(b + 2, 8), GetBE(b + 10, 4)};  // 16-byte
  }
}

bool HasProtectionBits(const Command& c) { return c.cdb_length > 6 && (c.cdb[1] & 0xe0) != 0; }
bool Fua(const Command& c) { return c.cdb_length > 6 && (c.cdb[1] & 0x08) != 0; }

// The byte offset of the first difference, if any.
std::optional<size_t> FirstDifference(std::string_view a, std::string_view b) {
  auto m = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (m.first == a.end() && m.second == b.end()) return std::nullopt;
  return static_cast<size_t>(m.first - a.begin());
}

}  // namespace

std::optional<uint64_t> TransferBytes(const Command& c) {
  switch (c.opcode()) {
    case 0x08: case 0x0a: case 0x28: case 0x2a: case 0x2e: case 0x88: case 0x8a: case 0x8e:
    case 0xa8: case 0xaa: case 0xae: return LbaAndLength(c).count * bdev::kSectorSize;
    default: return std::nullopt;
  }
}

void LogicalUnit::ReadCapacity10(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  if (!(cdb[8] & 0x01) && GetBE(cdb.data() + 2, 4) != 0) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2)));
  }
  std::string d(8, '\0');
  PutBE(&d, 0, std::min<uint64_t>(blocks() - 1, 0xffffffff), 4);
  PutBE(&d, 4, bdev::kSectorSize, 4);
  Finish(t, Response::Good(std::move(d)));
}

void LogicalUnit::ReadCapacity16(const TaskPtr& t) {
  std::string d(32, '\0');
  PutBE(&d, 0, blocks() - 1, 8);
  PutBE(&d, 8, bdev::kSectorSize, 4);
  // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT stays 0: every logical block is mapped or
  // deallocated on its own (GET LBA STATUS answers per logical block, see docs/iscsi.md),
  // and the device's preferred alignment is in VPD B0's optimal granularities instead.
  d[13] = 0;
  if (info_.thin) d[14] = static_cast<char>(0x80 | 0x40);  // LBPME, LBPRZ
  uint64_t allocation = GetBE(t->cmd.cdb.data() + 10, 4);
  if (d.size() > allocation) d.resize(allocation);
  Finish(t, Response::Good(std::move(d)));
}

void LogicalUnit::Read(const TaskPtr& t) {
  if (HasProtectionBits(t->cmd)) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 7)));
  const Extent16 range = LbaAndLength(t->cmd);
  const uint64_t lba = range.lba, count = range.count;
  if (!CheckRange(t, lba, count)) return;
  if (count == 0) return Finish(t, Response::Good());
  DeviceRead(lba, count, [this, t](Result<std::string> r) {
    if (!r.ok()) return FinishWithDeviceError(t, r.status(), false);
    Finish(t, Response::Good(std::move(*r)));
  });
}

void LogicalUnit::Write(const TaskPtr& t) {
  if (HasProtectionBits(t->cmd)) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 7)));
  const Extent16 range = LbaAndLength(t->cmd);
  const uint64_t lba = range.lba;
  uint64_t count = range.count;
  if (!CheckRange(t, lba, count)) return;
  if (count == 0) return Finish(t, Response::Good());
  // An initiator whose expected length is short of the CDB's sends less: the whole blocks
  // it sent are written, and the transport reports the overflow as a residual.
  count = std::min<uint64_t>(count, t->cmd.data_out.size() / bdev::kSectorSize);
  if (count == 0) return Finish(t, Response::Good());
  t->cmd.data_out.resize(count * bdev::kSectorSize);
  // WRITE AND VERIFY verifies by writing through to stable storage.
  const bool fua = Fua(t->cmd) || (t->cmd.opcode() & 0x0f) == 0x0e;
  WithBlocks(lba, count, false, [this, t, lba, fua](std::function<void()> release) {
    DeviceWrite(lba, std::move(t->cmd.data_out), fua, [this, t, release](Status s) {
      release();
      if (!s.ok()) return FinishWithDeviceError(t, s, true);
      Finish(t, Response::Good());
    });
  });
}

void LogicalUnit::Verify(const TaskPtr& t) {
  if (HasProtectionBits(t->cmd)) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 7)));
  const uint8_t bytchk = (t->cmd.cdb[1] >> 1) & 0x03;
  if (bytchk == 2) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 2)));
  const Extent16 range = LbaAndLength(t->cmd);
  const uint64_t lba = range.lba, count = range.count;
  if (!CheckRange(t, lba, count)) return;
  if (count == 0) return Finish(t, Response::Good());
  const uint64_t expected = bytchk == 1 ? count * bdev::kSectorSize
                            : bytchk == 3 ? bdev::kSectorSize
                                          : 0;
  if (t->cmd.data_out.size() < expected) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(t->cmd.cdb_length == 6 ? 4 : 7)));
  }
  // Reading the blocks checks them (a replica's checksums); BYTCHK compares them too.
  DeviceRead(lba, count, [this, t, bytchk](Result<std::string> r) {
    if (!r.ok()) return FinishWithDeviceError(t, r.status(), false);
    std::string_view medium = *r, sent = t->cmd.data_out;
    for (size_t at = 0; bytchk != 0 && at < medium.size(); at += bdev::kSectorSize) {
      std::string_view want = bytchk == 1 ? sent.substr(at, bdev::kSectorSize)
                                          : sent.substr(0, bdev::kSectorSize);
      if (auto d = FirstDifference(medium.substr(at, bdev::kSectorSize), want)) {
        return Finish(t, Response::Check(Sense::Miscompare(at + *d)));
      }
    }
    Finish(t, Response::Good());
  });
}

void LogicalUnit::WriteSame(const TaskPtr& t) {
  const Command& c = t->cmd;
  if (HasProtectionBits(c)) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 7)));
  if (c.cdb[1] & 0x10) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 4)));  // ANCHOR
  const bool unmap = c.cdb[1] & 0x08;
  const bool ndob = c.opcode() == 0x93 && (c.cdb[1] & 0x01);
  const Extent16 range = LbaAndLength(c);
  const uint64_t lba = range.lba, count = range.count;
  const uint16_t count_byte = c.opcode() == 0x41 ? 7 : 10;
  if (count == 0 || count > kMaxWriteSameBlocks) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(count_byte)));
  }
  if (!CheckRange(t, lba, count, /*limit_transfer=*/false)) return;
  // Exactly one block of data follows, unless NDOB says none does.
  if (c.data_out.size() != (ndob ? 0 : bdev::kSectorSize)) {
    return Finish(t, Response::Check(Sense::ParameterListLengthError()));
  }
  std::string block = ndob ? std::string(bdev::kSectorSize, '\0') : c.data_out;
  const bool zeros = std::all_of(block.begin(), block.end(), [](char ch) { return ch == 0; });
  auto finish = [this, t](Status s) {
    if (!s.ok()) return FinishWithDeviceError(t, s, true);
    Finish(t, Response::Good());
  };
  if (unmap && zeros && info_.thin) {
    return WithBlocks(lba, count, false, [this, lba, count, finish](std::function<void()> release) {
      DeviceUnmap({{lba, count}}, [release, finish](Status s) {
        release();
        finish(s);
      });
    });
  }
  // The pattern, one chunk at a time (each chunk at most the device's largest IO).
  const uint64_t per_chunk = std::min<uint64_t>(count, kMaxDeviceIo / bdev::kSectorSize);
  std::string chunk;
  chunk.reserve(per_chunk * bdev::kSectorSize);
  for (uint64_t i = 0; i < per_chunk; i++) chunk += block;
  struct Join {
    uint64_t pending;
    Status status;
  };
  const uint64_t chunks = (count + per_chunk - 1) / per_chunk;
  auto j = std::make_shared<Join>(Join{chunks, {}});
  WithBlocks(lba, count, false, [this, t, j, lba, count, per_chunk, chunk = std::move(chunk),
                                 finish](std::function<void()> release) {
    for (uint64_t at = 0; at < count; at += per_chunk) {
      uint64_t n = std::min(per_chunk, count - at);
      DeviceWrite(lba + at, chunk.substr(0, n * bdev::kSectorSize), Fua(t->cmd),
                  [j, release, finish](Status s) {
                    if (!s.ok() && j->status.ok()) j->status = s;
                    if (--j->pending > 0) return;
                    release();
                    finish(j->status);
                  });
    }
  });
}

void LogicalUnit::Unmap(const TaskPtr& t) {
  const Command& c = t->cmd;
  if (c.cdb[1] & 0x01) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 0)));  // ANCHOR
  const uint64_t length = GetBE(c.cdb.data() + 7, 2);
  if (length == 0) return Finish(t, Response::Good());
  if (length < 8 || c.data_out.size() < length) {
    return Finish(t, Response::Check(Sense::ParameterListLengthError()));
  }
  const std::string_view p = std::string_view(c.data_out).substr(0, length);
  const uint64_t descriptor_bytes = std::min<uint64_t>(GetBE(p, 2, 2), length - 8);
  const uint64_t n = descriptor_bytes / 16;
  if (n > kMaxUnmapDescriptors) {
    return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(2)));
  }
  std::vector<Extent> extents;
  uint64_t total = 0;  // MAXIMUM UNMAP LBA COUNT bounds the whole command
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t lba = GetBE(p, 8 + 16 * i, 8), count = GetBE(p, 16 + 16 * i, 4);
    if (lba > blocks() || count > blocks() - lba) {
      return Finish(t, Response::Check(Sense::LbaOutOfRange()));
    }
    total += count;
    if (total > kMaxUnmapBlocks) {
      return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(16 + 16 * i)));
    }
    extents.push_back({lba, count});
  }
  DeviceUnmap(std::move(extents), [this, t](Status s) {
    if (!s.ok()) return FinishWithDeviceError(t, s, true);
    Finish(t, Response::Good());
  });
}

void LogicalUnit::GetLbaStatus(const TaskPtr& t) {
  const uint64_t lba = GetBE(t->cmd.cdb.data() + 2, 8);
  const uint64_t allocation = GetBE(t->cmd.cdb.data() + 10, 4);
  if (lba >= blocks()) return Finish(t, Response::Check(Sense::LbaOutOfRange()));
  // Descriptors for up to 64 Ki blocks (32 MiB) from lba: enough for an initiator's next
  // step, and bounded work for the device.
  const uint64_t count = std::min<uint64_t>(blocks() - lba, 1 << 16);
  device_->GetAllocation(
      lba * bdev::kSectorSize, count * bdev::kSectorSize,
      [this, t, allocation](Result<std::vector<bdev::BlockDevice::Extent>> r) {
        post_([this, t, allocation, r = std::move(r)] {
          if (!r.ok()) return FinishWithDeviceError(t, r.status(), false);
          std::string out(8, '\0');
          for (const auto& e : *r) {
            std::string d(16, '\0');
            PutBE(&d, 0, e.offset / bdev::kSectorSize, 8);
            PutBE(&d, 8, std::min<uint64_t>(e.length / bdev::kSectorSize, 0xffffffff), 4);
            d[12] = e.mapped ? 0 : 1;  // mapped or deallocated
            out += d;
            if (out.size() >= allocation) break;
          }
          PutBE(&out, 0, out.size() - 4, 4);
          if (out.size() > allocation) out.resize(allocation);
          Finish(t, Response::Good(std::move(out)));
        });
      });
}

void LogicalUnit::CompareAndWrite(const TaskPtr& t) {
  if (HasProtectionBits(t->cmd)) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 7)));
  const uint64_t lba = GetBE(t->cmd.cdb.data() + 2, 8);
  const uint64_t count = t->cmd.cdb[13];
  if (count > kMaxCompareAndWriteBlocks) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(13)));
  }
  if (!CheckRange(t, lba, count)) return;
  const uint64_t bytes = count * bdev::kSectorSize;
  if (t->cmd.data_out.size() != 2 * bytes) {  // the verify half and the write half, exactly
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(13)));
  }
  if (count == 0) return Finish(t, Response::Good());
  // Read, compare and write with the blocks held against every other write.
  WithBlocks(lba, count, true, [this, t, lba, count, bytes](std::function<void()> release) {
    DeviceRead(lba, count, [this, t, lba, bytes, release](Result<std::string> r) {
      if (!r.ok()) {
        release();
        return FinishWithDeviceError(t, r.status(), false);
      }
      std::string_view verify = std::string_view(t->cmd.data_out).substr(0, bytes);
      if (auto d = FirstDifference(*r, verify)) {
        release();
        return Finish(t, Response::Check(Sense::Miscompare(*d)));
      }
      DeviceWrite(lba, t->cmd.data_out.substr(bytes, bytes), Fua(t->cmd), [this, t, release](Status s) {
        release();
        if (!s.ok()) return FinishWithDeviceError(t, s, true);
        Finish(t, Response::Good());
      });
    });
  });
}

void LogicalUnit::SynchronizeCache(const TaskPtr& t) {
  const Extent16 range = LbaAndLength(t->cmd);
  const uint64_t lba = range.lba, count = range.count;
  if (!CheckRange(t, lba, count, /*limit_transfer=*/false)) return;
  device_->Flush([this, t](Status s) {
    post_([this, t, s] {
      if (!s.ok()) return FinishWithDeviceError(t, s, true);
      Finish(t, Response::Good());
    });
  });
}

// PRE-FETCH: a hint. The blocks are not held in a cache of ours (the device's own cache
// decides), which SBC-3 answers with GOOD rather than CONDITION MET.
void LogicalUnit::PreFetch(const TaskPtr& t) {
  const Extent16 range = LbaAndLength(t->cmd);
  if (!CheckRange(t, range.lba, range.count, /*limit_transfer=*/false)) return;
  Finish(t, Response::Good());
}

}  // namespace cstor::scsi
