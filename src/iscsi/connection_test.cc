// The transport end to end on loopback: a Target over a memory device, driven by a raw
// PDU client, for the CmdSN and task-management rules that libiscsi cannot provoke.
#include <gtest/gtest.h>
#include <poll.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <deque>
#include <mutex>

#include "bdev/memory_device.h"
#include "iscsi/target.h"

namespace cstor::iscsi {
namespace {

// A memory device whose writes can be held: their callbacks wait until Release, as a
// replicated write waits for its replicas.
class HoldingDevice final : public bdev::BlockDevice {
 public:
  HoldingDevice() : inner_(1 << 20, "hold") {}
  bdev::DeviceInfo Info() const override { return inner_.Info(); }
  void Read(uint64_t offset, uint32_t length, ReadDone done) override {
    inner_.Read(offset, length, std::move(done));
  }
  void Write(uint64_t offset, std::string data, bool fua, Done done) override {
    {
      std::lock_guard lock(mu_);
      if (holding_) {
        held_.push_back([this, offset, data = std::move(data), fua, done = std::move(done)]() mutable {
          inner_.Write(offset, std::move(data), fua, std::move(done));
        });
        return;
      }
    }
    inner_.Write(offset, std::move(data), fua, std::move(done));
  }
  void Unmap(uint64_t offset, uint64_t length, Done done) override {
    inner_.Unmap(offset, length, std::move(done));
  }
  void Flush(Done done) override { inner_.Flush(std::move(done)); }

  void Hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Completes the held writes (on the caller's thread) and stops holding.
  void Release() {
    std::deque<std::function<void()>> run;
    {
      std::lock_guard lock(mu_);
      holding_ = false;
      run.swap(held_);
    }
    for (auto& fn : run) fn();
  }

 private:
  bdev::MemoryDevice inner_;
  std::mutex mu_;
  bool holding_ = false;
  std::deque<std::function<void()>> held_;
};

// One initiator session over a blocking socket; receives time out after `timeout_ms`.
class Initiator {
 public:
  Initiator(const std::string& portal, uint64_t isid) : socket_(io_) {
    const size_t colon = portal.rfind(':');
    asio::ip::tcp::endpoint ep(asio::ip::make_address(portal.substr(0, colon)),
                               static_cast<uint16_t>(std::stoi(portal.substr(colon + 1))));
    socket_.connect(ep);
    SetTimeout(2000);
    Pdu p = LoginPdu(isid, 0, 1, {{"InitiatorName", "iqn.2026-01.test:init"},
                                  {"TargetName", kTargetName},
                                  {"SessionType", "Normal"},
                                  {"AuthMethod", "None"}});
    SendPdu(p);
    Pdu r = Receive().value();
    EXPECT_EQ(r.opcode(), Opcode::kLoginResponse);
    EXPECT_EQ(r.bhs[36], 0) << "login refused";
    SendPdu(LoginPdu(isid, 1, 3, {{"HeaderDigest", "None"}, {"DataDigest", "None"},
                                  {"ImmediateData", "Yes"}, {"InitialR2T", "No"}}));
  }
  // The answer to the final login request (it may be held back by a reinstatement).
  std::optional<Pdu> FinishLogin(int timeout_ms = 2000) {
    SetTimeout(timeout_ms);
    return Receive();
  }

  static constexpr const char* kTargetName = "iqn.2016-09.com.openebs.cstor:test";

  void SendPdu(const Pdu& p) {
    std::string wire;
    p.AppendTo(&wire, false, false);
    asio::write(socket_, asio::buffer(wire));
  }
  // A SCSI command; a write carries its data as immediate data.
  void Command(uint32_t itt, uint32_t cmd_sn, std::initializer_list<uint8_t> cdb,
               std::string data = {}, uint32_t read_length = 0) {
    Pdu p = Pdu::Make(Opcode::kScsiCommand,
                      static_cast<uint8_t>(0x80 | (data.empty() ? 0 : 0x20) | (read_length ? 0x40 : 0)));
    p.set_u32(16, itt);
    p.set_u32(20, data.empty() ? read_length : static_cast<uint32_t>(data.size()));
    p.set_u32(24, cmd_sn);
    std::copy(cdb.begin(), cdb.end(), p.bhs.begin() + 32);
    p.data = std::move(data);
    SendPdu(p);
  }
  // Task management, sent immediate; `ref_itt`/`ref_cmd_sn` name the task for ABORT TASK.
  void TaskManagement(uint8_t function, uint32_t itt, uint32_t cmd_sn, uint32_t ref_itt = kReservedTag,
                      uint32_t ref_cmd_sn = 0) {
    Pdu p = Pdu::Make(Opcode::kTaskManagement, static_cast<uint8_t>(0x80 | function));
    p.bhs[0] |= 0x40;
    p.set_u32(16, itt);
    p.set_u32(20, ref_itt);
    p.set_u32(24, cmd_sn);
    p.set_u32(32, ref_cmd_sn);
    SendPdu(p);
  }
  // The next PDU, or nothing if none arrives within the timeout.
  std::optional<Pdu> Receive() {
    PduParser parser(1 << 20);
    while (true) {
      Pdu p;
      auto used = parser.Parse(buffer_, &p);
      if (!used.ok()) return std::nullopt;
      if (*used > 0) {
        buffer_.erase(0, *used);
        return p;
      }
      // asio's blocking read waits on its own (ignoring SO_RCVTIMEO): poll first.
      pollfd pfd{socket_.native_handle(), POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms_) <= 0) return std::nullopt;
      char chunk[65536];
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec) return std::nullopt;
      buffer_.append(chunk, n);
    }
  }
  // The next PDU that is not a NOP-In ping.
  std::optional<Pdu> ReceiveAnswer(int timeout_ms = 2000) {
    SetTimeout(timeout_ms);
    for (int i = 0; i < 16; i++) {
      auto p = Receive();
      if (!p || p->opcode() != Opcode::kNopIn || p->itt() != kReservedTag) return p;
    }
    return std::nullopt;
  }

 private:
  static Pdu LoginPdu(uint64_t isid, uint8_t csg, uint8_t nsg, const TextPairs& keys) {
    Pdu p = Pdu::Make(Opcode::kLogin, static_cast<uint8_t>(0x80 | csg << 2 | nsg));
    p.bhs[0] |= 0x40;
    for (int i = 0; i < 6; i++) p.bhs[8 + i] = static_cast<uint8_t>(isid >> (40 - 8 * i));
    p.set_u32(16, 0x1000);
    p.set_u32(24, 1);  // CmdSN: the first command will carry 1
    p.data = EncodeText(keys);
    return p;
  }
  void SetTimeout(int ms) { timeout_ms_ = ms; }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string buffer_;
  int timeout_ms_ = 2000;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TargetConfig c;
    c.name = Initiator::kTargetName;
    c.portal = "127.0.0.1:0";
    c.queue_depth = 16;
    auto t = Target::Start(c, &device_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    target_ = std::move(*t);
  }
  void TearDown() override {
    device_.Release();
    if (target_) target_->Stop();
  }
  std::unique_ptr<Initiator> Connect(uint64_t isid) {
    auto i = std::make_unique<Initiator>(target_->config().portal, isid);
    auto r = i->FinishLogin();
    EXPECT_TRUE(r && r->opcode() == Opcode::kLoginResponse && r->bhs[36] == 0);
    return i;
  }
  // Waits (bounded) until the device holds `n` writes.
  bool WaitHeld(size_t n) {
    for (int i = 0; i < 200 && device_.held() < n; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return device_.held() >= n;
  }

  HoldingDevice device_;
  std::unique_ptr<Target> target_;
};

constexpr std::initializer_list<uint8_t> kWrite1 = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
constexpr std::initializer_list<uint8_t> kRead1 = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};

// RFC 7143 11.5.1: ABORT TASK for a command the target has not received yet (its CmdSN is
// in a gap) is FUNCTION COMPLETE, and the command, when it arrives, is not executed; its
// CmdSN still counts, so the window moves on.
TEST_F(ConnectionTest, AbortTaskForACommandStillInTheGapDiscardsIt) {
  auto a = Connect(0x400000000001);
  a->Command(/*itt=*/0x20, /*cmd_sn=*/2, kWrite1, std::string(512, 'x'));  // waits for CmdSN 1
  a->TaskManagement(/*ABORT TASK*/ 1, /*itt=*/0x30, /*cmd_sn=*/1, /*ref_itt=*/0x20, /*ref_cmd_sn=*/2);
  auto tmf = a->ReceiveAnswer();
  ASSERT_TRUE(tmf);
  ASSERT_EQ(tmf->opcode(), Opcode::kTaskManagementResponse);
  EXPECT_EQ(tmf->bhs[2], 0);  // function complete
  a->Command(0x21, 1, kRead1, {}, 512);  // fills the gap
  a->Command(0x22, 3, kRead1, {}, 512);  // after the aborted one: must not stall
  std::map<uint32_t, std::string> data;
  std::set<uint32_t> answered;
  for (int i = 0; i < 8 && answered.size() < 2; i++) {
    auto p = a->ReceiveAnswer();
    ASSERT_TRUE(p) << "no answer; answered so far: " << answered.size();
    ASSERT_NE(p->itt(), 0x20u) << "the aborted write was executed and answered";
    if (p->opcode() == Opcode::kDataIn) data[p->itt()] += p->data;
    if (p->opcode() == Opcode::kScsiResponse || (p->opcode() == Opcode::kDataIn && (p->flags() & 0x01))) {
      answered.insert(p->itt());
      if (p->itt() == 0x22) {
        EXPECT_EQ(p->u32(28), 4u);  // ExpCmdSN: 1, 2 (aborted) and 3 all counted
      }
    }
  }
  EXPECT_EQ(answered, (std::set<uint32_t>{0x21, 0x22}));
  EXPECT_EQ(data[0x22], std::string(512, '\0')) << "the aborted write reached the device";
}

// The same when the command has not been sent at all when the abort comes.
TEST_F(ConnectionTest, AbortTaskForACommandNotYetSentDiscardsIt) {
  auto a = Connect(0x400000000002);
  a->TaskManagement(1, 0x30, 1, /*ref_itt=*/0x20, /*ref_cmd_sn=*/1);
  auto tmf = a->ReceiveAnswer();
  ASSERT_TRUE(tmf);
  EXPECT_EQ(tmf->bhs[2], 0);
  a->Command(0x20, 1, kWrite1, std::string(512, 'x'));
  a->Command(0x21, 2, kRead1, {}, 512);
  std::string read;
  for (int i = 0; i < 4; i++) {
    auto p = a->ReceiveAnswer();
    ASSERT_TRUE(p) << "the read after the aborted write did not run";
    ASSERT_NE(p->itt(), 0x20u) << "the aborted write was executed and answered";
    if (p->opcode() == Opcode::kDataIn) read += p->data;
    if (p->opcode() == Opcode::kScsiResponse || (p->flags() & 0x01)) break;
  }
  EXPECT_EQ(read, std::string(512, '\0'));
}

// LUN RESET and TARGET WARM RESET fence other initiators: the answer may only go once the
// writes other sessions had in flight have finished at the device, and those writes are
// not answered.
TEST_F(ConnectionTest, ResetAnswersOnlyAfterOtherSessionsWritesSettle) {
  uint64_t isid = 0x400000000010;
  for (uint8_t function : {uint8_t{5}, uint8_t{6}}) {  // LOGICAL UNIT RESET, TARGET WARM RESET
    SCOPED_TRACE(function == 5 ? "LUN RESET" : "TARGET WARM RESET");
    auto a = Connect(isid++);
    auto b = Connect(isid++);
    device_.Hold();
    a->Command(0x40, 1, kWrite1, std::string(512, 'w'));
    ASSERT_TRUE(WaitHeld(1));
    b->TaskManagement(function, 0x50, 1);
    auto early = b->ReceiveAnswer(/*timeout_ms=*/300);
    EXPECT_FALSE(early) << "the reset was answered while another session's write was in flight";
    device_.Release();
    auto tmf = early ? early : b->ReceiveAnswer();
    ASSERT_TRUE(tmf);
    EXPECT_EQ(tmf->opcode(), Opcode::kTaskManagementResponse);
    EXPECT_EQ(tmf->bhs[2], 0);
    auto stray = a->ReceiveAnswer(/*timeout_ms=*/200);
    EXPECT_FALSE(stray && stray->itt() == 0x40) << "the aborted write was answered";
  }
}

// Session reinstatement (a login with the ISID of a live session) completes only once the
// old session's writes have finished at the device.
TEST_F(ConnectionTest, ReinstatementWaitsForTheOldSessionsWrites) {
  auto a = Connect(0x400000000020);
  device_.Hold();
  a->Command(0x40, 1, kWrite1, std::string(512, 'w'));
  ASSERT_TRUE(WaitHeld(1));
  Initiator again(target_->config().portal, 0x400000000020);
  auto early = again.FinishLogin(/*timeout_ms=*/300);
  EXPECT_FALSE(early) << "the new login completed while the old session's write was in flight";
  device_.Release();
  auto done = early ? early : again.FinishLogin();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->opcode(), Opcode::kLoginResponse);
  EXPECT_EQ(done->bhs[36], 0);
  again.Command(0x41, 1, kRead1, {}, 512);
  auto r = again.ReceiveAnswer();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, std::string(512, 'w'));  // the old session's write settled before
}

// The usual reinstatement: the old connection is already gone (the initiator saw it fail)
// while its write is still at the device. The new login waits for that write too.
TEST_F(ConnectionTest, ReinstatementWaitsForADroppedSessionsWrites) {
  auto a = Connect(0x400000000030);
  device_.Hold();
  a->Command(0x40, 1, kWrite1, std::string(512, 'w'));
  ASSERT_TRUE(WaitHeld(1));
  a.reset();  // the TCP connection closes
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Initiator again(target_->config().portal, 0x400000000030);
  auto early = again.FinishLogin(/*timeout_ms=*/300);
  EXPECT_FALSE(early) << "the new login completed while the dropped session's write was in flight";
  device_.Release();
  auto done = early ? early : again.FinishLogin();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->bhs[36], 0);
}

}  // namespace
}  // namespace cstor::iscsi
