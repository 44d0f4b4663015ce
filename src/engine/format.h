// The engine's on-disk format: the records it keeps in its metadata store (RocksDB) and the
// label at the start of every data device. docs/engine-format.md describes every key and
// record byte by byte; keep the two in step and bump kFormatVersion on any change.
//
// Keys are big-endian so that the store's byte order is numeric order (one volume's blocks
// are contiguous and sorted by logical block). Values are little-endian and start with a
// one-byte record version, so a newer reader can still decode older records.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cstor::engine {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kUnitSize = 4096;               // allocation unit on devices
inline constexpr uint64_t kDeviceDataOffset = 1 << 20;    // data area starts at 1 MiB
inline constexpr uint64_t kBitmapChunkUnits = 2048;       // units per allocation-bitmap key
inline constexpr uint64_t kMinBlockSize = 4096;
inline constexpr uint64_t kMaxBlockSize = 128 * 1024;
inline constexpr size_t kMaxNameLength = 200;

using Guid = std::array<uint8_t, 16>;
std::string GuidToString(const Guid& guid);

// Where a block's data lives: device index and allocation unit, packed in 64 bits.
struct PhysAddr {
  uint32_t device = 0;
  uint64_t unit = 0;

  uint64_t Pack() const { return (static_cast<uint64_t>(device) << 48) | unit; }
  static PhysAddr Unpack(uint64_t v) { return {static_cast<uint32_t>(v >> 48), v & kUnitMask}; }
  friend bool operator==(const PhysAddr&, const PhysAddr&) = default;

  static constexpr uint64_t kUnitMask = (uint64_t{1} << 48) - 1;
};

// One version of one logical block. A version without data (`unmapped`) reads as zeros;
// it records an unmap so that change streams carry it to other replicas.
struct BlockRecord {
  PhysAddr phys;
  uint64_t io_seq = 0;  // the io sequence number of the write that made this version
  uint64_t birth = 0;   // pool generation (txg) when it was written
  uint32_t crc = 0;     // crc32c of the block's data
  bool unmapped = false;
  // In memory only (never encoded): the journal's way of saying "this block's entry is
  // being removed" until the commit deletes it from the store.
  bool absent = false;

  bool has_data() const { return !unmapped && !absent; }
  friend bool operator==(const BlockRecord&, const BlockRecord&) = default;
};

// A version that a snapshot still holds after the live volume moved on.
struct OldRecord {
  BlockRecord rec;
  uint64_t kill = 0;  // generation at which the live volume replaced it
};

// The kill index: for each preserved version, keyed by (volume, kill, lba), what snapshot
// deletion needs without reading the version itself.
struct KillRecord {
  uint64_t birth = 0;
  PhysAddr phys;
  bool has_data = false;
};

struct PoolRecord {
  Guid guid{};
  uint32_t unit_size = kUnitSize;
  uint32_t ro_threshold_pct = 85;
  uint64_t txg = 1;             // current generation; bumped by each snapshot
  uint64_t next_volume_id = 1;
  uint32_t device_count = 0;
  uint64_t created_micros = 0;
};

struct DeviceRecord {
  uint32_t index = 0;
  std::string path;  // as given at create time; relative paths are relative to the pool dir
  uint64_t size = 0;
  uint64_t units = 0;
};

enum class LifeState : uint8_t { kLive = 0, kDeleting = 1 };

struct VolumeRecord {
  uint64_t id = 0;
  std::string name;
  uint64_t size = 0;
  uint32_t block_size = 4096;
  uint64_t created_micros = 0;
  uint64_t origin_volume = 0;  // for clones: the volume whose snapshot we started from
  uint64_t origin_gen = 0;     // ... and that snapshot's generation
  LifeState state = LifeState::kLive;
};

struct SnapshotRecord {
  uint64_t volume = 0;
  uint64_t gen = 0;
  std::string name;
  uint64_t created_micros = 0;
  uint64_t size = 0;               // the volume's size when it was taken
  uint64_t referenced_blocks = 0;  // blocks with data visible in the snapshot
  uint64_t io_seq = 0;             // the volume's highest io sequence when it was taken
  LifeState state = LifeState::kLive;
};

// Per-volume state that changes with every commit, kept apart from the volume record.
struct VolumeCounters {
  uint64_t checkpoint_io_seq = 0;  // every write with io_seq <= this is durable
  uint64_t live_blocks = 0;        // live blocks with data
  uint64_t held_blocks = 0;        // old versions with data held only by snapshots
  uint64_t max_io_seq = 0;         // highest io_seq ever applied to the volume
};

struct DeviceLabel {
  Guid pool_guid{};
  uint32_t device_index = 0;
  uint64_t device_size = 0;
};
inline constexpr size_t kDeviceLabelSize = 4096;

// ---- keys ----
namespace keys {
std::string Pool();
std::string Device(uint32_t index);
std::string DevicePrefix();
std::string BitmapChunk(uint32_t device, uint64_t chunk);
std::string BitmapPrefix(uint32_t device);
std::string Volume(uint64_t id);
std::string VolumePrefix();
std::string Name(std::string_view name);
std::string Counters(uint64_t volume);
std::string Snapshot(uint64_t volume, uint64_t gen);
std::string SnapshotPrefix(uint64_t volume);
std::string Block(uint64_t volume, uint64_t lba);
std::string BlockPrefix(uint64_t volume);
std::string Old(uint64_t volume, uint64_t lba, uint64_t birth);
std::string OldPrefix(uint64_t volume);
std::string Kill(uint64_t volume, uint64_t kill, uint64_t lba);
std::string KillPrefix(uint64_t volume);
std::string Attribute(uint64_t volume, std::string_view name);
std::string AttributePrefix(uint64_t volume);
// The smallest key greater than every key starting with prefix.
std::string PrefixEnd(std::string prefix);

// Decoders of the variable parts. Return false if the key is not of that kind.
bool ParseBlock(std::string_view key, uint64_t* volume, uint64_t* lba);
bool ParseOld(std::string_view key, uint64_t* volume, uint64_t* lba, uint64_t* birth);
bool ParseKill(std::string_view key, uint64_t* volume, uint64_t* kill, uint64_t* lba);
bool ParseBitmapChunk(std::string_view key, uint32_t* device, uint64_t* chunk);
}  // namespace keys

// Fixed-size encodings of the hottest key and value, for the commit path (no allocation).
inline constexpr size_t kBlockKeySize = 17;
inline constexpr size_t kBlockValueSize = 30;
void EncodeBlockKey(uint64_t volume, uint64_t lba, char (&out)[kBlockKeySize]);
void EncodeBlockValue(const BlockRecord& r, char (&out)[kBlockValueSize]);

// ---- values ----
std::string EncodeBlock(const BlockRecord& r);
Result<BlockRecord> DecodeBlock(std::string_view v);
std::string EncodeOld(const OldRecord& r);
Result<OldRecord> DecodeOld(std::string_view v);
std::string EncodePool(const PoolRecord& r);
Result<PoolRecord> DecodePool(std::string_view v);
std::string EncodeDevice(const DeviceRecord& r);
Result<DeviceRecord> DecodeDevice(std::string_view v);
std::string EncodeVolume(const VolumeRecord& r);
Result<VolumeRecord> DecodeVolume(std::string_view v);
std::string EncodeSnapshot(const SnapshotRecord& r);
Result<SnapshotRecord> DecodeSnapshot(std::string_view v);
std::string EncodeCounters(const VolumeCounters& r);
Result<VolumeCounters> DecodeCounters(std::string_view v);
std::string EncodeKill(const KillRecord& r);
Result<KillRecord> DecodeKill(std::string_view v);
std::string EncodeU64(uint64_t v);
Result<uint64_t> DecodeU64(std::string_view v);

// A device label is one 4 KiB block at offset 0 of every device, checksummed.
std::string EncodeLabel(const DeviceLabel& label);  // exactly kDeviceLabelSize bytes
// NotFound if the block carries no cstor label; Corruption if it is damaged.
Result<DeviceLabel> DecodeLabel(std::string_view block);

}  // namespace cstor::engine
