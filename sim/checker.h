// Checker: the client's-eye model of a replicated volume. Every write puts, in each 512-byte
// sector it covers, bytes that name the write and the sector, so any read tells which write
// it returned. The checker verifies, for every sector of every read:
//   - the bytes are exactly some write's (or zeros from the start or an unmap): no garbage;
//   - that write is not older than a write acknowledged before the read was issued — "no
//     read returns data older than the latest acknowledged write" (older: it finished before
//     the acknowledged one was even issued).
// A write that failed or was in flight when the target crashed may or may not have landed.
// An acknowledged write may be gone only once more than RF - CF replicas have each lost
// their copy of it before it was made durable — a crash or failed fsync took it from their
// volatile state, or the target reconciled without them (Lost) — and only if it was
// acknowledged after the last successful flush was issued. The sectors name their write,
// so the simulated stores tell which writes they lost (WritesIn). Unmaps name nothing: one
// may be gone once more than RF - CF replicas lost anything unflushed (UnmapsMayBeLost).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cstor::sim {

class Checker {
 public:
  // tolerated: how many replicas may lose a write (RF - CF) before it may be gone.
  Checker(uint64_t sectors, uint32_t tolerated)
      : by_sector_(sectors), acked_(sectors), tolerated_(tolerated) {}

  // The writes whose content fills `data`, sectors from first_sector on (zeros and foreign
  // bytes name none).
  static void WritesIn(uint64_t first_sector, std::string_view data, std::set<uint64_t>& out);

  // A write (or an unmap: zeros) of sectors [first, first + count) issued now.
  uint64_t BeginWrite(uint64_t now, uint64_t first, uint64_t count, bool zeros);
  // Its data, sector by sector.
  std::string Content(uint64_t id, uint64_t first, uint64_t count) const;
  void EndWrite(uint64_t id, uint64_t now, bool ok);
  void FlushSucceeded(uint64_t issued_at) { last_flush_issue_ = std::max(last_flush_issue_, issued_at); }
  // Replica number `replica` (0-31) lost its copies of these writes.
  void Lost(const std::set<uint64_t>& writes, uint32_t replica);
  // Replica number `replica` holds an unmap over sectors [first, first + count): what it
  // held there before is gone with it if that unmap is lost (unmaps name no write).
  void LostUnder(uint64_t first, uint64_t count, uint32_t replica);
  // Too many replicas lost unflushed data: unmaps acknowledged after the last successful
  // flush was issued may be gone.
  void UnmapsMayBeLost();
  void Grow(uint64_t sectors) {
    by_sector_.resize(sectors);
    acked_.resize(sectors);
  }

  // Checks `data` (read of sectors [first, first + count), issued at read_issue). Returns a
  // description of the first violation.
  std::optional<std::string> CheckRead(uint64_t read_issue, uint64_t read_done, uint64_t first,
                                       const std::string& data) const;
  uint64_t writes() const { return writes_.size(); }
  uint64_t IssuedAt(uint64_t id) const {
    return id >= 1 && id <= writes_.size() ? writes_[id - 1].issue : 0;
  }
  // Whether write id was acknowledged and must survive (not lost beyond what is tolerated).
  bool Required(uint64_t id) const {
    return id >= 1 && id <= writes_.size() && writes_[id - 1].ok && writes_[id - 1].required;
  }
  // Issue time of the latest successful flush: writes acknowledged before it are durable.
  uint64_t last_flush_issue() const { return last_flush_issue_; }

 private:
  struct WriteRec {
    uint64_t first = 0, count = 0;
    bool zeros = false;
    uint64_t issue = 0, complete = UINT64_MAX;
    bool ok = false;
    bool required = true;
    uint32_t lost_on = 0;  // replicas that lost their copy, a bit each
  };
  bool MayBeGone(const WriteRec& w) const;
  // Marks writes of `sector` issued before `before` (all: UINT64_MAX) lost on `replica`,
  // back to one the last flush made durable; returns whether a required one became not so.
  bool LoseBack(uint64_t sector, uint32_t before, uint32_t replica);
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
  uint32_t tolerated_;
};

}  // namespace cstor::sim
