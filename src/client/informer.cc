#include "client/informer.h"

#include <random>

#include "base/log.h"

namespace cstor::client {

Informer::Informer(Client& client, ResourceType type, InformerOptions opts, const Clock& clock)
    : client_(client), type_(type), opts_(std::move(opts)), clock_(clock) {}

Informer::~Informer() { Stop(); }

namespace index {

std::string OwnerValue(std::string_view kind, const std::string& ns, const std::string& name) {
  return std::string(kind) + ":" + (ns.empty() ? name : ns + "/" + name);
}

std::vector<std::string> ByOwner(const json& obj) {
  std::vector<std::string> values;
  const json& meta = obj.value("metadata", json::object());
  const std::string ns = meta.value("namespace", "");
  for (const json& ref : meta.value("ownerReferences", json::array())) {
    values.push_back(OwnerValue(ref.value("kind", ""), ns, ref.value("name", "")));
  }
  return values;
}

IndexFunc ByLabel(std::string label) {
  return [label = std::move(label)](const json& obj) -> std::vector<std::string> {
    const json& labels = obj.value("metadata", json::object()).value("labels", json::object());
    auto it = labels.find(label);
    if (it == labels.end() || !it->is_string()) return {};
    return {it->get<std::string>()};
  };
}

IndexFunc ByField(std::string json_pointer) {
  return [ptr = json::json_pointer(json_pointer)](const json& obj) -> std::vector<std::string> {
    if (!obj.contains(ptr) || !obj.at(ptr).is_string()) return {};
    return {obj.at(ptr).get<std::string>()};
  };
}

}  // namespace index

int Informer::AddHandlers(EventHandlers handlers) {
  MutexLock deliver(&deliver_mu_);
  for (const json& obj : List()) {
    if (handlers.on_add) handlers.on_add(obj);
  }
  handlers_.emplace_back(next_handler_, std::move(handlers));
  return next_handler_++;
}

void Informer::RemoveHandlers(int id) {
  MutexLock deliver(&deliver_mu_);
  std::erase_if(handlers_, [id](const auto& h) { return h.first == id; });
}

void Informer::AddIndex(const std::string& name, IndexFunc fn) {
  MutexLock lock(&mu_);
  Index& index = indexes_[name];
  index.fn = std::move(fn);
  index.keys.clear();
  for (const auto& [key, obj] : cache_) {
    for (const std::string& value : index.fn(obj)) index.keys[value].insert(key);
  }
}

std::vector<json> Informer::ByIndex(const std::string& name, const std::string& value) const {
  MutexLock lock(&mu_);
  std::vector<json> out;
  auto index = indexes_.find(name);
  if (index == indexes_.end()) return out;
  auto keys = index->second.keys.find(value);
  if (keys == index->second.keys.end()) return out;
  for (const std::string& key : keys->second) {
    if (auto it = cache_.find(key); it != cache_.end()) out.push_back(it->second);
  }
  return out;
}

void Informer::ReindexLocked(const std::string& key, const json* old, const json* now) {
  for (auto& [name, index] : indexes_) {
    if (old != nullptr) {
      for (const std::string& value : index.fn(*old)) {
        auto it = index.keys.find(value);
        if (it == index.keys.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index.keys.erase(it);
      }
    }
    if (now != nullptr) {
      for (const std::string& value : index.fn(*now)) index.keys[value].insert(key);
    }
  }
}

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
  // The schedule counts from here, not from when the thread gets to run.
  const auto first = clock_.Now() + opts_.resync;
  if (opts_.resync.count() > 0) resync_thread_ = std::thread([this, first] { RunResync(first); });
}

void Informer::Stop() {
  if (stopping_.exchange(true)) return;
  canceller_.Cancel();
  {
    MutexLock lock(&sleep_mu_);
    sleep_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (!synced_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    synced_cv_.WaitFor(std::chrono::duration_cast<std::chrono::microseconds>(deadline - now));
  }
  return true;
}

std::string Informer::KeyOf(const json& obj) {
  const json& meta = obj.value("metadata", json::object());
  const std::string ns = meta.value("namespace", "");
  return ns.empty() ? meta.value("name", "") : ns + "/" + meta.value("name", "");
}

std::optional<json> Informer::Get(const std::string& ns, const std::string& name) const {
  MutexLock lock(&mu_);
  auto it = cache_.find(ns.empty() ? name : ns + "/" + name);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<json> Informer::List() const {
  MutexLock lock(&mu_);
  std::vector<json> out;
  out.reserve(cache_.size());
  for (const auto& entry : cache_) out.push_back(entry.second);
  return out;
}

std::string Informer::LastResourceVersion() const {
  MutexLock lock(&mu_);
  return resource_version_;
}

void Informer::Deliver(const std::string& type, json obj) {
  const std::string key = KeyOf(obj);
  std::optional<json> old;
  {
    MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) old = it->second;
    if (type == "DELETED") {
      cache_.erase(key);
    } else {
      cache_[key] = obj;
    }
    ReindexLocked(key, old ? &*old : nullptr, type == "DELETED" ? nullptr : &obj);
  }
  for (const auto& [id, h] : handlers_) {
    if (type == "DELETED") {
      if (h.on_delete) h.on_delete(old ? *old : obj);
    } else if (old) {
      if (h.on_update) h.on_update(*old, obj);
    } else if (h.on_add) {
      h.on_add(obj);
    }
  }
}

Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = opts_.label_selector;
  lo.field_selector = opts_.field_selector;
  lo.limit = opts_.page_size;
  auto list = client_.ListAll(type_, opts_.ns, lo);
  if (!list.ok()) return list.status();
  ++lists_;
  MutexLock deliver(&deliver_mu_);
  std::map<std::string, json> fresh;
  for (json& item : (*list)["items"]) {
    // List items carry no kind; fill it in so cached objects decode as typed objects.
    item["apiVersion"] = type_.ApiVersion();
    item["kind"] = std::string(type_.kind);
    std::string key = KeyOf(item);  // before item is moved from
    fresh[key] = std::move(item);
  }
  std::vector<json> gone;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, obj] : cache_) {
      if (!fresh.count(key)) gone.push_back(obj);
    }
  }
  for (json& obj : gone) Deliver("DELETED", std::move(obj));
  for (auto& entry : fresh) {
    std::optional<json> cached = Get(entry.second["metadata"].value("namespace", ""),
                                     entry.second["metadata"].value("name", ""));
    if (cached && (*cached)["metadata"].value("resourceVersion", "") ==
                      entry.second["metadata"].value("resourceVersion", "")) {
      continue;  // unchanged while we were away
    }
    Deliver("MODIFIED", std::move(entry.second));
  }
  MutexLock lock(&mu_);
  resource_version_ = (*list)["metadata"].value("resourceVersion", "");
  synced_ = true;
  synced_cv_.SignalAll();
  return Status::Ok();
}

Status Informer::WatchOnce() {
  WatchOptions wo;
  wo.resource_version = LastResourceVersion();
  wo.label_selector = opts_.label_selector;
  wo.field_selector = opts_.field_selector;
  thread_local std::mt19937 rng{std::random_device{}()};
  // Spread re-establishment so that many informers do not reconnect at once.
  wo.timeout_seconds = opts_.watch_timeout_seconds +
                       std::uniform_int_distribution<int>(0, opts_.watch_timeout_seconds / 2)(rng);
  wo.bookmarks = true;
  ++watches_;
  return client_.Watch(
      type_, opts_.ns, wo,
      [&](WatchEvent& ev) {
        const std::string rv = ev.object.value("metadata", json::object()).value("resourceVersion", "");
        if (ev.type != "BOOKMARK") {
          MutexLock deliver(&deliver_mu_);
          Deliver(ev.type, std::move(ev.object));
        }
        if (!rv.empty()) {
          MutexLock lock(&mu_);
          resource_version_ = rv;
        }
        return !stopping_;
      },
      &canceller_);
}

void Informer::Resync() {
  MutexLock deliver(&deliver_mu_);  // the cache as of the last delivered event
  for (const json& obj : List()) {
    for (const auto& [id, h] : handlers_) {
      if (h.on_update) h.on_update(obj, obj);
    }
  }
  ++resyncs_;
}

// Its own thread on a fixed schedule from Start: a watch that ends or an event that
// arrives does not move it (a timer restarted with each watch never fired, since a watch
// lasts less than the period).
void Informer::RunResync(Clock::TimePoint next) {
  while (!stopping_) {
    {
      MutexLock lock(&sleep_mu_);
      while (!stopping_ && clock_.Now() < next) clock_.WaitUntil(&sleep_cv_, next);
    }
    if (stopping_) break;
    next += opts_.resync;
    bool synced;
    {
      MutexLock lock(&mu_);
      synced = synced_;
    }
    if (synced) Resync();
  }
}

void Informer::Run() {
  bool need_list = true;
  int failures = 0;
  while (!stopping_) {
    Status s = need_list ? ListAndReplace() : WatchOnce();
    if (stopping_) break;
    if (s.ok()) {
      failures = 0;
      need_list = false;
      continue;  // a watch that ended cleanly resumes at once
    }
    if (IsGone(s)) {
      CSTOR_LOG_INFO("informer {}: resourceVersion {} is too old; listing again", type_.resource,
                     LastResourceVersion());
      need_list = true;
      continue;
    }
    // The server is unreachable or failing: back off, then resume where we were.
    ++failures;
    auto delay = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100 << std::min(failures, 6)),
                                                     std::chrono::seconds(5));
    CSTOR_LOG_DEBUG("informer {}: {} (retrying in {} ms)", type_.resource, s.ToString(), delay.count());
    // Real time, not the injected clock: a test's clock that stands still must not
    // strand an informer after a transient error.
    MutexLock lock(&sleep_mu_);
    if (!stopping_) sleep_cv_.WaitFor(delay);
  }
}

}  // namespace cstor::client
