// Where the API server is and how to authenticate to it: from a kubeconfig file (local
// mode, a user's shell) or from the service account Kubernetes mounts into a pod.
#pragma once

#include <string>

#include "base/result.h"

namespace cstor::client {

struct Config {
  std::string server;          // "https://127.0.0.1:6443"
  std::string token;           // bearer token
  // Where the token comes from, if a file: the client reads it again every minute and
  // after a 401, since projected service-account tokens rotate under a running process.
  std::string token_file;
  std::string client_cert_pem;  // a client certificate and its key (kubeadm, kind, minikube)
  std::string client_key_pem;
  std::string ca_pem;          // certificates to trust; empty: the system's
  bool insecure_skip_tls_verify = false;
  std::string ns = "default";  // the default namespace
  std::string user_agent = "cstor";
};

// The kubeconfig at `path`, using `context` (empty: its current-context). Users with a
// token, a tokenFile, or a client certificate and key (inline data or files) are
// supported; exec and auth-provider plugins are not.
Result<Config> LoadKubeconfig(const std::string& path, const std::string& context = "");

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the service account's
// token, CA and namespace under `root` (normally /var/run/secrets/kubernetes.io/serviceaccount).
Result<Config> InClusterConfig(
    const std::string& root = "/var/run/secrets/kubernetes.io/serviceaccount");

// The usual search: an explicit kubeconfig path, else $KUBECONFIG, else in-cluster, else
// ~/.kube/config.
Result<Config> DefaultConfig(const std::string& kubeconfig = "");

}  // namespace cstor::client
