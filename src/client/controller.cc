#include "client/controller.h"

#include "base/log.h"

namespace cstor::client {

Controller::Controller(InformerFactory& informers, ResourceType primary, Reconciler& reconciler,
                       ControllerOptions opts)
    : factory_(informers),
      primary_type_(primary),
      primary_(informers.For(primary)),
      reconciler_(reconciler),
      opts_(std::move(opts)),
      queue_(opts_.rate_limit, informers.clock()),
      expectations_(informers.clock()) {
  auto enqueue = [this](const json& obj) { queue_.Add(Informer::KeyOf(obj)); };
  auto deleted = [this](const json& obj) {
    expectations_.Forget(Informer::KeyOf(obj));
    queue_.Add(Informer::KeyOf(obj));
  };
  handlers_.emplace_back(&primary_, primary_.AddHandlers({enqueue, [enqueue](const json&, const json& n) { enqueue(n); },
                                                          deleted}));
}

Controller::~Controller() { Stop(); }

void Controller::Watch(ResourceType type, std::function<std::vector<std::string>(const json&)> map) {
  Informer& informer = factory_.For(type);
  auto enqueue = [this, map = std::move(map)](const json& obj) {
    for (const std::string& key : map(obj)) queue_.Add(key);
  };
  handlers_.emplace_back(&informer, informer.AddHandlers({enqueue, [enqueue](const json& o, const json& n) {
                                                            enqueue(o);
                                                            enqueue(n);
                                                          },
                                                          enqueue}));
}

void Controller::Owns(ResourceType type) {
  Informer& informer = factory_.For(type);
  const std::string kind(primary_type_.kind);
  // An owned object that appears or goes settles its owner's expectations first, so the
  // reconcile it triggers sees them met.
  auto added = [this, kind](const json& obj) {
    for (const std::string& key : OwnerKeys(obj, kind)) {
      expectations_.CreationObserved(key);
      queue_.Add(key);
    }
  };
  auto changed = [this, kind](const json& o, const json& n) {
    for (const json* obj : {&o, &n}) {
      for (const std::string& key : OwnerKeys(*obj, kind)) queue_.Add(key);
    }
  };
  auto deleted = [this, kind](const json& obj) {
    for (const std::string& key : OwnerKeys(obj, kind)) {
      expectations_.DeletionObserved(key);
      queue_.Add(key);
    }
  };
  handlers_.emplace_back(&informer, informer.AddHandlers({added, changed, deleted}));
}

std::vector<std::string> Controller::OwnerKeys(const json& obj, std::string_view kind) {
  std::vector<std::string> keys;
  const json& meta = obj.value("metadata", json::object());
  const std::string ns = meta.value("namespace", "");
  for (const json& ref : meta.value("ownerReferences", json::array())) {
    if (ref.value("kind", "") != kind) continue;
    keys.push_back(ns.empty() ? ref.value("name", "") : ns + "/" + ref.value("name", ""));
  }
  return keys;
}

Status Controller::Start(std::chrono::milliseconds sync_timeout) {
  factory_.Start();
  if (!factory_.WaitForSync(sync_timeout)) {
    return Status::Unavailable(opts_.name + ": caches did not sync within " +
                               std::to_string(sync_timeout.count()) + " ms");
  }
  MutexLock lock(&lifecycle_mu_);
  if (stopped_) return Status::Aborted(opts_.name + ": stopped before it started");
  for (int i = 0; i < opts_.workers; ++i) workers_.emplace_back([this] { Work(); });
  CSTOR_LOG_INFO("{}: started with {} workers", opts_.name, opts_.workers);
  return Status::Ok();
}

void Controller::Stop() {
  MutexLock lock(&lifecycle_mu_);
  if (stopped_) return;
  stopped_ = true;
  for (auto [informer, id] : handlers_) informer->RemoveHandlers(id);
  handlers_.clear();
  queue_.ShutDown();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void Controller::Work() {
  while (auto key = queue_.Get()) {
    const size_t slash = key->find('/');
    const std::string ns = slash == std::string::npos ? "" : key->substr(0, slash);
    const std::string name = slash == std::string::npos ? *key : key->substr(slash + 1);
    if (opts_.may_act && !opts_.may_act()) {
      queue_.AddAfter(*key, std::chrono::seconds(1));
      queue_.Done(*key);
      continue;
    }
    Result<ReconcileResult> r = reconciler_.Reconcile(ns, name);
    ++reconciles_;
    if (!r.ok()) {
      ++failures_;
      CSTOR_LOG_WARN("{}: reconcile {} failed (attempt {}): {}", opts_.name, *key,
                     queue_.NumRequeues(*key) + 1, r.status().ToString());
      queue_.AddRateLimited(*key);
    } else {
      queue_.Forget(*key);
      if (r->requeue_after.count() > 0) queue_.AddAfter(*key, r->requeue_after);
    }
    queue_.Done(*key);
  }
}

}  // namespace cstor::client
