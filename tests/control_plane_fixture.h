// The fixture the control-plane tests share: the embedded API server on a loopback port
// with its store in a temporary directory, a client from its kubeconfig, and helpers.
// Nothing is mocked.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/cstor_types.h"
#include "api/kube_types.h"
#include "apiserver/server.h"
#include "apiserver/tls.h"
#include "base/clock.h"
#include "client/client.h"
#include "client/controller.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/informer_factory.h"
#include "client/leader_election.h"
#include "controllers/volume_ready.h"

namespace cstor::cptest {

namespace fs = std::filesystem;
using client::Client;
using nlohmann::json;
using namespace std::chrono_literals;

// Polls `fn` until it holds or `timeout` passes (never a timed assertion on speed: the
// timeout only bounds a hang).
template <class Fn>
bool Eventually(Fn fn, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return fn();
}

inline client::DeleteOptions Propagation(const std::string& policy) {
  client::DeleteOptions o;
  o.propagation_policy = policy;
  return o;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cstor-cp-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    StartServer(0);
    auto cfg = client::LoadKubeconfig(server_->kubeconfig_path());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    config_ = *cfg;
    client_ = std::make_unique<Client>(config_);
    ASSERT_TRUE(client_->Create(api::Namespace::kType, "", json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "openebs"}}}}).ok());
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(int port, size_t history = 100'000) {
    apiserver::ApiServerOptions o;
    o.data_dir = dir_.string();
    o.port = port;
    o.bookmark_interval = 200ms;
    o.history_limit = history;
    o.crd_manifests = apiserver::EmbeddedCrdManifests();
    if (tweak_) tweak_(o);
    auto s = apiserver::ApiServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  static api::CStorVolumeReplica Replica(const std::string& name, const std::string& pool = "pool-a") {
    api::CStorVolumeReplica r;
    r.metadata.name = name;
    r.metadata.namespace_ = "openebs";
    r.metadata.labels[std::string(api::kLabelPoolInstanceName)] = pool;
    r.spec.capacity = "10Gi";
    r.spec.replica_id = "1A2B3C";
    return r;
  }

  static api::CStorVolume Volume(const std::string& name) {
    api::CStorVolume v;
    v.metadata.name = name;
    v.metadata.namespace_ = "openebs";
    v.spec.capacity = "10Gi";
    v.spec.replication_factor = 3;
    v.spec.consistency_factor = 2;
    return v;
  }

  // Candidates for the operator's lease that do not give it up on Stop.
  static client::LeaderElectionOptions LeaseOptions(const std::string& id, std::chrono::milliseconds lease,
                                                    std::chrono::milliseconds renew,
                                                    std::chrono::milliseconds retry) {
    client::LeaderElectionOptions o;
    o.ns = "openebs";
    o.lease_name = "cstor-operator";
    o.identity = id;
    o.lease_duration = lease;
    o.renew_deadline = renew;
    o.retry_period = retry;
    o.release_on_stop = false;  // the other must wait for the lease to expire
    return o;
  }

  // "status/reason" of a volume's Ready condition, "none" or "error".
  std::string ReadyStatus(const std::string& name) {
    auto cv = client_->Get<api::CStorVolume>("openebs", name);
    if (!cv.ok()) return "error";
    const api::Condition* c = api::FindCondition(cv->status.conditions, api::cv_condition::kReady);
    return c ? c->status + "/" + c->reason : "none";
  }

  // A raw HTTPS client for requests the typed client cannot make (bad input).
  std::unique_ptr<httplib::Client> Raw(bool with_token = true) {
    auto c = std::make_unique<httplib::Client>(server_->url());
    c->enable_server_certificate_verification(false);
    if (with_token) c->set_bearer_token_auth(server_->token());
    return c;
  }

  // One raw request and its answer (the body parsed when it is JSON).
  struct Reply {
    int code = 0;
    json body;
  };
  Reply Send(const std::string& method, const std::string& path, const json& body = nullptr,
             const std::string& content_type = "application/json") {
    auto c = Raw();
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "POST"    ? c->Post(path, text, content_type)
                        : method == "PUT"   ? c->Put(path, text, content_type)
                        : method == "PATCH" ? c->Patch(path, text, content_type)
                                            : c->Get(path);
    if (!r) return {-1, nullptr};
    json parsed = json::parse(r->body, nullptr, false);
    return {r->status, parsed.is_discarded() ? json(r->body) : parsed};
  }
  // A list or get as kubectl asks for it: a server-side Table.
  Reply Table(const std::string& path) {
    auto c = Raw();
    auto r = c->Get(path, {{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"}});
    if (!r) return {-1, nullptr};
    return {r->status, json::parse(r->body)};
  }

  fs::path dir_;
  std::function<void(apiserver::ApiServerOptions&)> tweak_;  // applied by StartServer
  std::unique_ptr<apiserver::ApiServer> server_;
  client::Config config_;
  std::unique_ptr<Client> client_;
};

}  // namespace cstor::cptest
