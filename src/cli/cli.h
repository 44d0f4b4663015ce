// The `cstor` command line: one binary, a subcommand per role. Each subcommand registers
// its options on the shared CLI::App and, when chosen, leaves the work to run in Cli::run.
// main() maps the resulting Status to an exit code: 0 OK, 2 bad input, 1 anything else.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/pool.h"

namespace cstor::cli {

struct Cli {
  CLI::App app{"cstor: replicated block storage for Kubernetes", "cstor"};
  std::function<Status()> run;
};

void AddPoolCommands(Cli& cli);
void AddVolumeCommands(Cli& cli);
void AddDemoCommand(Cli& cli);
void AddReplicationCommands(Cli& cli);
void AddApiServerCommand(Cli& cli);
void AddOperatorCommand(Cli& cli);

// Sets `run` to call fn when the subcommand is chosen.
inline void OnRun(Cli& cli, CLI::App* sub, std::function<Status()> fn) {
  sub->callback([&cli, fn = std::move(fn)] { cli.run = fn; });
}

// Parses a size option ("10G"), naming the option in the error.
Result<uint64_t> ParseSizeOption(const std::string& option, const std::string& text);
// Opens the pool in dir with default options, with an error that says what to do.
Result<std::unique_ptr<engine::Pool>> OpenPool(const std::string& dir);
// Splits "volume@snapshot"; InvalidArgument if either half is missing.
Result<std::pair<std::string, std::string>> SplitSnapshotName(const std::string& text);

// A left-aligned text table for terminal output.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-24 08:12:00" from microseconds since the epoch (UTC).
std::string FormatTime(uint64_t micros);

}  // namespace cstor::cli
