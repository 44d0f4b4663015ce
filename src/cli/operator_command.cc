// `cstor operator`: the controllers that reconcile cStor's resources, run under leader
// election so that any number of replicas may run and at most one acts.
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "base/log.h"
#include "cli/cli.h"
#include "api/kube_types.h"
#include "client/client.h"
#include "client/events.h"
#include "client/informer_factory.h"
#include "client/leader_election.h"
#include "controllers/volume_ready.h"

namespace cstor::cli {
namespace {

struct OperatorArgs {
  std::string kubeconfig;
  std::string ns = "openebs";
  std::string identity;
  bool leader_elect = true;
};

Status RunOperator(const OperatorArgs& a) {
  auto config = client::DefaultConfig(a.kubeconfig);
  if (!config.ok()) return config.status();
  config->user_agent = "cstor-operator";
  client::Client api(*config);
  // Fail early, with the server's words, if it cannot be reached or refuses us.
  if (auto ns = api.Get(api::Namespace::kType, "", a.ns); !ns.ok()) {
    return ns.status().WithContext("cannot read namespace " + a.ns + " from " + config->server);
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const std::string identity = a.identity.empty() ? fmt::format("{}_{}", host, getpid()) : a.identity;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  client::EventRecorder events(api, "cstor-operator", host);
  std::unique_ptr<client::LeaderElector> elector;
  if (a.leader_elect) {
    client::LeaderElectionOptions o;
    o.ns = a.ns;
    o.lease_name = "cstor-operator";
    o.identity = identity;
    elector = std::make_unique<client::LeaderElector>(api, o);
  }
  // Every replica keeps its caches warm, so a new leader acts at once; only the leader's
  // controllers reconcile (may_act reads the elector's clock, so a replica whose term
  // ran out stops writing before another can take over).
  client::InformerFactory informers(api, {.ns = a.ns});
  controllers::VolumeReadyOptions ready_options;
  if (elector) ready_options.may_act = [&e = *elector] { return e.IsLeader(); };
  controllers::VolumeReadyController volume_ready(informers, events, ready_options);
  Status failed = volume_ready.Start();
  if (!failed.ok()) return failed;
  if (elector) {
    // Losing the lease ends the process: a fresh start is the simplest way to be sure
    // nothing of the old term keeps acting.
    elector->Start(nullptr, [] { kill(getpid(), SIGTERM); });
  }
  std::printf("operator: %s watching namespace %s on %s%s\n", identity.c_str(), a.ns.c_str(),
              config->server.c_str(), a.leader_elect ? " (leader election on Lease cstor-operator)" : "");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  volume_ready.Stop();
  if (elector) elector->Stop();
  return Status::Ok();
}

}  // namespace

void AddOperatorCommand(Cli& cli) {
  auto a = std::make_shared<OperatorArgs>();
  CLI::App* cmd = cli.app.add_subcommand(
      "operator", "run cStor's controllers against the Kubernetes API (or `cstor apiserver`)");
  cmd->add_option("--kubeconfig", a->kubeconfig,
                  "kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  cmd->add_option("--namespace", a->ns, "namespace holding cStor's resources")->capture_default_str();
  cmd->add_option("--identity", a->identity, "leader election identity (default: hostname_pid)");
  cmd->add_flag("!--no-leader-elect", a->leader_elect, "act without taking the leader lease");
  OnRun(cli, cmd, [a] { return RunOperator(*a); });
}

}  // namespace cstor::cli
