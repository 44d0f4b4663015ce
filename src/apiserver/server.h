// ApiServer: an embedded API server speaking the Kubernetes REST protocol, for running
// cstor on one machine (a laptop, CI) with the same controllers as on a real cluster.
//
// It serves discovery, CRUD with resourceVersion concurrency, merge, JSON and strategic
// merge patches, lists paged over one snapshot, the built-in kinds' defaults and
// validation, Service cluster IPs, the status subresource, deletion with finalizers and propagation policies, garbage
// collection through ownerReferences, watches with bookmarks, server-side Tables for
// kubectl, and CustomResourceDefinitions registered at run time and validated against
// their schemas. State lives in SQLite (WAL) under the data directory, which also holds
// the generated TLS certificate, the bearer token and a kubeconfig for clients.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace cstor::apiserver {

struct ApiServerOptions {
  std::string data_dir;                // created if missing
  std::string address = "127.0.0.1";
  int port = 6443;                     // 0: any free port
  bool tls = true;                     // false: plain HTTP (still token-checked)
  std::string token;                   // empty: the one in data_dir/token, generated once
  size_t history_limit = 100'000;      // changes kept for watches to resume from
  size_t history_bytes = 64 << 20;     // and their objects' size, serialized, at most
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(30)};
  // Seconds a watch without timeoutSeconds lasts before the client must re-establish it.
  int max_watch_seconds = 1800;
  // Where Services get their cluster IPs. The default is on loopback, so that in local
  // mode whatever the node runtime binds behind a Service answers at its address.
  std::string service_cluster_ip_range = "127.100.0.0/16";
  // Where the node runtime keeps container logs, which `kubectl logs` reads through
  // pods/log: <pod_log_dir>/<namespace>/<pod>/<container>.log, and the previous run's
  // as <container>.log.1. Empty: <data_dir>/pod-logs.
  std::string pod_log_dir;
  // Events are deleted this long after they last happened (kube-apiserver's --event-ttl),
  // looked for at this interval.
  std::chrono::seconds event_ttl{std::chrono::hours(1)};
  std::chrono::milliseconds event_sweep_interval{std::chrono::seconds(60)};
  // Threads that run requests. Open watches, followed logs and idle connections hold none.
  int threads = 16;
  // CustomResourceDefinition manifests (YAML) applied at start; by default the ones from
  // deploy/crds, built into the binary.
  std::vector<std::string> crd_manifests;
};

class ApiServer {
 public:
  // Starting a server sets SIGPIPE to be ignored for the process: a client that hangs up
  // mid-response must end that response, not the process.
  static Result<std::unique_ptr<ApiServer>> Start(ApiServerOptions options);
  ~ApiServer();  // stops

  int port() const;
  std::string url() const;             // "https://127.0.0.1:6443"
  std::string token() const;
  std::string ca_pem() const;          // the certificate clients should trust ("" without TLS)
  std::string kubeconfig_path() const; // data_dir/kubeconfig

  // Stops serving: open watches end, in-flight requests finish, the store is closed.
  void Stop();

  class Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The CRD manifests from deploy/crds, embedded at build time.
std::vector<std::string> EmbeddedCrdManifests();

}  // namespace cstor::apiserver
