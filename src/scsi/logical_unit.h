// LogicalUnit: one SCSI direct-access block device (SBC-3) over a bdev::BlockDevice. It
// parses CDBs, checks them against the command table (command_table.cc), runs the command
// on the device and answers with status, sense and Data-In.
//
// Threading: a LogicalUnit lives on one event loop. Execute and the task-management calls
// are made on it; completions are delivered on it (device callbacks, which may come from
// any thread, are brought back through `post`). The device must outlive the unit.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/range_lock.h"
#include "bdev/block_device.h"
#include "scsi/command.h"
#include "scsi/reservations.h"

namespace cstor::scsi {

struct LunOptions {
  std::string vendor = "OpenEBS";  // 8 characters at most
  std::string product = "cstor";   // 16
  std::string revision = "0001";   // 4
  // The SCSI name of the target port ("iqn...,t,0x0001"), for the device identification
  // page. Empty: not reported.
  std::string target_port_name;
  uint32_t max_transfer_blocks = 16384;  // 8 MiB per command
  bool read_only = false;
};

class LogicalUnit;

// A command in progress.
struct Task {
  Command cmd;
  Completion done;
};
using TaskPtr = std::shared_ptr<Task>;

struct CommandSpec {
  uint8_t opcode;
  int service_action;  // -1: the opcode has none
  const char* name;
  uint8_t cdb_length;
  // CDB usage data (SPC-4 6.35.3): for each byte, the bits this unit evaluates. A CDB with
  // a bit set outside it is refused with INVALID FIELD IN CDB.
  std::array<uint8_t, 16> usage;
  Access access;
  void (LogicalUnit::*run)(const TaskPtr&);
};

// The command table; also what REPORT SUPPORTED OPERATION CODES reports.
const std::vector<CommandSpec>& CommandTable();
const CommandSpec* FindCommand(uint8_t opcode, int service_action);
// The service action of a CDB whose opcode uses one, else -1.
int ServiceActionOf(const Command& cmd);
// The bytes a READ or WRITE CDB transfers (for the transport's residuals), if it is one.
std::optional<uint64_t> TransferBytes(const Command& cmd);

class LogicalUnit {
 public:
  using Post = std::function<void(std::function<void()>)>;

  LogicalUnit(bdev::BlockDevice* device, LunOptions options, Post post);

  void Execute(Command cmd, Completion done);

  // LOGICAL UNIT RESET and TARGET WARM/COLD RESET: SPC-2 reservations go, every nexus
  // given gets a POWER ON, RESET unit attention (persistent reservations survive, as they
  // must).
  void Reset(const std::vector<std::string>& nexuses);
  // A nexus logged out: its SPC-2 reservation goes.
  void NexusGone(const std::string& nexus);

  // The capacity as of the last command (the device may grow: see NoticeCapacity).
  uint64_t blocks() const { return size_ / bdev::kSectorSize; }
  uint32_t max_transfer_bytes() const { return options_.max_transfer_blocks * bdev::kSectorSize; }

  // ---- command handlers (listed in command_table.cc) ----
  void TestUnitReady(const TaskPtr& t);
  void RequestSense(const TaskPtr& t);
  void Inquiry(const TaskPtr& t);
  void ModeSense(const TaskPtr& t);
  void ModeSelect(const TaskPtr& t);
  void StartStopUnit(const TaskPtr& t);
  void PreventAllow(const TaskPtr& t);
  void Reserve(const TaskPtr& t);
  void Release(const TaskPtr& t);
  void ReadCapacity10(const TaskPtr& t);
  void ReadCapacity16(const TaskPtr& t);
  void Read(const TaskPtr& t);
  void Write(const TaskPtr& t);
  void Verify(const TaskPtr& t);
  void WriteSame(const TaskPtr& t);
  void Unmap(const TaskPtr& t);
  void GetLbaStatus(const TaskPtr& t);
  void CompareAndWrite(const TaskPtr& t);
  void SynchronizeCache(const TaskPtr& t);
  void PreFetch(const TaskPtr& t);
  void ReportLuns(const TaskPtr& t);
  void ReportSupportedOpcodes(const TaskPtr& t);
  void PersistentReserveIn(const TaskPtr& t);
  void PersistentReserveOut(const TaskPtr& t);

 private:
  struct Extent {
    uint64_t lba;
    uint64_t count;
  };
  // Reads and writes of any size, split into device calls of at most kMaxDeviceIo bytes.
  void DeviceRead(uint64_t lba, uint64_t count, std::function<void(Result<std::string>)> done);
  void DeviceWrite(uint64_t lba, std::string data, bool fua, std::function<void(Status)> done);
  void DeviceUnmap(std::vector<Extent> extents, std::function<void(Status)> done);
  // Checks lba + count against the capacity and the transfer limit; answers and returns
  // false when they fail.
  bool CheckRange(const TaskPtr& t, uint64_t lba, uint64_t count, bool limit_transfer = true);
  // Holds the blocks of an extent exclusively while `body` runs (COMPARE AND WRITE against
  // every other write), or shared (plain writes).
  void WithBlocks(uint64_t lba, uint64_t count, bool exclusive,
                  std::function<void(std::function<void()> release)> body);
  bool ReservationConflict(const Command& cmd, const CommandSpec& spec) const;
  std::string ModePages(uint8_t page, uint8_t subpage, uint8_t control, bool* found) const;
  std::string VpdPage(uint8_t page, bool* found) const;
  // Online resize: before each command, takes the device's current size; on a change,
  // every nexus that has used the unit gets CAPACITY DATA HAS CHANGED (once, however many
  // changes it missed). A nexus that has not has no older size to forget.
  void NoticeCapacity();
  void AddUnitAttention(const std::string& nexus, const Sense& s);
  void Finish(const TaskPtr& t, Response r);
  void FinishWithDeviceError(const TaskPtr& t, const Status& s, bool write);

  static constexpr uint64_t kMaxDeviceIo = 1 << 20;
  static constexpr uint32_t kMaxCompareAndWriteBlocks = 255;
  static constexpr uint32_t kMaxUnmapBlocks = 1 << 20;  // 512 MiB per command
  static constexpr uint32_t kMaxUnmapDescriptors = 256;
  static constexpr uint64_t kMaxWriteSameBlocks = 1 << 15;  // 16 MiB per command

  bdev::BlockDevice* device_;
  const LunOptions options_;
  const bdev::DeviceInfo info_;  // its size is the size at construction; see size_
  uint64_t size_;                 // bytes, as of the last command
  Post post_;
  bool write_cache_ = true;  // WCE; when off, every write is FUA
  RangeLock locks_;
  std::map<std::string, std::vector<Sense>> unit_attentions_;  // per nexus, oldest first
  std::set<std::string> nexuses_seen_;  // those that sent a command (for MODE SELECT's and
                                        // a resize's unit attentions)
  std::optional<std::string> spc2_holder_;  // RESERVE(6)/(10)
  Reservations pr_;
};

}  // namespace cstor::scsi
