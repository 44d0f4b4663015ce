#include "replica/replica_server.h"

#include <fmt/format.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include "net/event_loop.h"
#include "net/tcp_transport.h"
#include "replica/engine_store.h"

namespace cstor::replica {

// Destroyed in reverse order: the node and stores go before the transport, the transport
// before the loop.
struct ReplicaServer::Runtime {
  explicit Runtime(size_t threads) : loop("replica"), workers(threads) {}
  net::EventLoop loop;
  asio::thread_pool workers;
  std::unique_ptr<net::TcpTransport> transport;
  std::vector<std::unique_ptr<EngineStore>> stores;
  std::unique_ptr<ReplicaNode> node;
  bool stopped = false;
};

Result<std::unique_ptr<ReplicaServer>> ReplicaServer::Start(ReplicaServerOptions options,
                                                            std::vector<ServedVolume> volumes) {
  if (volumes.empty()) return Status::InvalidArgument("a replica server needs a volume to serve");
  auto rt = std::make_unique<Runtime>(std::max<size_t>(1, options.engine_threads));
  rt->transport = std::make_unique<net::TcpTransport>(&rt->loop, nullptr);
  CSTOR_ASSIGN_OR_RETURN(std::string bound, rt->transport->Listen(options.listen_address));
  std::string advertise = options.advertise_address.empty() ? bound : options.advertise_address;
  CSTOR_ASSIGN_OR_RETURN(auto hp, net::SplitHostPort(advertise));
  if (hp.first == "0.0.0.0" || hp.first == "::") {
    return Status::InvalidArgument(fmt::format(
        "rebuild streams listen on {}; peers cannot dial a wildcard address: give the address "
        "they should use (--advertise)",
        bound));
  }
  options.node.rebuild_address = advertise;
  rt->node = std::make_unique<ReplicaNode>(options.node, rt->transport.get());
  rt->transport->SetHandler(rt->node.get());
  Runtime* r = rt.get();
  Executor workers = [r](std::function<void()> fn) { asio::post(r->workers, std::move(fn)); };
  Executor loop = [r](std::function<void()> fn) { r->loop.Post(std::move(fn)); };
  for (auto& v : volumes) {
    rt->stores.push_back(std::make_unique<EngineStore>(v.volume, workers, loop));
    ReplicaVolumeConfig c;
    c.volume = v.volume->name();
    c.secret = v.secret;
    c.target_address = v.target_address;
    c.replica_id = v.replica_id;
    c.replica_guid = v.replica_guid;
    c.pool = v.pool;
    c.store = rt->stores.back().get();
    r->loop.Post([r, c] { r->node->AddVolume(c); });
  }
  r->loop.Post([r] { r->transport->StartTicks(); });
  rt->loop.Start();
  return std::unique_ptr<ReplicaServer>(new ReplicaServer(std::move(rt), advertise));
}

ReplicaServer::ReplicaServer(std::unique_ptr<Runtime> runtime, std::string rebuild_address)
    : rt_(std::move(runtime)), rebuild_address_(std::move(rebuild_address)) {}

ReplicaServer::~ReplicaServer() { Stop(); }

void ReplicaServer::Stop() {
  if (rt_->stopped) return;
  rt_->stopped = true;
  rt_->loop.Call([this] { rt_->transport->Shutdown(); });
  // No new engine work once the loop is stopped; then let the workers finish theirs (their
  // answers go to the stopped loop and are dropped).
  rt_->loop.Stop();
  rt_->workers.join();
}

std::vector<ReplicaVolumeState> ReplicaServer::State() {
  std::vector<ReplicaVolumeState> out;
  if (rt_->stopped) return out;
  rt_->loop.Call([&] { out = rt_->node->State(); });
  return out;
}

Status ReplicaServer::Health() {
  if (rt_->stopped) return Status::FailedPrecondition("the replica server is stopped");
  Status out;
  rt_->loop.Call([&] {
    for (const auto& store : rt_->stores) {
      Status s = store->Health();
      if (!s.ok()) {
        out = s.WithContext("volume " + store->volume().name());
        return;
      }
    }
  });
  return out;
}

}  // namespace cstor::replica
