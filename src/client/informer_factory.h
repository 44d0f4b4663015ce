// InformerFactory: the informers of one process, one per resource type, shared by every
// controller in it. Half a dozen controllers that each watch CStorVolumes would
// otherwise hold half a dozen watches and caches of the same objects, and see them
// change at different moments.
//
// Informers are made on first ask, with the factory's namespace, resync period and
// clock. Start starts those made so far; one asked for after Start is started at once.
// The owner-reference index (index::kByOwner) is on every informer, since controllers
// find what an object owns with it.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "client/client.h"
#include "client/informer.h"

namespace cstor::client {

struct InformerFactoryOptions {
  std::string ns = "";  // "" for every namespace
  std::chrono::milliseconds resync{std::chrono::minutes(10)};
  const Clock* clock = nullptr;  // null: the machine's
};

class InformerFactory {
 public:
  explicit InformerFactory(Client& client, InformerFactoryOptions opts = {});
  ~InformerFactory();  // stops

  // The process's informer for `type`; lives as long as the factory.
  Informer& For(const ResourceType& type);

  void Start();
  // True once every informer made so far has delivered its first list.
  bool WaitForSync(std::chrono::milliseconds timeout);
  void Stop();

  Client& client() { return client_; }
  const Clock& clock() const { return opts_.clock ? *opts_.clock : Clock::Real(); }
  // How many informers (and so watches) the process holds: for tests and metrics.
  size_t size() const;

 private:
  Client& client_;
  const InformerFactoryOptions opts_;
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Informer>> informers_ GUARDED_BY(mu_);
  bool started_ GUARDED_BY(mu_) = false;
};

}  // namespace cstor::client
