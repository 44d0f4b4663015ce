#include "target/volume_target.h"

#include <fmt/format.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "net/event_loop.h"
#include "net/tcp_transport.h"
#include "replication/replicated_volume.h"

namespace cstor::target {

using replication::ReplicatedVolume;

std::string VolumeTarget::KnownReplicasPath(const std::string& state_dir,
                                            const std::string& volume) {
  return JoinPath(state_dir, volume + ".replicas.json");
}

Result<std::map<std::string, uint64_t>> LoadKnownReplicas(Env* env, const std::string& path,
                                                          const std::string& volume) {
  auto text = env->ReadSmallFile(path);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("known_replicas") ||
      !j["known_replicas"].is_object()) {
    return Status::Corruption(fmt::format("{} is not a known-replicas file", path));
  }
  if (j.value("volume", "") != volume) {
    return Status::FailedPrecondition(fmt::format("{} belongs to volume '{}', not '{}'", path,
                                                  j.value("volume", ""), volume));
  }
  std::map<std::string, uint64_t> out;
  for (const auto& [id, guid] : j["known_replicas"].items()) {
    if (!guid.is_number_unsigned()) {
      return Status::Corruption(fmt::format("{}: replica {} has no guid", path, id));
    }
    out[id] = guid.get<uint64_t>();
  }
  return out;
}

Status SaveKnownReplicas(Env* env, const std::string& path, const std::string& volume,
                         const std::map<std::string, uint64_t>& known) {
  nlohmann::json j;
  j["volume"] = volume;
  j["known_replicas"] = nlohmann::json::object();
  for (const auto& [id, guid] : known) j["known_replicas"][id] = guid;
  return env->WriteSmallFileAtomically(path, j.dump(2) + "\n");
}

struct VolumeTarget::Runtime {
  Runtime() : loop("target") {}
  net::EventLoop loop;
  std::unique_ptr<net::TcpTransport> transport;
  std::unique_ptr<ReplicatedVolume> volume;
  std::atomic<bool> stopped{false};

  // Runs op on the loop with the volume (at once when called on the loop), or answers
  // Aborted if the target is stopping.
  template <typename DoneFn>
  void Submit(DoneFn done, std::function<void(ReplicatedVolume&, DoneFn)> op) {
    if (stopped) return done(Status::Aborted("the target is shutting down"));
    if (loop.InLoop()) {
      if (!volume) return done(Status::Aborted("the target is shutting down"));
      return op(*volume, std::move(done));
    }
    loop.Post([this, done = std::move(done), op = std::move(op)]() mutable {
      if (!volume) return done(Status::Aborted("the target is shutting down"));
      op(*volume, std::move(done));
    });
  }
};

Result<std::unique_ptr<VolumeTarget>> VolumeTarget::Start(TargetOptions options) {
  auto& config = options.volume;
  if (config.name.empty()) return Status::InvalidArgument("the volume needs a name");
  if (config.secret.empty()) {
    return Status::InvalidArgument(
        "the volume needs a secret: replicas prove they belong to it with it");
  }
  if (config.replication_factor < 1 || config.replication_factor > 5) {
    return Status::InvalidArgument(fmt::format(
        "replication factor {} is not supported (1 to 5)", config.replication_factor));
  }
  std::string known_path;
  if (!options.state_dir.empty()) {
    CSTOR_RETURN_IF_ERROR(options.env->CreateDirs(options.state_dir));
    known_path = KnownReplicasPath(options.state_dir, config.name);
    auto known = LoadKnownReplicas(options.env, known_path, config.name);
    if (known.ok()) {
      for (const auto& [id, guid] : *known) config.known_replicas.emplace(id, guid);
    } else if (!known.status().Is(Code::kNotFound)) {
      return known.status();
    }
  }
  auto rt = std::make_unique<Runtime>();
  rt->transport = std::make_unique<net::TcpTransport>(&rt->loop, nullptr);
  CSTOR_ASSIGN_OR_RETURN(std::string bound, rt->transport->Listen(options.listen_address));
  rt->volume = std::make_unique<ReplicatedVolume>(config, rt->transport.get());
  rt->transport->SetHandler(rt->volume.get());
  if (!known_path.empty()) {
    rt->volume->OnKnownReplicasChanged(
        [env = options.env, known_path, name = config.name](const auto& known) {
          // Rare (a replica admitted) and small: written on the loop, durably.
          if (Status s = SaveKnownReplicas(env, known_path, name, known); !s.ok()) {
            CSTOR_LOG_ERROR("volume {}: could not record its replicas in {}: {}", name,
                            known_path, s.ToString());
          }
        });
  }
  Runtime* r = rt.get();
  r->loop.Post([r] { r->transport->StartTicks(); });
  rt->loop.Start();
  CSTOR_LOG_INFO("volume {}: target listening for replicas on {} (replication factor {})",
                 config.name, bound, config.replication_factor);
  return std::unique_ptr<VolumeTarget>(new VolumeTarget(std::move(rt), bound));
}

VolumeTarget::VolumeTarget(std::unique_ptr<Runtime> rt, std::string address)
    : rt_(std::move(rt)), address_(std::move(address)) {}

VolumeTarget::~VolumeTarget() { Stop(); }

net::EventLoop& VolumeTarget::loop() { return rt_->loop; }

void VolumeTarget::Stop() {
  if (rt_->stopped) return;
  rt_->stopped = true;
  rt_->loop.Call([this] {
    rt_->transport->Shutdown();
    rt_->volume.reset();  // answers what is outstanding
  });
  rt_->loop.Stop();
}

void VolumeTarget::Write(uint64_t offset, std::string data, Done done) {
  rt_->Submit<Done>(std::move(done), [offset, data = std::move(data)](ReplicatedVolume& v, Done d) mutable {
    v.Write(offset, std::move(data), std::move(d));
  });
}

void VolumeTarget::Read(uint64_t offset, uint32_t length, ReadDone done) {
  rt_->Submit<ReadDone>(std::move(done), [offset, length](ReplicatedVolume& v, ReadDone d) mutable {
    v.Read(offset, length, std::move(d));
  });
}

void VolumeTarget::Unmap(uint64_t offset, uint64_t length, Done done) {
  rt_->Submit<Done>(std::move(done), [offset, length](ReplicatedVolume& v, Done d) mutable {
    v.Unmap(offset, length, std::move(d));
  });
}

void VolumeTarget::Flush(Done done) {
  rt_->Submit<Done>(std::move(done), [](ReplicatedVolume& v, Done d) mutable {
    v.Flush(std::move(d));
  });
}

void VolumeTarget::CreateSnapshot(std::string name, Done done) {
  rt_->Submit<Done>(std::move(done), [name = std::move(name)](ReplicatedVolume& v, Done d) mutable {
    v.CreateSnapshot(std::move(name), std::move(d));
  });
}

void VolumeTarget::DeleteSnapshot(std::string name, Done done) {
  rt_->Submit<Done>(std::move(done), [name = std::move(name)](ReplicatedVolume& v, Done d) mutable {
    v.DeleteSnapshot(std::move(name), std::move(d));
  });
}

void VolumeTarget::ListSnapshots(ListDone done) {
  rt_->Submit<ListDone>(std::move(done), [](ReplicatedVolume& v, ListDone d) {
    v.ListSnapshots(std::move(d));
  });
}

void VolumeTarget::Resize(uint64_t new_size, Done done) {
  rt_->Submit<Done>(std::move(done), [new_size](ReplicatedVolume& v, Done d) mutable {
    v.Resize(new_size, std::move(d));
  });
}

uint64_t VolumeTarget::SizeOnLoop() const {
  return rt_->stopped || !rt_->volume ? 0 : rt_->volume->size();
}

replication::VolumeStatus VolumeTarget::GetStatus() {
  replication::VolumeStatus out;
  if (rt_->stopped) return out;
  rt_->loop.Call([&] {
    if (rt_->volume) out = rt_->volume->GetStatus();
  });
  return out;
}

Status VolumeTarget::WriteSync(uint64_t offset, std::string data) {
  auto p = std::make_shared<std::promise<Status>>();
  auto f = p->get_future();
  Write(offset, std::move(data), [p](Status s) { p->set_value(std::move(s)); });
  return f.get();
}

Result<std::string> VolumeTarget::ReadSync(uint64_t offset, uint32_t length) {
  auto p = std::make_shared<std::promise<Result<std::string>>>();
  auto f = p->get_future();
  Read(offset, length, [p](Result<std::string> r) { p->set_value(std::move(r)); });
  return f.get();
}

Status VolumeTarget::FlushSync() {
  auto p = std::make_shared<std::promise<Status>>();
  auto f = p->get_future();
  Flush([p](Status s) { p->set_value(std::move(s)); });
  return f.get();
}

}  // namespace cstor::target
