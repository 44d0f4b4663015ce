// `cstor apiserver`: the embedded Kubernetes-compatible API server, for local mode.
#include <csignal>
#include <cstdio>

#include "apiserver/server.h"
#include "cli/cli.h"

namespace cstor::cli {
namespace {

struct ApiServerArgs {
  std::string data = "data/apiserver";
  std::string listen = "127.0.0.1:6443";
  bool no_tls = false;
  std::string token_file;
  size_t history = 100'000;
  size_t history_mib = 64;
  int bookmark_seconds = 30;
  std::string service_range = "127.100.0.0/16";
};

Status RunApiServer(const ApiServerArgs& a) {
  apiserver::ApiServerOptions o;
  o.data_dir = a.data;
  auto colon = a.listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("--listen wants ADDRESS:PORT");
  o.address = a.listen.substr(0, colon);
  try {
    o.port = std::stoi(a.listen.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::InvalidArgument("--listen: bad port in '" + a.listen + "'");
  }
  if (o.port < 0 || o.port > 65535) return Status::InvalidArgument("--listen: port out of range");
  o.tls = !a.no_tls;
  if (!a.token_file.empty()) {
    FILE* f = std::fopen(a.token_file.c_str(), "r");
    if (f == nullptr) return Status::FromErrno(errno, "open " + a.token_file);
    char buf[512] = {};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    o.token.assign(buf, n);
    while (!o.token.empty() && std::isspace(static_cast<unsigned char>(o.token.back()))) o.token.pop_back();
    if (o.token.size() < 16) return Status::InvalidArgument("--token-file: the token must be at least 16 characters");
  }
  o.history_limit = a.history;
  o.history_bytes = a.history_mib << 20;
  o.service_cluster_ip_range = a.service_range;
  o.bookmark_interval = std::chrono::seconds(a.bookmark_seconds);
  o.crd_manifests = apiserver::EmbeddedCrdManifests();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  auto server = apiserver::ApiServer::Start(std::move(o));
  if (!server.ok()) return server.status();
  std::printf("apiserver: %s\nkubeconfig: %s\n", (*server)->url().c_str(),
              (*server)->kubeconfig_path().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("apiserver: stopping (signal %d)\n", sig);
  (*server)->Stop();
  return Status::Ok();
}

}  // namespace

void AddApiServerCommand(Cli& cli) {
  auto a = std::make_shared<ApiServerArgs>();
  CLI::App* cmd = cli.app.add_subcommand(
      "apiserver", "embedded Kubernetes-compatible API server (local mode); kubectl works with "
                   "the kubeconfig it writes into --data");
  cmd->add_option("--data", a->data, "directory for the database, TLS files, token and kubeconfig")
      ->capture_default_str();
  cmd->add_option("--listen", a->listen, "address:port to serve on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_flag("--no-tls", a->no_tls, "serve plain HTTP (tokens are still required)");
  cmd->add_option("--token-file", a->token_file,
                  "file holding the bearer token clients must present (default: generated into --data)");
  cmd->add_option("--service-cluster-ip-range", a->service_range,
                  "IPv4 range Services get their cluster IPs from (on loopback in local mode, so "
                  "they are reachable on this machine)")
      ->capture_default_str();
  cmd->add_option("--watch-history", a->history, "changes kept for watches to resume from")
      ->capture_default_str()->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  cmd->add_option("--watch-history-mib", a->history_mib,
                  "MiB of objects (as serialized) the watch history may hold; the oldest changes "
                  "go first")
      ->capture_default_str()->check(CLI::Range(size_t{1}, size_t{65536}));
  cmd->add_option("--bookmark-seconds", a->bookmark_seconds, "interval between watch bookmarks")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  OnRun(cli, cmd, [a] { return RunApiServer(*a); });
}

}  // namespace cstor::cli
