// Connection: one initiator's TCP connection to the target, through login into the full
// feature phase (one connection per session: MaxConnections=1, ErrorRecoveryLevel=0).
// It orders commands by CmdSN within the window, collects Data-Out (immediate,
// unsolicited and solicited by R2T), hands complete commands to the logical unit, and
// returns Data-In and status with residuals. It answers NOP-Outs, pings an idle initiator
// and drops one that stops answering, carries out task management, Text (SendTargets) and
// Logout, and rejects what it does not understand.
//
// Threading: everything runs on the target's event loop.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "iscsi/login.h"
#include "iscsi/pdu.h"
#include "scsi/logical_unit.h"

namespace cstor::iscsi {

class Target;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Target* target, asio::ip::tcp::socket socket, uint64_t id);
  void Start();
  // Closes the socket; tasks in flight finish silently.
  void Close(const std::string& why);
  // LUN or target reset from another session: abort every task, answer nothing for them.
  void AbortAll();
  // Calls `settled` (on the loop) once every task now running at the logical unit has
  // finished there, its device callbacks run: at once if none is. Keeps this connection
  // alive (closed or not) until then, so those completions are still seen.
  void WhenSettled(std::function<void()> settled);

  uint64_t id() const { return id_; }
  bool full_feature() const { return phase_ == Phase::kFullFeature; }
  const std::string& nexus() const { return nexus_; }
  const SessionParams& params() const { return login_.params(); }
  uint64_t isid() const { return login_.isid(); }
  uint16_t tsih() const { return tsih_; }

 private:
  enum class Phase { kLogin, kFullFeature, kClosed };
  struct Task {
    uint32_t itt;
    uint32_t cmd_sn;
    uint32_t edtl;
    bool read, write;
    scsi::Command cmd;
    uint32_t received = 0;       // Data-Out bytes so far
    uint32_t r2t_offset = 0;     // next byte to solicit
    uint32_t r2t_outstanding = 0;
    uint32_t r2t_sn = 0;
    uint32_t next_ttt = 0;
    uint32_t unsolicited_end = 0;  // Data-Out without an R2T may fill up to here
    // The Data-Out sequence under way (one per R2T, plus the unsolicited one): its target
    // transfer tag, the DataSN its next PDU must carry, and whether its last PDU came.
    uint32_t sequence_ttt = 0;
    uint32_t next_data_sn = 0;
    bool sequence_done = true;
    uint64_t lun_raw = 0;
    bool refused = false;  // more data than any command may carry: answered, not collected
    bool running = false;
    bool aborted = false;
  };

  void ReadMore();
  void OnBytes();
  void HandlePdu(Pdu pdu);
  void HandleLogin(const Pdu& pdu);
  // Sends the last Login Response and enters the full feature phase.
  void EnterFullFeature(Pdu last_response);
  void HandleFullFeature(Pdu pdu);
  // Non-immediate commands wait here until every earlier CmdSN has arrived.
  void Sequence(Pdu pdu);
  void Dispatch(Pdu pdu);
  // True (and forgets it) if this command was aborted before it arrived.
  bool AbortedAhead(const Pdu& pdu);
  void ScsiCommand(Pdu pdu);
  void DataOut(const Pdu& pdu);
  void SendR2Ts(Task& t);
  void Run(uint32_t itt);
  void Complete(uint32_t itt, scsi::Response r);
  void OpenWindow();
  void NopOut(const Pdu& pdu);
  void TaskManagement(const Pdu& pdu);
  void Text(const Pdu& pdu);
  void Logout(const Pdu& pdu);
  void Reject(const Pdu& pdu, uint8_t reason);
  void Send(Pdu pdu, bool with_stat_sn = true);
  void Flush();
  void ArmIdleTimer();
  void FinishAbortsIfIdle();
  void TaskSettled(uint32_t itt);

  Target* target_;
  asio::ip::tcp::socket socket_;
  const uint64_t id_;
  Phase phase_ = Phase::kLogin;
  Login login_;
  PduParser parser_;
  // Received bytes: [in_begin_, in_end_) of in_ are not yet parsed. The buffer is reused
  // (never zero-filled per read) and grows only for a PDU larger than it.
  std::vector<char> in_ = std::vector<char>(64 * 1024);
  size_t in_begin_ = 0, in_end_ = 0;
  std::string out_, writing_;
  bool write_in_progress_ = false;
  bool flush_posted_ = false;
  std::string nexus_;
  uint16_t tsih_ = 0;
  uint32_t stat_sn_ = 0;
  uint32_t exp_cmd_sn_ = 0;
  uint32_t max_cmd_sn_ = 0;
  std::map<uint32_t, Pdu> waiting_;     // CmdSN -> command ahead of a gap
  // Commands aborted by ABORT TASK before they arrived (RefCmdSN in the window, task
  // unknown): CmdSN -> ITT. The command is discarded when it comes, its CmdSN still
  // counted. Bounded by the window: entries are CmdSNs in [ExpCmdSN, MaxCmdSN].
  std::map<uint32_t, uint32_t> aborted_ahead_;
  std::map<uint32_t, Task> tasks_;      // by ITT
  std::map<uint32_t, uint32_t> ttt_;    // outstanding R2T TTT -> ITT
  uint32_t next_ttt_ = 1;
  // Task management responses waiting for aborted tasks to finish: this session's, and for
  // resets every other session's too (others_settled turns true).
  struct PendingTmf {
    Pdu response;
    std::set<uint32_t> own;
    std::shared_ptr<bool> others_settled;
  };
  std::vector<PendingTmf> pending_tmf_;
  // WhenSettled callers: the ITTs still running at the logical unit, and what to call.
  std::vector<std::pair<std::set<uint32_t>, std::function<void()>>> settle_waiters_;
  // The last Login Response is held while an older session with our ISID settles.
  bool reinstating_ = false;
  asio::steady_timer idle_timer_;
  uint64_t last_heard_ = 0;
  bool ping_outstanding_ = false;
  bool logout_after_send_ = false;
};

}  // namespace cstor::iscsi
