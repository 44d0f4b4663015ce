// SimDisk: a replica's storage in the simulation, with the faults the schedule injects and
// the views the final checks need. Two kinds stand behind it:
//   - SimStore (sim_store.h): a model of the engine's contract in memory, fast, with every
//     fault, and exact about which writes a crash takes away;
//   - EngineDisk (engine_disk.h): the real engine (EngineStore over a pool on an in-memory
//     Env), whose crashes are power cuts of that Env.
// Both complete every operation after a simulated disk latency, on the world's thread, and
// drop what was in flight when they crash.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "replica/replica_store.h"
#include "sim/sim_world.h"

namespace cstor::sim {

class SimDisk : public replica::ReplicaStore {
 public:
  // One block as stored: its io sequence, and its data unless unmapped.
  struct Block {
    uint64_t io_seq = 0;
    bool unmapped = false;
    std::string data;  // block_size bytes unless unmapped
    friend bool operator==(const Block&, const Block&) = default;
  };

  SimDisk(SimWorld* world, std::string name, uint32_t block_size)
      : world_(world), name_(std::move(name)), bs_(block_size) {}

  // ---- faults ----
  // Loses volatile state and keeps what was durable; nothing in flight completes.
  virtual void Crash() = 0;
  // Makes one block's data fail its checksum; false if this kind of disk cannot.
  virtual bool Corrupt(uint64_t block) = 0;
  // Commits on its own every [lo, hi] microseconds; {0, 0}: never (only flushes commit).
  virtual void SetBackgroundCommit(uint64_t lo, uint64_t hi) = 0;
  // A background commit, now (as the engine may commit at any moment).
  virtual void CommitNow() = 0;
  // Latency of every operation while slow, in [lo, hi] microseconds; {0, 0}: normal.
  void SetSlow(uint64_t lo, uint64_t hi) { slow_lo_ = lo, slow_hi_ = hi; }
  void SetAlive(bool alive) { alive_ = alive; }  // a dead disk never completes
  void SetWriteErrors(bool on) { write_errors_ = on; }  // writes and unmaps fail with EIO
  virtual bool can_fail_writes() const { return true; }  // whether it models that
  // Reads take this much longer (a disk that hangs on reads, not on writes); 0: normal.
  void SetReadStall(uint64_t micros) { read_stall_ = micros; }
  // Flushes take [lo, hi] microseconds (a disk whose syncs are slow); {0, 0}: as any IO.
  void SetSlowFlush(uint64_t lo, uint64_t hi) { flush_lo_ = lo, flush_hi_ = hi; }
  void FailNextFlush() { fail_flush_ = true; }  // its fsync fails: the disk fences
  bool fenced() const { return fenced_; }
  void ClearFaults();  // well again: not slow, no errors, no stalls, no failing fsync
  // Called when the disk fences (its process is then restarted, as a pool manager would).
  void OnFence(std::function<void()> fn) { on_fence_ = std::move(fn); }
  // Called, inside Crash, with the client writes the crash took away (each sector of a
  // client write names the write: Checker::WritesIn).
  void OnLost(std::function<void(const std::set<uint64_t>&)> fn) { on_lost_ = std::move(fn); }

  // ---- views, for the checks ----
  // A block of the live volume ("") or of a snapshot; nullopt when absent.
  virtual std::optional<Block> Look(uint64_t block, const std::string& snapshot = "") const = 0;
  virtual bool HasSnapshot(const std::string& name) const = 0;
  // The client writes it holds (named by its blocks, or received and not yet durable).
  virtual std::set<uint64_t> HeldWrites() const = 0;
  std::string ReadDirect(uint64_t block) const;  // block_size bytes, zeros when absent
  // What went wrong with the storage itself (not a simulated fault: a finding), if anything.
  virtual std::optional<std::string> Broken() const { return std::nullopt; }
  const std::string& name() const { return name_; }

  Status Health() override { return fenced_ ? Fenced() : Status::Ok(); }

 protected:
  // Runs fn after a disk latency, unless the disk crashed meanwhile.
  void Later(std::function<void()> fn);
  // Runs fn after a read's latency (longer while reads stall), unless it crashed meanwhile.
  void LaterRead(std::function<void()> fn);
  // A sync after the flush latency: fails and fences the disk if an fsync failure was
  // armed; otherwise runs commit. done gets the outcome.
  void Sync(std::function<void()> commit, std::function<void(Status)> done);
  Status Fenced() const;  // the error every operation gets once fenced
  // After a crash: a new incarnation (nothing in flight completes), no fence, no faults
  // of the old process.
  void Restarted();

  SimWorld* world_;
  std::string name_;
  uint32_t bs_;
  std::function<void()> on_fence_;
  std::function<void(const std::set<uint64_t>&)> on_lost_;
  uint64_t slow_lo_ = 0, slow_hi_ = 0;
  bool alive_ = true;
  bool write_errors_ = false;
  uint64_t read_stall_ = 0;
  uint64_t flush_lo_ = 0, flush_hi_ = 0;
  bool fail_flush_ = false;
  bool fenced_ = false;
  uint64_t incarnation_ = 0;
};

}  // namespace cstor::sim
