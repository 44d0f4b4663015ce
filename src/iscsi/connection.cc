#include "iscsi/connection.h"

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "iscsi/target.h"

namespace cstor::iscsi {
namespace {

// Serial number arithmetic (RFC 1982) for CmdSN.
bool SnBefore(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

uint8_t CdbLength(uint8_t opcode) {
  switch (opcode >> 5) {
    case 0: return 6;
    case 1:
    case 2: return 10;
    case 5: return 12;
    default: return 16;
  }
}

enum Reason : uint8_t {
  kDataDigestError = 0x02,
  kProtocolError = 0x04,
  kCommandNotSupported = 0x05,
  kInvalidPduField = 0x09,
};

}  // namespace

Connection::Connection(Target* target, asio::ip::tcp::socket socket, uint64_t id)
    : target_(target),
      socket_(std::move(socket)),
      id_(id),
      login_(target->config()),
      parser_(8192),
      idle_timer_(socket_.get_executor()) {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  login_.set_tsih(target->NewTsih());
}

void Connection::Start() {
  last_heard_ = target_->NowMillis();
  ReadMore();
  ArmIdleTimer();
}

void Connection::Close(const std::string& why) {
  if (phase_ == Phase::kClosed) return;
  CSTOR_LOG_INFO("iscsi: connection {} from {} closed: {}", id_,
                 params().initiator_name.empty() ? "?" : params().initiator_name, why);
  phase_ = Phase::kClosed;
  asio::error_code ec;
  socket_.close(ec);
  idle_timer_.cancel();
  for (auto& [itt, t] : tasks_) t.aborted = true;
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self] { self->target_->ConnectionClosed(self.get()); });
}

void Connection::ReadMore() {
  if (phase_ == Phase::kClosed) return;
  if (in_end_ == in_.size()) {
    if (in_begin_ > 0) {  // make room by moving the unparsed tail to the front
      std::copy(in_.begin() + static_cast<ptrdiff_t>(in_begin_),
                in_.begin() + static_cast<ptrdiff_t>(in_end_), in_.begin());
      in_end_ -= in_begin_;
      in_begin_ = 0;
    } else {  // one PDU larger than the buffer
      in_.resize(in_.size() * 2);
    }
  }
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                          [self](asio::error_code ec, size_t n) {
                            if (ec) return self->Close(ec == asio::error::eof ? "initiator hung up" : ec.message());
                            self->in_end_ += n;
                            self->OnBytes();
                          });
}

void Connection::OnBytes() {
  last_heard_ = target_->NowMillis();
  ping_outstanding_ = false;
  while (phase_ != Phase::kClosed) {
    Pdu pdu;
    auto used = parser_.Parse(std::string_view(in_.data() + in_begin_, in_end_ - in_begin_), &pdu);
    if (!used.ok()) {
      if (used.status().Is(Code::kCorruption)) {
        Pdu bad;
        std::copy(in_.begin() + static_cast<ptrdiff_t>(in_begin_),
                  in_.begin() + static_cast<ptrdiff_t>(in_begin_ + kBhsSize), bad.bhs.begin());
        Reject(bad, kDataDigestError);  // ErrorRecoveryLevel 0: then the connection goes
      }
      Flush();
      return Close(used.status().message());
    }
    if (*used == 0) break;
    in_begin_ += *used;
    HandlePdu(std::move(pdu));
  }
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  ReadMore();
}

void Connection::HandlePdu(Pdu pdu) {
  if (phase_ == Phase::kLogin) return HandleLogin(pdu);
  HandleFullFeature(std::move(pdu));
}

void Connection::HandleLogin(const Pdu& pdu) {
  if (reinstating_) return Close("a PDU arrived before the login finished");
  if (pdu.opcode() != Opcode::kLogin) return Close("expected a Login Request");
  Pdu resp;
  Login::Outcome o = login_.Handle(pdu, &resp);
  if (o == Login::Outcome::kFullFeature && !login_.params().discovery) {
    // A normal session: an older one with our initiator port is reinstated, and this login
    // completes only once that session's tasks have finished at the device, so an
    // initiator that logs in again to fence its own old IO really has.
    nexus_ = fmt::format("{},i,0x{:012x}", login_.params().initiator_name, login_.isid());
    reinstating_ = true;
    std::weak_ptr<Connection> weak = shared_from_this();
    tsih_ = target_->SessionStarted(this, [weak, resp = std::move(resp)]() mutable {
      auto self = weak.lock();
      if (!self || self->phase_ != Phase::kLogin) return;
      self->reinstating_ = false;
      self->EnterFullFeature(std::move(resp));
    });
    return;
  }
  if (o == Login::Outcome::kFullFeature) return EnterFullFeature(std::move(resp));
  Send(std::move(resp), /*with_stat_sn=*/false);
  if (o == Login::Outcome::kFailed) {
    logout_after_send_ = true;
    return Flush();
  }
}

void Connection::EnterFullFeature(Pdu last_response) {
  Send(std::move(last_response), /*with_stat_sn=*/false);
  const SessionParams& p = login_.params();
  phase_ = Phase::kFullFeature;
  stat_sn_ = login_.stat_sn();
  exp_cmd_sn_ = login_.exp_cmd_sn();
  max_cmd_sn_ = exp_cmd_sn_ + target_->config().queue_depth - 1;
  nexus_ = fmt::format("{},i,0x{:012x}", p.initiator_name, login_.isid());
  Flush();  // the last Login Response goes without digests
  parser_.SetDigests(p.header_digest, p.data_digest);
  parser_.SetMaxData(target_->config().max_recv_data_segment);
  CSTOR_LOG_INFO("iscsi: {} session {} for {} (digests {}/{}, burst {}/{}, immediate {}, "
                 "initial R2T {})",
                 p.discovery ? "discovery" : "normal", tsih_, nexus_, p.header_digest,
                 p.data_digest, p.first_burst, p.max_burst, p.immediate_data, p.initial_r2t);
}

void Connection::HandleFullFeature(Pdu pdu) {
  switch (pdu.opcode()) {
    case Opcode::kDataOut: return DataOut(pdu);
    case Opcode::kNopOut:
      if (pdu.itt() == kReservedTag) return;  // the answer to our ping
      [[fallthrough]];
    case Opcode::kScsiCommand:
    case Opcode::kTaskManagement:
    case Opcode::kText:
    case Opcode::kLogout:
      if (pdu.immediate()) return Dispatch(std::move(pdu));
      return Sequence(std::move(pdu));
    case Opcode::kLogin:
      return Reject(pdu, kProtocolError);
    default:
      return Reject(pdu, kCommandNotSupported);
  }
}

void Connection::Sequence(Pdu pdu) {
  const uint32_t sn = pdu.u32(24);
  if (SnBefore(sn, exp_cmd_sn_) || SnBefore(max_cmd_sn_, sn)) {
    CSTOR_LOG_WARN("iscsi: {}: CmdSN {} outside the window [{}, {}]: dropped", nexus_, sn,
                   exp_cmd_sn_, max_cmd_sn_);
    return;
  }
  if (sn != exp_cmd_sn_) {
    waiting_.emplace(sn, std::move(pdu));
    return;
  }
  exp_cmd_sn_++;
  if (!AbortedAhead(pdu)) Dispatch(std::move(pdu));
  for (auto it = waiting_.find(exp_cmd_sn_); it != waiting_.end(); it = waiting_.find(exp_cmd_sn_)) {
    Pdu next = std::move(it->second);
    waiting_.erase(it);
    exp_cmd_sn_++;
    if (!AbortedAhead(next)) Dispatch(std::move(next));
  }
}

bool Connection::AbortedAhead(const Pdu& pdu) {
  auto it = aborted_ahead_.find(pdu.u32(24));
  if (it == aborted_ahead_.end()) return false;
  const bool same = it->second == pdu.itt();
  aborted_ahead_.erase(it);
  if (!same) return false;  // the abort named another task at this CmdSN: not this one
  CSTOR_LOG_INFO("iscsi: {}: command {:#x} (CmdSN {}) was aborted before it arrived: discarded",
                 nexus_, pdu.itt(), pdu.u32(24));
  OpenWindow();  // its CmdSN is consumed; MaxCmdSN moves with it
  return true;
}

void Connection::Dispatch(Pdu pdu) {
  if (phase_ == Phase::kClosed) return;
  switch (pdu.opcode()) {
    case Opcode::kScsiCommand:
      if (params().discovery) return Reject(pdu, kCommandNotSupported);
      return ScsiCommand(std::move(pdu));
    case Opcode::kNopOut: return NopOut(pdu);
    case Opcode::kTaskManagement: return TaskManagement(pdu);
    case Opcode::kText: return Text(pdu);
    case Opcode::kLogout: return Logout(pdu);
    default: return Reject(pdu, kCommandNotSupported);
  }
}

void Connection::ScsiCommand(Pdu pdu) {
  const uint32_t itt = pdu.itt();
  if (tasks_.contains(itt)) return Reject(pdu, kInvalidPduField);
  const SessionParams& p = params();
  Task& t = tasks_[itt];
  t.itt = itt;
  t.cmd_sn = pdu.u32(24);
  t.edtl = pdu.u32(20);
  t.read = pdu.flags() & 0x40;
  t.write = pdu.flags() & 0x20;
  std::copy(pdu.bhs.begin() + 32, pdu.bhs.begin() + 48, t.cmd.cdb.begin());
  t.cmd.cdb_length = CdbLength(t.cmd.cdb[0]);
  t.cmd.nexus = nexus_;
  t.lun_raw = pdu.u64(8);
  const bool bad_data = !pdu.data.empty() &&
                        (!t.write || !p.immediate_data || pdu.data.size() > p.first_burst ||
                         pdu.data.size() > t.edtl);
  if (bad_data) {
    tasks_.erase(itt);
    return Reject(pdu, kProtocolError);
  }
  const uint32_t limit = target_->lun().max_transfer_bytes() + 64 * 1024;
  if (t.write && t.edtl > limit) {
    // More than any command may carry: refuse without collecting it.
    t.write = false;
    t.refused = true;
  } else if (t.write) {
    t.cmd.data_out = std::move(pdu.data);
    t.cmd.data_out.reserve(t.edtl);
    t.received = static_cast<uint32_t>(t.cmd.data_out.size());
    const bool unsolicited_follows = !(pdu.flags() & 0x80) && !p.initial_r2t;
    t.r2t_offset = unsolicited_follows ? std::min(t.edtl, p.first_burst) : t.received;
    t.unsolicited_end = t.r2t_offset;
  }
  if (!t.write || t.received >= t.edtl) return Run(itt);
  SendR2Ts(t);
}

void Connection::DataOut(const Pdu& pdu) {
  auto it = tasks_.find(pdu.itt());
  if (it == tasks_.end()) return;  // an aborted task's data
  Task& t = it->second;
  const uint32_t ttt = pdu.u32(20), offset = pdu.u32(40);
  if (!t.write || t.running || offset != t.received ||
      t.received + pdu.data.size() > t.edtl ||
      (ttt == kReservedTag && offset + pdu.data.size() > t.unsolicited_end)) {
    CSTOR_LOG_WARN("iscsi: {}: bad Data-Out for task {:#x} (offset {}, {} bytes, have {} of {})",
                   nexus_, t.itt, offset, pdu.data.size(), t.received, t.edtl);
    return Reject(pdu, kProtocolError);
  }
  // Each sequence numbers its PDUs from 0. At ErrorRecoveryLevel 0 a gap or a repeat is not
  // recovered: the command ends with ABORTED COMMAND (the initiator retries it) and the
  // rest of its data is dropped on arrival.
  if (t.sequence_done || ttt != t.sequence_ttt) {
    t.sequence_ttt = ttt;
    t.next_data_sn = 0;
  }
  const uint32_t data_sn = pdu.u32(36);
  if (data_sn != t.next_data_sn) {
    CSTOR_LOG_WARN("iscsi: {}: Data-Out for task {:#x} has DataSN {}, expected {}", nexus_, t.itt,
                   data_sn, t.next_data_sn);
    return Complete(t.itt, scsi::Response::Check(scsi::Sense::DataPhaseError()));
  }
  t.next_data_sn++;
  t.sequence_done = pdu.final();
  t.cmd.data_out.append(pdu.data);
  t.received += static_cast<uint32_t>(pdu.data.size());
  if (ttt != kReservedTag && pdu.final()) {
    if (ttt_.erase(ttt) && t.r2t_outstanding > 0) t.r2t_outstanding--;
  }
  if (t.received >= t.edtl) return Run(t.itt);
  SendR2Ts(t);
}

void Connection::SendR2Ts(Task& t) {
  const SessionParams& p = params();
  while (t.r2t_outstanding < p.max_outstanding_r2t && t.r2t_offset < t.edtl) {
    const uint32_t length = std::min(p.max_burst, t.edtl - t.r2t_offset);
    uint32_t ttt = next_ttt_++;
    if (ttt == kReservedTag) ttt = next_ttt_++;
    Pdu r2t = Pdu::Make(Opcode::kR2T, 0x80);
    r2t.set_u64(8, t.lun_raw);
    r2t.set_u32(16, t.itt);
    r2t.set_u32(20, ttt);
    r2t.set_u32(36, t.r2t_sn++);
    r2t.set_u32(40, t.r2t_offset);
    r2t.set_u32(44, length);
    ttt_[ttt] = t.itt;
    t.r2t_offset += length;
    t.r2t_outstanding++;
    Send(std::move(r2t), /*with_stat_sn=*/false);
  }
}

void Connection::Run(uint32_t itt) {
  Task& t = tasks_.at(itt);
  t.running = true;
  if (t.refused) {
    return Complete(itt, scsi::Response::Check(scsi::Sense::InvalidFieldInCdb(t.cmd.cdb_length == 6 ? 4 : 7)));
  }
  if (t.lun_raw != 0) {
    // Only LUN 0 exists: INQUIRY says so (peripheral qualifier 011b), REPORT LUNS lists it,
    // everything else is refused.
    const uint8_t op = t.cmd.opcode();
    if (op == 0x12 && !(t.cmd.cdb[1] & 0x01)) {
      std::string d(36, '\0');
      d[0] = 0x7f;
      d[2] = 0x06;
      d[3] = 0x12;
      d[4] = 31;
      return Complete(itt, scsi::Response::Good(std::move(d)));
    }
    if (op != 0xa0 && op != 0x03) return Complete(itt, scsi::Response::Check(scsi::Sense::LunNotSupported()));
  }
  std::weak_ptr<Connection> weak = shared_from_this();
  target_->lun().Execute(std::move(t.cmd), [weak, itt](scsi::Response r) {
    if (auto self = weak.lock()) self->Complete(itt, std::move(r));
  });
}

void Connection::Complete(uint32_t itt, scsi::Response r) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  Task t = std::move(it->second);
  tasks_.erase(it);
  TaskSettled(itt);
  for (auto i = ttt_.begin(); i != ttt_.end();) i = i->second == itt ? ttt_.erase(i) : std::next(i);
  OpenWindow();  // before the first PDU that carries MaxCmdSN, and for aborted tasks too
  if (t.aborted || phase_ == Phase::kClosed) return FinishAbortsIfIdle();
  const uint32_t edtl = t.edtl;
  // What the initiator expected against what the command moved.
  // Residuals compare the initiator's expected length with what the CDB moves.
  const auto transfer = scsi::TransferBytes(t.cmd);
  uint64_t moved = t.read ? r.data.size() : transfer.value_or(0);
  if (!t.read || r.status != scsi::ScsiStatus::kGood) r.data.clear();
  if (t.read && r.status != scsi::ScsiStatus::kGood) moved = 0;
  uint8_t residual_flags = 0;
  uint32_t residual = 0;
  if (t.read || t.write || transfer) {
    if (moved < edtl) residual_flags = 0x02, residual = static_cast<uint32_t>(edtl - moved);
    if (moved > edtl) residual_flags = 0x04, residual = static_cast<uint32_t>(moved - edtl);
  }
  uint32_t data_sn = 0;
  if (t.read && !r.data.empty() && edtl > 0) {
    const std::string_view data = std::string_view(r.data).substr(0, edtl);
    const uint32_t chunk = params().max_recv_data_segment;
    for (uint32_t at = 0; at < data.size(); at += chunk) {
      const bool last = at + chunk >= data.size();
      Pdu in = Pdu::Make(Opcode::kDataIn, last ? 0x80 : 0);
      in.set_u64(8, t.lun_raw);
      in.set_u32(16, itt);
      in.set_u32(20, kReservedTag);
      in.set_u32(36, data_sn++);
      in.set_u32(40, at);
      in.data.assign(data.substr(at, chunk));
      if (last && r.status == scsi::ScsiStatus::kGood) {
        in.bhs[1] |= 0x01 | residual_flags;  // S: status in the last Data-In
        in.bhs[3] = static_cast<uint8_t>(r.status);
        in.set_u32(44, residual);
        Send(std::move(in), true);
        return FinishAbortsIfIdle();
      }
      Send(std::move(in), false);
    }
  }
  Pdu resp = Pdu::Make(Opcode::kScsiResponse, static_cast<uint8_t>(0x80 | residual_flags));
  resp.bhs[3] = static_cast<uint8_t>(r.status);
  resp.set_u32(16, itt);
  resp.set_u32(36, t.read ? data_sn : t.r2t_sn);
  resp.set_u32(44, residual);
  if (r.sense) {
    std::string sense = r.sense->Encode();
    resp.data.assign(2, '\0');
    resp.data[0] = static_cast<char>(sense.size() >> 8);
    resp.data[1] = static_cast<char>(sense.size());
    resp.data += sense;
  }
  Send(std::move(resp), true);
  FinishAbortsIfIdle();
}

void Connection::OpenWindow() {
  // A finished command frees a slot; the window never shrinks.
  const uint32_t open = exp_cmd_sn_ + target_->config().queue_depth - 1 -
                        static_cast<uint32_t>(tasks_.size());
  if (SnBefore(max_cmd_sn_, open)) max_cmd_sn_ = open;
}

void Connection::NopOut(const Pdu& pdu) {
  Pdu in = Pdu::Make(Opcode::kNopIn, 0x80);
  in.set_u64(8, pdu.u64(8));
  in.set_u32(16, pdu.itt());
  in.set_u32(20, kReservedTag);
  in.data = pdu.data;
  Send(std::move(in), true);
}

void Connection::TaskManagement(const Pdu& pdu) {
  const uint8_t function = pdu.flags() & 0x7f;
  Pdu resp = Pdu::Make(Opcode::kTaskManagementResponse, 0x80);
  resp.set_u32(16, pdu.itt());
  std::set<uint32_t> waiting;
  std::shared_ptr<bool> others_settled;
  auto abort = [&](Task& t) {
    t.aborted = true;
    if (t.running) {
      waiting.insert(t.itt);
    }
  };
  const bool lun_scoped = function == 1 || function == 2 || function == 4 || function == 5;
  uint8_t response = 0;
  if (lun_scoped && pdu.u64(8) != 0) {
    response = 2;  // LUN does not exist
  } else if (function == 1) {  // ABORT TASK
    auto it = tasks_.find(pdu.u32(20));
    if (it != tasks_.end()) {
      abort(it->second);
    } else {
      // Not running here. If its CmdSN is still ahead (not received, or waiting for a gap)
      // it is aborted before it arrives: FUNCTION COMPLETE, and it must never run (RFC 7143
      // 11.5.1). Otherwise it finished already, or never existed.
      const uint32_t ref = pdu.u32(32);
      const bool in_window = !SnBefore(ref, exp_cmd_sn_) && !SnBefore(max_cmd_sn_, ref);
      if (in_window) aborted_ahead_[ref] = pdu.u32(20);
      response = in_window ? 0 : 1;
    }
  } else if (function == 2 || function == 4) {  // ABORT TASK SET, CLEAR TASK SET
    for (auto& [itt, t] : tasks_) abort(t);
  } else if (function == 5 || function == 6 || function == 7) {  // LUN / TARGET RESET
    for (auto& [itt, t] : tasks_) abort(t);
    // The answer waits for every session's aborted tasks to settle at the device: an
    // initiator fencing others relies on their writes being over when it hears back.
    others_settled = std::make_shared<bool>(false);
    std::weak_ptr<Connection> weak = shared_from_this();
    target_->ResetAll(this, [weak, flag = others_settled] {
      *flag = true;
      if (auto self = weak.lock()) self->FinishAbortsIfIdle();
    });
  } else if (function == 8) {
    response = 4;  // task reassignment needs ErrorRecoveryLevel 2
  } else {
    response = 5;  // function not supported
  }
  // Tasks not yet running go now; running ones answer nothing and hold the response.
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.aborted && !it->second.running) {
      for (auto i = ttt_.begin(); i != ttt_.end();) i = i->second == it->first ? ttt_.erase(i) : std::next(i);
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
  OpenWindow();  // the tasks dropped free their slots
  resp.bhs[2] = response;
  if (function == 7 && response == 0) logout_after_send_ = true;  // cold reset drops us too
  pending_tmf_.push_back({std::move(resp), std::move(waiting), std::move(others_settled)});
  FinishAbortsIfIdle();
}

void Connection::FinishAbortsIfIdle() {
  for (auto it = pending_tmf_.begin(); it != pending_tmf_.end();) {
    std::erase_if(it->own, [&](uint32_t itt) { return !tasks_.contains(itt); });
    if (!it->own.empty() || (it->others_settled && !*it->others_settled)) {
      ++it;
      continue;
    }
    Pdu resp = std::move(it->response);
    it = pending_tmf_.erase(it);
    Send(std::move(resp), true);
  }
}

void Connection::WhenSettled(std::function<void()> settled) {
  std::set<uint32_t> running;
  for (const auto& [itt, t] : tasks_) {
    if (t.running) running.insert(itt);
  }
  if (running.empty()) return settled();
  settle_waiters_.emplace_back(std::move(running),
                               [self = shared_from_this(), settled = std::move(settled)] { settled(); });
}

void Connection::TaskSettled(uint32_t itt) {
  std::vector<std::function<void()>> ready;
  for (auto it = settle_waiters_.begin(); it != settle_waiters_.end();) {
    it->first.erase(itt);
    if (it->first.empty()) {
      ready.push_back(std::move(it->second));
      it = settle_waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : ready) fn();  // may drop the last reference to this connection
}

void Connection::AbortAll() {
  for (auto& [itt, t] : tasks_) t.aborted = true;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    it = it->second.running ? std::next(it) : tasks_.erase(it);
  }
  ttt_.clear();
  OpenWindow();
}

void Connection::Text(const Pdu& pdu) {
  Pdu resp = Pdu::Make(Opcode::kTextResponse, 0x80);
  resp.set_u32(16, pdu.itt());
  resp.set_u32(20, kReservedTag);
  auto keys = ParseText(pdu.data);
  if (!keys.ok() || (pdu.flags() & 0x40)) return Reject(pdu, kProtocolError);
  TextPairs reply;
  for (const auto& [k, v] : *keys) {
    if (k == "SendTargets") {
      if (v == "All" || v.empty() || v == target_->config().name) {
        reply.emplace_back("TargetName", target_->config().name);
        reply.emplace_back("TargetAddress", target_->config().portal + ",1");
      }
    } else {
      reply.emplace_back(k, "NotUnderstood");
    }
  }
  resp.data = EncodeText(reply);
  Send(std::move(resp), true);
}

void Connection::Logout(const Pdu& pdu) {
  const uint8_t reason = pdu.flags() & 0x7f;
  Pdu resp = Pdu::Make(Opcode::kLogoutResponse, 0x80);
  resp.set_u32(16, pdu.itt());
  resp.bhs[2] = reason == 2 ? 2 : 0;  // connection recovery needs ErrorRecoveryLevel 2
  Send(std::move(resp), true);
  if (reason != 2) {
    AbortAll();
    target_->lun().NexusGone(nexus_);
    logout_after_send_ = true;
  }
}

void Connection::Reject(const Pdu& pdu, uint8_t reason) {
  CSTOR_LOG_WARN("iscsi: {}: rejecting a PDU with opcode {:#04x} (reason {:#04x})",
                 nexus_.empty() ? "?" : nexus_, static_cast<int>(pdu.opcode()), reason);
  Pdu r = Pdu::Make(Opcode::kReject, 0x80);
  r.bhs[2] = reason;
  r.set_u32(16, kReservedTag);
  r.data.assign(reinterpret_cast<const char*>(pdu.bhs.data()), kBhsSize);
  Send(std::move(r), phase_ == Phase::kFullFeature);
}

void Connection::Send(Pdu pdu, bool with_stat_sn) {
  if (phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kFullFeature) {
    const Opcode op = pdu.opcode();
    if (with_stat_sn) {
      pdu.set_u32(24, stat_sn_++);
    } else if (op != Opcode::kDataIn) {
      pdu.set_u32(24, stat_sn_);
    }
    pdu.set_u32(28, exp_cmd_sn_);
    pdu.set_u32(32, max_cmd_sn_);
  }
  const bool digests = phase_ == Phase::kFullFeature;
  pdu.AppendTo(&out_, digests && params().header_digest, digests && params().data_digest);
  if (!flush_posted_) {
    flush_posted_ = true;
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self] {
      self->flush_posted_ = false;
      self->Flush();
    });
  }
}

void Connection::Flush() {
  if (write_in_progress_ || phase_ == Phase::kClosed) return;
  if (out_.empty()) {
    if (logout_after_send_) Close("logged out");
    return;
  }
  write_in_progress_ = true;
  std::swap(out_, writing_);
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(writing_), [self](asio::error_code ec, size_t) {
    self->write_in_progress_ = false;
    self->writing_.clear();
    if (ec) return self->Close(ec.message());
    self->Flush();
  });
}

void Connection::ArmIdleTimer() {
  idle_timer_.expires_after(std::chrono::seconds(1));
  auto self = shared_from_this();
  idle_timer_.async_wait([self](asio::error_code ec) {
    if (ec || self->phase_ == Phase::kClosed) return;
    const auto& c = self->target_->config();
    const uint64_t idle = self->target_->NowMillis() - self->last_heard_;
    if (self->phase_ == Phase::kLogin && idle > 1000ull * c.nop_timeout_seconds) {
      return self->Close("login did not finish");
    }
    if (self->phase_ == Phase::kFullFeature) {
      if (idle > 1000ull * (c.nop_interval_seconds + c.nop_timeout_seconds)) {
        return self->Close("the initiator stopped answering pings");
      }
      if (idle > 1000ull * c.nop_interval_seconds && !self->ping_outstanding_) {
        Pdu ping = Pdu::Make(Opcode::kNopIn, 0x80);
        ping.set_u32(16, kReservedTag);
        ping.set_u32(20, self->next_ttt_++);
        self->ping_outstanding_ = true;
        self->Send(std::move(ping), false);
      }
    }
    self->ArmIdleTimer();
  });
}

}  // namespace cstor::iscsi
