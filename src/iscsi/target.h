// Target: an iSCSI target serving one logical unit (LUN 0) at one portal, on one event
// loop. It accepts connections, keeps the sessions (for reinstatement: a new login with the
// ISID of a live session replaces it), and runs task management that spans sessions.
#pragma once

#include <asio/ip/tcp.hpp>
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
  // bound). The device must outlive the target.
  static Result<std::unique_ptr<Target>> Start(TargetConfig config, bdev::BlockDevice* device,
                                               scsi::LunOptions lun_options = {});
  ~Target();
  void Stop();

  const TargetConfig& config() const { return config_; }
  std::string url() const;  // iscsi://host:port/iqn/0

  // ---- for connections, on the loop ----
  net::EventLoop& loop() { return loop_; }
  scsi::LogicalUnit& lun() { return *lun_; }
  // A connection finished login into a normal session: reinstates an older session with
  // the same initiator and ISID, and answers the session's TSIH.
  uint16_t SessionStarted(Connection* c);
  void ConnectionClosed(Connection* c);
  uint16_t NewTsih();
  // LUN RESET / TARGET RESET from `from`: aborts every task in every other session and
  // resets the logical unit.
  void ResetAll(Connection* from);
  uint64_t NowMillis() const;

 private:
  Target(TargetConfig config, bdev::BlockDevice* device, scsi::LunOptions lun_options);
  void Accept();

  TargetConfig config_;
  net::EventLoop loop_;
  std::unique_ptr<scsi::LogicalUnit> lun_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  uint16_t next_tsih_ = 1;
};

}  // namespace cstor::iscsi
