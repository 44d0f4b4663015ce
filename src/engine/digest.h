// DigestVolume: a fingerprint of a volume's live contents, so that two replicas of a
// volume can be compared offline (`cstor volume digest`).
//
// Two fingerprints, both SHA-256 in hex:
//   digest       over (block, io_seq, crc32c of the data) of every block that holds data
//                (written, including blocks written with zeros), in block order;
//   data_digest  over (block, crc32c of the data) of every block whose data is not all
//                zeros, in block order.
// Unmapped blocks (tombstones) and blocks the volume never wrote both read as zeros and
// carry no version, so neither counts in either fingerprint: two volumes agree whether a
// block was never written or unmapped. data_digest depends on what reads return only;
// digest also on the io sequence of each block, which replicas of a Healthy volume share
// (a rebuild copies the source's io sequence with the data). For clones, only the clone's
// own blocks count.
//
// Thread-safety: as for Volume; the digest describes a moment only if nothing writes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "engine/volume.h"

namespace cstor::engine {

// One block that holds data.
struct BlockDigest {
  uint64_t lba = 0;
  uint64_t io_seq = 0;
  uint32_t crc = 0;   // crc32c of the block's data, as read (and verified)
  bool zero = false;  // the data is all zeros
};

struct VolumeDigest {
  std::string digest;
  std::string data_digest;
  uint64_t blocks = 0;           // the volume's size in blocks
  uint64_t data_blocks = 0;      // blocks holding data (zero or not)
  uint64_t zero_blocks = 0;      // ... of which all zeros
  uint64_t unmapped_blocks = 0;  // tombstones
  uint64_t max_io_seq = 0;       // the highest io sequence of a block holding data
};

// Reads every block that holds data (verifying its checksum: a corrupt block fails the
// digest). per_block, if set, sees each such block in block order.
Result<VolumeDigest> DigestVolume(Volume& volume,
                                  const std::function<void(const BlockDigest&)>& per_block = {});

}  // namespace cstor::engine
