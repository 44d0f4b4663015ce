// cstor: the composition root. Every process role is a subcommand of this one binary.
#include <sys/resource.h>

#include <cstdio>

#include "base/log.h"
#include "cli/cli.h"

int main(int argc, char** argv) {
  // Servers hold a descriptor per connection, target session and open file: take the
  // whole allowance the administrator granted (the soft limit is often 1,024 of a much
  // larger hard one), as Go programs such as kube-apiserver do at start.
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  cstor::cli::Cli cli;
  std::string log_level = "info";
  cli.app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  cli.app.require_subcommand(1);
  cstor::cli::AddPoolCommands(cli);
  cstor::cli::AddVolumeCommands(cli);
  cstor::cli::AddReplicationCommands(cli);
  cstor::cli::AddDemoCommand(cli);
  cstor::cli::AddApiServerCommand(cli);
  cstor::cli::AddOperatorCommand(cli);
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other usage error is "bad input".
    return cli.app.exit(e) == 0 ? 0 : 2;
  }
  if (!cstor::SetLogLevel(log_level)) {
    std::fprintf(stderr, "cstor: unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  if (!cli.run) return 0;
  cstor::Status s = cli.run();
  if (s.ok()) return 0;
  std::fprintf(stderr, "cstor: %s\n", s.message().c_str());
  return s.Is(cstor::Code::kInvalidArgument) ? 2 : 1;
}
