// ApiServer::Impl: the server's state and its handlers, split over files by
// responsibility (server.cc start-up, routing.cc, discovery.cc, reads.cc, watch.cc,
// writes.cc, patch.cc, deletion.cc, garbage.cc, crds.cc). Internal to the API server.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/cluster_ip.h"
#include "apiserver/garbage_graph.h"
#include "apiserver/registry.h"
#include "apiserver/request.h"
#include "apiserver/server.h"
#include "apiserver/store.h"
#include "apiserver/tls.h"
#include "base/mutex.h"
#include "http/server.h"

namespace cstor::apiserver {

// Writes to a stream, waiting (on the caller's thread, up to a minute) while much is still
// unsent: for large bodies that must not be cut off for their size.
bool WritePaced(http::Stream& stream, std::string data);

class ApiServer::Impl {
 public:
  explicit Impl(ApiServerOptions options) : opts_(std::move(options)) {}
  ~Impl() { Stop(); }

  Status Init();
  void Stop();

  int port_ = 0;
  std::string token_;
  std::string ca_pem_;
  Certificate admin_cert_;  // the kubeconfig's client-certificate user
  ApiServerOptions opts_;

 private:
  // Request handling.
  void Handle(const http::Request& req, http::Response& res);
  void Route(const http::Request& req, http::Response& res);
  // The handler a request on a resolved target goes to.
  void Dispatch(const Target& t, const http::Request& req, http::Response& res);
  // Writes to a resource served from another's objects (converted.cc): converted to the
  // stored shape, done there, and the answer converted back. Reads convert in place.
  void ServeConverted(const Target& t, const http::Request& req, http::Response& res);
  void PatchConverted(const Target& t, const Target& inner, http::Request& r, http::Response& res);
  bool Discovery(const http::Request& req, http::Response& res,
                 const std::vector<std::string>& parts);
  Target Resolve(const std::vector<std::string>& parts, size_t rest_at, const std::string& group,
                 const std::string& version);

  void Get(const Target& t, const http::Request& req, http::Response& res);
  void List(const Target& t, const http::Request& req, http::Response& res);
  struct WatchState;
  void Watch(const Target& t, const http::Request& req, http::Response& res);
  // The watch hub (watch.cc): one thread follows the store's history and hands each change
  // to the open watches of its resource, so an open watch holds no thread. It also polls
  // the followed logs.
  void JoinWatch(const std::shared_ptr<WatchState>& st);
  void WatchLoop();
  void WatchHousekeeping(uint64_t revision) REQUIRES(watch_mu_);
  // Runs `poll` on the hub's thread about every 100 ms until it returns false.
  void Follow(std::function<bool()> poll);
  // pods/log: a container's log file from the node runtime, whole, its tail, or followed.
  void Logs(const Target& t, const http::Request& req, http::Response& res);
  // <plural>/scale: spec.replicas as an autoscaling/v1 Scale (scale.cc).
  void Scale(const Target& t, const http::Request& req, http::Response& res);
  void Create(const Target& t, const http::Request& req, http::Response& res);
  // Stores a new object; `managed` sets its managedFields (an apply), else the create is
  // recorded as its manager's update.
  void CreateObject(const Target& t, nlohmann::json obj, const http::Request& req, http::Response& res,
                    const nlohmann::json* managed = nullptr);
  void ServerSideApply(const Target& t, const http::Request& req, http::Response& res);
  void Update(const Target& t, const http::Request& req, http::Response& res);
  void Patch(const Target& t, const http::Request& req, http::Response& res);
  // `cur` patched, checked (metadata kept, resourceVersion, apiVersion and kind unchanged).
  nlohmann::json PatchObject(const ResourceDef& def, const nlohmann::json& cur, const ParsedPatch& p) const;
  void Delete(const Target& t, const http::Request& req, http::Response& res);
  void DeleteCollection(const Target& t, const http::Request& req, http::Response& res);

  // Object rules shared by the write paths.
  void CheckTypeMeta(const ResourceDef& def, nlohmann::json& obj) const;
  void CheckNamespace(const ResourceDef& def, const std::string& path_ns, nlohmann::json& obj) const;
  // A wrong type is a 400, as from a real server's decoder.
  void CheckTypes(const ResourceDef& def, const nlohmann::json& obj) const;
  // Metadata, the kind's rules (and, given the old object, its update rules), a CRD's
  // schema; a 422 listing every violation.
  void ValidateObject(const ResourceDef& def, nlohmann::json& obj, const http::Request* req,
                      http::Response* res, const nlohmann::json* old = nullptr) const;
  // A new Service's cluster IP, held until the Service is stored.
  std::optional<ClusterIpAllocator::Reservation> AllocateClusterIp(const ResourceDef& def,
                                                                   nlohmann::json& obj);
  Mutation FinishUpdate(const ResourceDef& def, const nlohmann::json& current, nlohmann::json next,
                        const std::string& sub, const http::Request* req,
                        http::Response* res, bool track = true) const;
  // Deletes (or marks for deletion) one object; returns the stored result and whether
  // it is gone.
  std::pair<ObjectPtr, bool> DeleteObject(const ResourceDef& def, const std::string& ns,
                                          const std::string& name, const std::string& policy,
                                          const nlohmann::json& preconditions, bool dry_run = false);
  ObjectPtr Commit(const ResourceDef& def, const std::string& ns, const std::string& name,
                   const std::function<Mutation(const nlohmann::json*)>& decide, bool dry_run = false);

  // CustomResourceDefinitions.
  void ServeCrd(const nlohmann::json& crd);
  Status ApplyManifest(const nlohmann::json& crd);

  // Garbage collection: ownerReferences, foreground/orphan deletion, namespaces; for the
  // objects a change concerns (what `graph` marked dirty). Failures go to `retry`.
  void CollectGarbage(GarbageGraph& graph, std::unordered_set<std::string>& retry);
  void CollectObject(const GarbageGraph& graph, const std::string& uid, const GarbageGraph::Node& node);
  void ExpireEvents();
  void GarbageLoop();

  void WriteJson(http::Response& res, int code, const nlohmann::json& body) const;
  nlohmann::json ListObject(const ResourceDef& def, const Store::Page& page, bool table,
                  IncludeObject include) const;
  std::string ListText(const ResourceDef& def, const Store::Page& page) const;
  ResourceDefPtr FindDef(const std::string& storage_key) const;
  nlohmann::json OpenApi(const std::vector<std::string>& parts) const;

  std::unique_ptr<Store> store_;
  std::unique_ptr<http::Server> http_;
  std::thread gc_thread_;
  std::thread watch_thread_;
  Mutex watch_mu_;
  // Open watches by the storage key of their resource.
  std::unordered_map<std::string, std::vector<std::shared_ptr<WatchState>>> watches_ GUARDED_BY(watch_mu_);
  std::vector<std::function<bool()>> followers_ GUARDED_BY(watch_mu_);
  uint64_t hub_revision_ GUARDED_BY(watch_mu_) = 0;  // every change up to here is delivered
  int hub_reader_ = -1;  // the hub's and the collector's places in the store's history
  int gc_reader_ = -1;
  uint64_t gc_revision_ = 0;  // where the collector starts
  std::atomic<bool> stopping_{false};
  std::unique_ptr<ClusterIpAllocator> cluster_ips_;
  mutable SharedMutex registry_mu_;
  Registry registry_ GUARDED_BY(registry_mu_);
};

}  // namespace cstor::apiserver
