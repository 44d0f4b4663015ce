#include "engine/format.h"

#include <fmt/format.h>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cstor::engine {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kLabelMagic = "CSTORDEV";

// Every record value starts with its version byte.
std::string Begin() {
  std::string s;
  PutFixed8(&s, kRecordVersion);
  return s;
}

// Checks the version byte; returns a decoder over the rest.
Result<Decoder> Open(std::string_view v, std::string_view what) {
  if (v.empty()) return Status::Corruption(fmt::format("empty {} record", what));
  if (static_cast<uint8_t>(v[0]) != kRecordVersion) {
    return Status::Corruption(fmt::format("{} record has version {}, this build reads {}", what,
                                          static_cast<int>(static_cast<uint8_t>(v[0])),
                                          kRecordVersion));
  }
  return Decoder(v.substr(1));
}

Status Truncated(std::string_view what) {
  return Status::Corruption(fmt::format("{} record is truncated", what));
}

std::string Key(char tag) { return std::string(1, tag); }

std::string Key64(char tag, uint64_t a) {
  std::string k = Key(tag);
  PutBigEndian64(&k, a);
  return k;
}

std::string Key64x2(char tag, uint64_t a, uint64_t b) {
  std::string k = Key64(tag, a);
  PutBigEndian64(&k, b);
  return k;
}

std::string Key64x3(char tag, uint64_t a, uint64_t b, uint64_t c) {
  std::string k = Key64x2(tag, a, b);
  PutBigEndian64(&k, c);
  return k;
}

void PutBlockFields(std::string* s, const BlockRecord& r) {
  PutFixed8(s, r.unmapped ? 1 : 0);
  PutFixed32(s, r.crc);
  PutFixed64(s, r.phys.Pack());
  PutFixed64(s, r.io_seq);
  PutFixed64(s, r.birth);
}

BlockRecord GetBlockFields(Decoder& d) {
  BlockRecord r;
  r.unmapped = (d.U8() & 1) != 0;
  r.crc = d.U32();
  r.phys = PhysAddr::Unpack(d.U64());
  r.io_seq = d.U64();
  r.birth = d.U64();
  return r;
}

}  // namespace

std::string GuidToString(const Guid& g) {
  std::string s;
  for (size_t i = 0; i < g.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s += fmt::format("{:02x}", g[i]);
  }
  return s;
}

namespace keys {
std::string Pool() { return Key('P'); }
std::string Device(uint32_t index) {
  std::string k = Key('D');
  PutBigEndian32(&k, index);
  return k;
}
std::string DevicePrefix() { return Key('D'); }
std::string BitmapChunk(uint32_t device, uint64_t chunk) {
  std::string k = Key('A');
  PutBigEndian32(&k, device);
  PutBigEndian64(&k, chunk);
  return k;
}
std::string BitmapPrefix(uint32_t device) {
  std::string k = Key('A');
  PutBigEndian32(&k, device);
  return k;
}
std::string Volume(uint64_t id) { return Key64('V', id); }
std::string VolumePrefix() { return Key('V'); }
std::string Name(std::string_view name) { return Key('N') + std::string(name); }
std::string Counters(uint64_t volume) { return Key64('C', volume); }
std::string Snapshot(uint64_t volume, uint64_t gen) { return Key64x2('S', volume, gen); }
std::string SnapshotPrefix(uint64_t volume) { return Key64('S', volume); }
std::string Block(uint64_t volume, uint64_t lba) { return Key64x2('B', volume, lba); }
std::string BlockPrefix(uint64_t volume) { return Key64('B', volume); }
std::string Old(uint64_t volume, uint64_t lba, uint64_t birth) {
  return Key64x3('O', volume, lba, birth);
}
std::string OldPrefix(uint64_t volume) { return Key64('O', volume); }
std::string Kill(uint64_t volume, uint64_t kill, uint64_t lba) {
  return Key64x3('K', volume, kill, lba);
}
std::string KillPrefix(uint64_t volume) { return Key64('K', volume); }
std::string Attribute(uint64_t volume, std::string_view name) {
  return Key64('M', volume) + std::string(name);
}
std::string AttributePrefix(uint64_t volume) { return Key64('M', volume); }

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      last++;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // empty: no upper bound
}

bool ParseBlock(std::string_view key, uint64_t* volume, uint64_t* lba) {
  if (key.size() != 17 || key[0] != 'B') return false;
  *volume = DecodeBigEndian64(key.data() + 1);
  *lba = DecodeBigEndian64(key.data() + 9);
  return true;
}
bool ParseOld(std::string_view key, uint64_t* volume, uint64_t* lba, uint64_t* birth) {
  if (key.size() != 25 || key[0] != 'O') return false;
  *volume = DecodeBigEndian64(key.data() + 1);
  *lba = DecodeBigEndian64(key.data() + 9);
  *birth = DecodeBigEndian64(key.data() + 17);
  return true;
}
bool ParseKill(std::string_view key, uint64_t* volume, uint64_t* kill, uint64_t* lba) {
  if (key.size() != 25 || key[0] != 'K') return false;
  *volume = DecodeBigEndian64(key.data() + 1);
  *kill = DecodeBigEndian64(key.data() + 9);
  *lba = DecodeBigEndian64(key.data() + 17);
  return true;
}
bool ParseBitmapChunk(std::string_view key, uint32_t* device, uint64_t* chunk) {
  if (key.size() != 13 || key[0] != 'A') return false;
  *device = DecodeBigEndian32(key.data() + 1);
  *chunk = DecodeBigEndian64(key.data() + 5);
  return true;
}
}  // namespace keys

void EncodeBlockKey(uint64_t volume, uint64_t lba, char (&out)[kBlockKeySize]) {
  out[0] = 'B';
  for (int i = 0; i < 8; i++) {
    out[1 + i] = static_cast<char>(volume >> (56 - 8 * i));
    out[9 + i] = static_cast<char>(lba >> (56 - 8 * i));
  }
}

void EncodeBlockValue(const BlockRecord& r, char (&out)[kBlockValueSize]) {
  auto put = [&out](size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) out[at + i] = static_cast<char>(v >> (8 * i));
  };
  out[0] = static_cast<char>(kRecordVersion);
  out[1] = r.unmapped ? 1 : 0;
  put(2, r.crc, 4);
  put(6, r.phys.Pack(), 8);
  put(14, r.io_seq, 8);
  put(22, r.birth, 8);
}

std::string EncodeBlock(const BlockRecord& r) {
  std::string s = Begin();
  PutBlockFields(&s, r);
  return s;
}

Result<BlockRecord> DecodeBlock(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "block"));
  BlockRecord r = GetBlockFields(d);
  if (!d.ok()) return Truncated("block");
  return r;
}

std::string EncodeOld(const OldRecord& r) {
  std::string s = Begin();
  PutBlockFields(&s, r.rec);
  PutFixed64(&s, r.kill);
  return s;
}

Result<OldRecord> DecodeOld(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "old block"));
  OldRecord r;
  r.rec = GetBlockFields(d);
  r.kill = d.U64();
  if (!d.ok()) return Truncated("old block");
  return r;
}

std::string EncodePool(const PoolRecord& r) {
  std::string s = Begin();
  PutFixed32(&s, kFormatVersion);
  s.append(reinterpret_cast<const char*>(r.guid.data()), r.guid.size());
  PutFixed32(&s, r.unit_size);
  PutFixed32(&s, r.ro_threshold_pct);
  PutFixed64(&s, r.txg);
  PutFixed64(&s, r.next_volume_id);
  PutFixed32(&s, r.device_count);
  PutFixed64(&s, r.created_micros);
  return s;
}

Result<PoolRecord> DecodePool(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "pool"));
  uint32_t format = d.U32();
  if (d.ok() && format != kFormatVersion) {
    return Status::FailedPrecondition(fmt::format(
        "pool format version {} is not supported by this build (it reads version {})", format,
        kFormatVersion));
  }
  PoolRecord r;
  std::string_view guid = d.Bytes(r.guid.size());
  if (d.ok()) std::copy(guid.begin(), guid.end(), r.guid.begin());
  r.unit_size = d.U32();
  r.ro_threshold_pct = d.U32();
  r.txg = d.U64();
  r.next_volume_id = d.U64();
  r.device_count = d.U32();
  r.created_micros = d.U64();
  if (!d.ok()) return Truncated("pool");
  return r;
}

std::string EncodeDevice(const DeviceRecord& r) {
  std::string s = Begin();
  PutFixed32(&s, r.index);
  PutLengthPrefixed(&s, r.path);
  PutFixed64(&s, r.size);
  PutFixed64(&s, r.units);
  return s;
}

Result<DeviceRecord> DecodeDevice(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "device"));
  DeviceRecord r;
  r.index = d.U32();
  r.path = std::string(d.LengthPrefixed());
  r.size = d.U64();
  r.units = d.U64();
  if (!d.ok()) return Truncated("device");
  return r;
}

std::string EncodeVolume(const VolumeRecord& r) {
  std::string s = Begin();
  PutFixed64(&s, r.id);
  PutLengthPrefixed(&s, r.name);
  PutFixed64(&s, r.size);
  PutFixed32(&s, r.block_size);
  PutFixed64(&s, r.created_micros);
  PutFixed64(&s, r.origin_volume);
  PutFixed64(&s, r.origin_gen);
  PutFixed8(&s, static_cast<uint8_t>(r.state));
  return s;
}

Result<VolumeRecord> DecodeVolume(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "volume"));
  VolumeRecord r;
  r.id = d.U64();
  r.name = std::string(d.LengthPrefixed());
  r.size = d.U64();
  r.block_size = d.U32();
  r.created_micros = d.U64();
  r.origin_volume = d.U64();
  r.origin_gen = d.U64();
  r.state = static_cast<LifeState>(d.U8());
  if (!d.ok()) return Truncated("volume");
  if (r.block_size < kMinBlockSize || r.block_size > kMaxBlockSize ||
      (r.block_size & (r.block_size - 1)) != 0 || r.size % r.block_size != 0) {
    return Status::Corruption(fmt::format("volume {} record has block size {} and size {}",
                                          r.name, r.block_size, r.size));
  }
  return r;
}

std::string EncodeSnapshot(const SnapshotRecord& r) {
  std::string s = Begin();
  PutFixed64(&s, r.volume);
  PutFixed64(&s, r.gen);
  PutLengthPrefixed(&s, r.name);
  PutFixed64(&s, r.created_micros);
  PutFixed64(&s, r.size);
  PutFixed64(&s, r.referenced_blocks);
  PutFixed64(&s, r.io_seq);
  PutFixed8(&s, static_cast<uint8_t>(r.state));
  return s;
}

Result<SnapshotRecord> DecodeSnapshot(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "snapshot"));
  SnapshotRecord r;
  r.volume = d.U64();
  r.gen = d.U64();
  r.name = std::string(d.LengthPrefixed());
  r.created_micros = d.U64();
  r.size = d.U64();
  r.referenced_blocks = d.U64();
  r.io_seq = d.U64();
  r.state = static_cast<LifeState>(d.U8());
  if (!d.ok()) return Truncated("snapshot");
  return r;
}

std::string EncodeCounters(const VolumeCounters& r) {
  std::string s = Begin();
  PutFixed64(&s, r.checkpoint_io_seq);
  PutFixed64(&s, r.live_blocks);
  PutFixed64(&s, r.held_blocks);
  PutFixed64(&s, r.max_io_seq);
  return s;
}

Result<VolumeCounters> DecodeCounters(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "counters"));
  VolumeCounters r;
  r.checkpoint_io_seq = d.U64();
  r.live_blocks = d.U64();
  r.held_blocks = d.U64();
  r.max_io_seq = d.U64();
  if (!d.ok()) return Truncated("counters");
  return r;
}

std::string EncodeKill(const KillRecord& r) {
  std::string s = Begin();
  PutFixed64(&s, r.birth);
  PutFixed64(&s, r.phys.Pack());
  PutFixed8(&s, r.has_data ? 1 : 0);
  return s;
}

Result<KillRecord> DecodeKill(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "kill"));
  KillRecord r;
  r.birth = d.U64();
  r.phys = PhysAddr::Unpack(d.U64());
  r.has_data = (d.U8() & 1) != 0;
  if (!d.ok()) return Truncated("kill");
  return r;
}

std::string EncodeU64(uint64_t v) {
  std::string s = Begin();
  PutFixed64(&s, v);
  return s;
}

Result<uint64_t> DecodeU64(std::string_view v) {
  CSTOR_ASSIGN_OR_RETURN(Decoder d, Open(v, "integer"));
  uint64_t x = d.U64();
  if (!d.ok()) return Truncated("integer");
  return x;
}

std::string EncodeLabel(const DeviceLabel& label) {
  std::string s(kLabelMagic);
  PutFixed32(&s, kFormatVersion);
  PutFixed32(&s, label.device_index);
  s.append(reinterpret_cast<const char*>(label.pool_guid.data()), label.pool_guid.size());
  PutFixed64(&s, label.device_size);
  PutFixed64(&s, kDeviceDataOffset);
  PutFixed64(&s, kUnitSize);
  PutFixed32(&s, crc32c::Value(s.data(), s.size()));
  s.resize(kDeviceLabelSize, '\0');
  return s;
}

Result<DeviceLabel> DecodeLabel(std::string_view block) {
  if (block.size() < kLabelMagic.size() || block.substr(0, kLabelMagic.size()) != kLabelMagic) {
    return Status::NotFound("no cstor device label");
  }
  constexpr size_t kBody = 8 + 4 + 4 + 16 + 8 + 8 + 8;
  if (block.size() < kBody + 4) return Status::Corruption("device label is truncated");
  uint32_t stored = DecodeFixedLE<uint32_t>(block.data() + kBody);
  if (stored != crc32c::Value(block.data(), kBody)) {
    return Status::Corruption("device label checksum mismatch");
  }
  Decoder d(block.substr(kLabelMagic.size(), kBody - kLabelMagic.size()));
  uint32_t version = d.U32();
  if (version != kFormatVersion) {
    return Status::FailedPrecondition(
        fmt::format("device label has format version {}, this build reads {}", version,
                    kFormatVersion));
  }
  DeviceLabel label;
  label.device_index = d.U32();
  std::string_view guid = d.Bytes(16);
  std::copy(guid.begin(), guid.end(), label.pool_guid.begin());
  label.device_size = d.U64();
  uint64_t data_offset = d.U64();
  uint64_t unit = d.U64();
  if (data_offset != kDeviceDataOffset || unit != kUnitSize) {
    return Status::FailedPrecondition("device label has an unsupported layout");
  }
  return label;
}

}  // namespace cstor::engine
