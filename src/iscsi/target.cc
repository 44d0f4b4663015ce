#include "iscsi/target.h"

#include <asio/post.hpp>
#include <charconv>
#include <chrono>
#include <fmt/format.h>

#include "base/log.h"
#include "iscsi/connection.h"

namespace cstor::iscsi {

Target::Target(TargetConfig config, bdev::BlockDevice* device, scsi::LunOptions lun_options,
               net::EventLoop* loop)
    : config_(std::move(config)),
      own_loop_(loop ? nullptr : std::make_unique<net::EventLoop>("iscsi")),
      loop_(loop ? loop : own_loop_.get()),
      acceptor_(loop_->io()) {
  lun_options.target_port_name = config_.name + ",t,0x0001";
  lun_ = std::make_unique<scsi::LogicalUnit>(device, std::move(lun_options),
                                             [this](std::function<void()> fn) { loop_->Post(std::move(fn)); });
}

Result<std::unique_ptr<Target>> Target::Start(TargetConfig config, bdev::BlockDevice* device,
                                              scsi::LunOptions lun_options, net::EventLoop* loop) {
  if (config.chap && config.chap->secret.size() < 12) {
    return Status::InvalidArgument("a CHAP secret must be at least 12 bytes (RFC 7143)");
  }
  if (config.mutual && !config.chap) {
    return Status::InvalidArgument("mutual CHAP needs initiator CHAP too");
  }
  const size_t colon = config.portal.rfind(':');
  uint16_t port = 0;
  auto [end, perr] = std::from_chars(config.portal.data() + colon + 1,
                                     config.portal.data() + config.portal.size(), port);
  if (colon == std::string::npos || perr != std::errc() ||
      end != config.portal.data() + config.portal.size()) {
    return Status::InvalidArgument("portal must be host:port, not " + config.portal);
  }
  std::pair<std::string, uint16_t> hp{config.portal.substr(0, colon), port};
  std::unique_ptr<Target> t(new Target(std::move(config), device, std::move(lun_options), loop));
  asio::error_code ec;
  auto address = asio::ip::make_address(hp.first, ec);
  if (ec) return Status::InvalidArgument("bad portal address " + hp.first + ": " + ec.message());
  asio::ip::tcp::endpoint ep(address, hp.second);
  t->acceptor_.open(ep.protocol(), ec);
  if (!ec) t->acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) t->acceptor_.bind(ep, ec);
  if (!ec) t->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable(fmt::format("cannot listen on {}: {}", t->config_.portal, ec.message()));
  }
  auto bound = t->acceptor_.local_endpoint();
  t->config_.portal = fmt::format("{}:{}", bound.address().to_string(), bound.port());
  if (t->own_loop_) {
    t->Accept();
    t->own_loop_->Start();
  } else {
    Target* raw = t.get();
    t->OnLoop([raw] { raw->Accept(); });
  }
  t->running_ = true;
  return t;
}

Target::~Target() { Stop(); }

void Target::OnLoop(const std::function<void()>& fn) {
  if (loop_->InLoop()) return fn();
  loop_->Call(fn);
}

void Target::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!running_) {  // Start failed before anything ran
    if (own_loop_) own_loop_->Stop();
    return;
  }
  OnLoop([this] {
    asio::error_code ec;
    acceptor_.close(ec);
    auto conns = connections_;
    for (auto& [id, c] : conns) c->Close("target stopping");
  });
  if (own_loop_) {
    own_loop_->Stop();  // drops what the closes posted
    connections_.clear();
    draining_.clear();
  } else {
    // A shared loop keeps running: let what the closes posted run while the target exists.
    OnLoop([this] {
      connections_.clear();
      draining_.clear();
    });
  }
}

std::string Target::url() const { return fmt::format("iscsi://{}/{}/0", config_.portal, config_.name); }

void Target::Accept() {
  acceptor_.async_accept([this](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) CSTOR_LOG_WARN("iscsi: accept: {}", ec.message());
      if (acceptor_.is_open()) Accept();
      return;
    }
    auto c = std::make_shared<Connection>(this, std::move(socket), next_id_++);
    connections_[c->id()] = c;
    c->Start();
    Accept();
  });
}

uint16_t Target::NewTsih() {
  if (next_tsih_ == 0) next_tsih_ = 1;
  return next_tsih_++;
}

namespace {

// Calls `done` once every one of the calls it hands out has been called. Arm() hands out
// one; the holder's own reference (released by Done) keeps it from firing early.
struct SettleBarrier : std::enable_shared_from_this<SettleBarrier> {
  explicit SettleBarrier(std::function<void()> fn) : done(std::move(fn)) {}
  std::function<void()> Arm() {
    pending++;
    return [self = shared_from_this()] { self->Done(); };
  }
  void Done() {
    if (--pending == 0 && done) std::exchange(done, nullptr)();
  }
  size_t pending = 1;
  std::function<void()> done;
};

}  // namespace

uint16_t Target::SessionStarted(Connection* c, std::function<void()> ready) {
  // Session reinstatement: the same initiator port (name and ISID) logging in anew
  // replaces its old session.
  auto barrier = std::make_shared<SettleBarrier>(std::move(ready));
  std::vector<std::shared_ptr<Connection>> old;
  for (auto& [id, other] : connections_) {
    if (other.get() != c && other->full_feature() && other->nexus() == c->nexus()) {
      old.push_back(other);
    }
  }
  for (auto& other : old) {
    other->Close("session reinstated by a new login");
    other->WhenSettled(barrier->Arm());
  }
  for (auto& [id, gone] : draining_) {
    if (gone->nexus() == c->nexus()) gone->WhenSettled(barrier->Arm());
  }
  barrier->Done();
  return NewTsih();
}

void Target::ConnectionClosed(Connection* c) {
  lun_->NexusGone(c->nexus());
  auto it = connections_.find(c->id());
  if (it == connections_.end()) return;
  std::shared_ptr<Connection> gone = std::move(it->second);
  connections_.erase(it);
  // Its tasks still at the device are waited for by resets and reinstatement until done.
  const uint64_t id = gone->id();
  draining_[id] = gone;
  gone->WhenSettled([this, id] { draining_.erase(id); });
}

void Target::ResetAll(Connection* from, std::function<void()> settled) {
  auto barrier = std::make_shared<SettleBarrier>(std::move(settled));
  std::vector<std::string> nexuses;
  for (auto& [id, c] : connections_) {
    if (c.get() != from) {
      c->AbortAll();
      c->WhenSettled(barrier->Arm());
    }
    if (c->full_feature()) nexuses.push_back(c->nexus());
  }
  for (auto& [id, gone] : draining_) gone->WhenSettled(barrier->Arm());
  lun_->Reset(nexuses);
  barrier->Done();
}

uint64_t Target::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace cstor::iscsi
