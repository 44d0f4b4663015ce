// Checker: the client's-eye model of a replicated volume. Every write puts, in each 512-byte
// sector it covers, bytes that name the write and the sector, so any read tells which write
// it returned. The checker verifies, for every sector of every read:
//   - the bytes are exactly some write's (or zeros from the start or an unmap): no garbage;
//   - that write is not older than a write acknowledged before the read was issued — "no
//     read returns data older than the latest acknowledged write" (older: it finished before
//     the acknowledged one was even issued).
// A write that failed or was in flight when the target crashed may or may not have landed.
// Once more than RF - CF replicas have lost unflushed data (a crash, a failed fsync, or
// being left out when the target reconciled) since the last successful flush was issued,
// only writes acknowledged before that flush was issued must survive (PowerLoss).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cstor::sim {

class Checker {
 public:
  explicit Checker(uint64_t sectors) : by_sector_(sectors), acked_(sectors) {}

  // A write (or an unmap: zeros) of sectors [first, first + count) issued now.
  uint64_t BeginWrite(uint64_t now, uint64_t first, uint64_t count, bool zeros);
  // Its data, sector by sector.
  std::string Content(uint64_t id, uint64_t first, uint64_t count) const;
  void EndWrite(uint64_t id, uint64_t now, bool ok);
  void FlushSucceeded(uint64_t issued_at) { last_flush_issue_ = std::max(last_flush_issue_, issued_at); }
  // Too many replicas lost unflushed data: writes acknowledged after the last successful
  // flush was issued may be gone.
  void PowerLoss(uint64_t now);
  void Grow(uint64_t sectors) {
    by_sector_.resize(sectors);
    acked_.resize(sectors);
  }

  // Checks `data` (read of sectors [first, first + count), issued at read_issue). Returns a
  // description of the first violation.
  std::optional<std::string> CheckRead(uint64_t read_issue, uint64_t read_done, uint64_t first,
                                       const std::string& data) const;
  uint64_t writes() const { return writes_.size(); }
  // Issue time of the latest successful flush: writes acknowledged before it are durable.
  uint64_t last_flush_issue() const { return last_flush_issue_; }

 private:
  struct WriteRec {
    uint64_t first = 0, count = 0;
    bool zeros = false;
    uint64_t issue = 0, complete = UINT64_MAX;
    bool ok = false;
    bool required = true;
  };
  // The acknowledged write that makes a candidate (finished at candidate_complete) stale for
  // a read issued at read_issue, or 0.
  uint32_t Stale(uint64_t sector, uint64_t candidate_complete, uint64_t read_issue) const;
  void Rebuild();  // recomputes acked_ after writes stopped being required
  void Record(uint64_t sector, uint64_t complete, uint32_t id);
  std::optional<std::string> CheckSector(uint64_t sector, uint64_t read_issue, uint64_t read_done,
                                         const char* bytes) const;

  // Per sector, the required writes acknowledged so far in completion order, as
  // (completed at, latest issue time among them and all earlier ones).
  struct Acked {
    uint64_t complete, max_issue;
    uint32_t max_id;  // the write with that issue time
  };
  std::vector<WriteRec> writes_;               // id - 1
  std::vector<std::vector<uint32_t>> by_sector_;  // write ids per sector
  std::vector<std::vector<Acked>> acked_;
  uint64_t last_flush_issue_ = 0;
};

}  // namespace cstor::sim
