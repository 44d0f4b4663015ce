// Target: an iSCSI target serving one logical unit (LUN 0) at one portal, on one event
// loop. It accepts connections, keeps the sessions (for reinstatement: a new login with the
// ISID of a live session replaces it), and runs task management that spans sessions.
#pragma once

#include <asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>

#include "base/result.h"
#include "iscsi/login.h"
#include "net/event_loop.h"
#include "scsi/logical_unit.h"

namespace cstor::iscsi {

class Connection;

class Target {
 public:
  // Listens on config.portal (port 0: any free port; config.portal is updated to the one
  // bound). The device must outlive the target. With `loop`, the target runs on that
  // (started) loop, shared with the device, instead of its own thread: a device whose
  // answers arrive on that loop then costs no thread hand-offs. A shared loop must outlive
  // the target, and the target must be stopped before the loop.
  static Result<std::unique_ptr<Target>> Start(TargetConfig config, bdev::BlockDevice* device,
                                               scsi::LunOptions lun_options = {},
                                               net::EventLoop* loop = nullptr);
  ~Target();
  void Stop();

  const TargetConfig& config() const { return config_; }
  std::string url() const;  // iscsi://host:port/iqn/0

  // ---- for connections, on the loop ----
  net::EventLoop& loop() { return *loop_; }
  scsi::LogicalUnit& lun() { return *lun_; }
  // A connection finished login into a normal session: reinstates (closes) an older
  // session with the same initiator and ISID, and answers the session's TSIH. `ready` is
  // called on the loop once the reinstated sessions' tasks have finished at the device (at
  // once if there are none).
  uint16_t SessionStarted(Connection* c, std::function<void()> ready);
  void ConnectionClosed(Connection* c);
  uint16_t NewTsih();
  // LUN RESET / TARGET RESET from `from`: aborts every task in every other session (their
  // answers are dropped) and resets the logical unit. `settled` is called on the loop once
  // those tasks have finished at the device (at once if none was running).
  void ResetAll(Connection* from, std::function<void()> settled);
  uint64_t NowMillis() const;

 private:
  Target(TargetConfig config, bdev::BlockDevice* device, scsi::LunOptions lun_options,
         net::EventLoop* loop);
  // Runs fn on the loop and waits for it (inline when already on the loop).
  void OnLoop(const std::function<void()>& fn);
  void Accept();

  TargetConfig config_;
  std::unique_ptr<net::EventLoop> own_loop_;  // unless the loop is shared
  net::EventLoop* loop_;
  bool running_ = false;
  bool stopped_ = false;
  std::unique_ptr<scsi::LogicalUnit> lun_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  // Closed connections whose tasks are still running at the device: resets and
  // reinstatement wait for those too.
  std::map<uint64_t, std::shared_ptr<Connection>> draining_;
  uint64_t next_id_ = 1;
  uint16_t next_tsih_ = 1;
};

}  // namespace cstor::iscsi
