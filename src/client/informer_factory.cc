#include "client/informer_factory.h"

namespace cstor::client {

InformerFactory::InformerFactory(Client& client, InformerFactoryOptions opts)
    : client_(client), opts_(std::move(opts)) {}

InformerFactory::~InformerFactory() { Stop(); }

Informer& InformerFactory::For(const ResourceType& type) {
  const std::string key = std::string(type.group) + "/" + std::string(type.version) + "/" +
                          std::string(type.resource);
  MutexLock lock(&mu_);
  auto it = informers_.find(key);
  if (it != informers_.end()) return *it->second;
  InformerOptions o;
  o.ns = opts_.ns;
  o.resync = opts_.resync;
  auto informer = std::make_unique<Informer>(client_, type, o, clock());
  informer->AddIndex(std::string(index::kByOwner), index::ByOwner);
  if (started_) informer->Start();
  return *informers_.emplace(key, std::move(informer)).first->second;
}

void InformerFactory::Start() {
  MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  for (auto& [key, informer] : informers_) informer->Start();
}

bool InformerFactory::WaitForSync(std::chrono::milliseconds timeout) {
  std::vector<Informer*> all;
  {
    MutexLock lock(&mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (Informer* informer : all) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!informer->WaitForSync(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

void InformerFactory::Stop() {
  std::vector<Informer*> all;
  {
    MutexLock lock(&mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  for (Informer* informer : all) informer->Stop();  // without mu_: a handler may ask For()
}

size_t InformerFactory::size() const {
  MutexLock lock(&mu_);
  return informers_.size();
}

}  // namespace cstor::client
