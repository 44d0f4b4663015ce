// Informer: a local cache of one resource, kept current by list+watch, and the source of
// the events controllers react to.
//
// It lists, then watches from the list's resourceVersion. When a watch ends it resumes
// from the last resourceVersion it saw (the server keeps history, across restarts too),
// backing off while the server is unreachable. Only when the server says that version is
// gone (410) does it list again, and then it reports what changed while it was away,
// including deletions, by comparing the new list with its cache. Every `resync`, counted
// from Start on its Clock whatever the watches do, it re-delivers every cached object as
// an update, so level-triggered controllers also repair drift they had no event for.
//
// Thread-safe. Handlers run one at a time (on the informer's threads, or for the replay
// to a late handler on the thread that adds it); they must not block, and must not add or
// remove handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "client/client.h"

namespace cstor::client {

struct EventHandlers {
  std::function<void(const json& obj)> on_add;
  std::function<void(const json& old_obj, const json& new_obj)> on_update;
  std::function<void(const json& obj)> on_delete;
};

// Index functions: the values under which an object is found (several, or none).
using IndexFunc = std::function<std::vector<std::string>(const json& obj)>;

namespace index {
// Every owner of an object, as OwnerValue(kind, namespace, name): "which CVRs does CV
// openebs/pvc-1 own" is ByIndex(kByOwner, OwnerValue("CStorVolume", "openebs", "pvc-1")).
inline constexpr std::string_view kByOwner = "owner";
std::vector<std::string> ByOwner(const json& obj);
std::string OwnerValue(std::string_view kind, const std::string& ns, const std::string& name);
// The value of one label (objects without it are not indexed).
IndexFunc ByLabel(std::string label);
// The string at a JSON pointer, e.g. "/spec/nodeName" (objects without it are not indexed).
IndexFunc ByField(std::string json_pointer);
}  // namespace index

struct InformerOptions {
  std::string ns;  // "" for every namespace
  std::string label_selector;
  std::string field_selector;
  std::chrono::milliseconds resync{std::chrono::minutes(10)};  // 0: never
  int watch_timeout_seconds = 300;  // each watch is re-established after about this long
  size_t page_size = 500;           // objects per list request
};

class Informer {
 public:
  Informer(Client& client, ResourceType type, InformerOptions opts = {},
           const Clock& clock = Clock::Real());
  ~Informer();  // stops

  // At any time: a handler added after objects were cached first gets each of them as an
  // add, so every handler sees the same history. Returns an id for RemoveHandlers, which
  // returns once no call into those handlers is running.
  int AddHandlers(EventHandlers handlers);
  void RemoveHandlers(int id);

  // An index kept with the cache (objects already cached are indexed at once; a second
  // index of the same name replaces the first), and the cached objects under `value` in it.
  void AddIndex(const std::string& name, IndexFunc fn);
  std::vector<json> ByIndex(const std::string& name, const std::string& value) const;

  void Start();
  void Stop();
  // True once the first list has been delivered; false if `timeout` (real time: it
  // bounds the caller's wait) passes first.
  bool WaitForSync(std::chrono::milliseconds timeout);

  std::optional<json> Get(const std::string& ns, const std::string& name) const;
  std::vector<json> List() const;
  std::string LastResourceVersion() const;

  // How often it had to list (1 after a clean start; more after 410s), and how many
  // watches it opened: for tests and metrics.
  int lists() const { return lists_; }
  int watches() const { return watches_; }
  int resyncs() const { return resyncs_; }

  // "ns/name", or "name" for cluster-scoped objects: the key controllers queue.
  static std::string KeyOf(const json& obj);

 private:
  void Run();
  void RunResync(Clock::TimePoint first);
  Status ListAndReplace();
  Status WatchOnce();
  void Deliver(const std::string& type, json obj) REQUIRES(deliver_mu_);
  // Moves `key` in every index from what `old` gave to what `now` gives (either null).
  void ReindexLocked(const std::string& key, const json* old, const json* now) REQUIRES(mu_);
  void Resync();

  Client& client_;
  const ResourceType type_;
  const InformerOptions opts_;
  const Clock& clock_;

  Mutex deliver_mu_;  // held while handlers run: one at a time (before mu_)
  std::vector<std::pair<int, EventHandlers>> handlers_ GUARDED_BY(deliver_mu_);
  int next_handler_ GUARDED_BY(deliver_mu_) = 0;
  mutable Mutex mu_;
  struct Index {
    IndexFunc fn;
    std::map<std::string, std::set<std::string>> keys;  // value -> cache keys
  };
  std::map<std::string, Index> indexes_ GUARDED_BY(mu_);
  CondVar synced_cv_{&mu_};
  std::map<std::string, json> cache_ GUARDED_BY(mu_);
  std::string resource_version_ GUARDED_BY(mu_);
  bool synced_ GUARDED_BY(mu_) = false;

  std::atomic<bool> stopping_{false};
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
  std::atomic<int> resyncs_{0};
  WatchCanceller canceller_;
  Mutex sleep_mu_;
  CondVar sleep_cv_{&sleep_mu_};
  std::thread thread_;
  std::thread resync_thread_;
};

}  // namespace cstor::client
