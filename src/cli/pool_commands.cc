// cstor pool create | status | scrub | check
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/units.h"
#include "cli/cli.h"

namespace cstor::cli {
namespace {

struct CreateArgs {
  std::string dir;
  std::vector<std::string> devices;  // PATH or PATH:SIZE
  std::string size = "10G";
  uint32_t ro_threshold = 85;
  bool buffered = false;
};

Status RunCreate(const CreateArgs& a) {
  std::vector<engine::DeviceSpec> specs;
  for (const std::string& d : a.devices) {
    engine::DeviceSpec spec;
    size_t colon = d.rfind(':');
    spec.path = d.substr(0, colon);
    if (colon != std::string::npos) {
      CSTOR_ASSIGN_OR_RETURN(spec.size, ParseSizeOption("--device " + d, d.substr(colon + 1)));
    }
    specs.push_back(spec);
  }
  if (specs.empty()) {
    CSTOR_ASSIGN_OR_RETURN(uint64_t size, ParseSizeOption("--size", a.size));
    specs.push_back({"dev0.img", size});
  }
  engine::PoolOptions opts;
  opts.ro_threshold_pct = a.ro_threshold;
  opts.direct_io = !a.buffered;
  CSTOR_ASSIGN_OR_RETURN(auto pool, engine::Pool::Create(a.dir, specs, opts));
  engine::PoolStats s = pool->Stats();
  std::printf("created pool %s in %s: %s on %zu device(s), %s IO\n", s.guid.c_str(),
              a.dir.c_str(), FormatBytes(s.total_bytes).c_str(), s.devices.size(),
              s.direct_io ? "direct" : "buffered");
  return pool->Close();
}

Status RunStatus(const std::string& dir, bool json) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(dir));
  engine::PoolStats s = pool->Stats();
  auto volumes = pool->ListVolumes();
  if (json) {
    nlohmann::json j = {{"guid", s.guid},
                        {"dir", dir},
                        {"totalBytes", s.total_bytes},
                        {"usedBytes", s.used_bytes},
                        {"freeBytes", s.free_bytes},
                        {"readOnly", s.read_only},
                        {"roThresholdPercent", s.ro_threshold_pct},
                        {"volumes", volumes.size()},
                        {"checksumErrors", s.checksum_errors},
                        {"devices", s.devices}};
    std::printf("%s\n", j.dump(2).c_str());
    return pool->Close();
  }
  uint64_t logical = 0, allocated = 0, held = 0;
  for (const auto& v : volumes) {
    logical += v.size;
    allocated += v.allocated_bytes;
    held += v.snapshot_bytes;
  }
  Table t({"FIELD", "VALUE"});
  t.Add({"pool", s.guid});
  t.Add({"directory", dir});
  for (size_t i = 0; i < s.devices.size(); i++) t.Add({fmt::format("device {}", i), s.devices[i]});
  t.Add({"capacity", FormatBytes(s.total_bytes)});
  t.Add({"used", fmt::format("{} ({:.1f}%)", FormatBytes(s.used_bytes),
                             s.total_bytes ? 100.0 * s.used_bytes / s.total_bytes : 0.0)});
  t.Add({"free", FormatBytes(s.free_bytes)});
  t.Add({"read-only", s.read_only ? fmt::format("yes (at or above {}%)", s.ro_threshold_pct)
                                  : fmt::format("no (threshold {}%)", s.ro_threshold_pct)});
  t.Add({"volumes", fmt::format("{} ({} logical, {} in volumes, {} held by snapshots)",
                                volumes.size(), FormatBytes(logical), FormatBytes(allocated),
                                FormatBytes(held))});
  t.Add({"checksum errors", std::to_string(s.checksum_errors)});
  t.Add({"io mode", s.direct_io ? "direct" : "buffered"});
  std::printf("%s", t.Render().c_str());
  return pool->Close();
}

Status RunScrub(const std::string& dir) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(dir));
  auto report = pool->Scrub([](uint64_t done, uint64_t total) {
    std::fprintf(stderr, "\rscrub: %s of %s", FormatBytes(done).c_str(),
                 FormatBytes(total).c_str());
  });
  std::fprintf(stderr, "\n");
  if (!report.ok()) return report.status();
  for (const auto& e : report->errors) {
    std::printf("BAD  volume %s block %lu (io_seq %lu%s): %s\n", e.volume.c_str(), e.lba,
                e.io_seq, e.snapshot_only ? ", held by a snapshot" : "", e.message.c_str());
  }
  std::printf("scrubbed %lu blocks (%s): %zu bad\n", report->blocks_checked,
              FormatBytes(report->bytes_checked).c_str(), report->errors.size());
  CSTOR_RETURN_IF_ERROR(pool->Close());
  if (!report->errors.empty()) {
    return Status::Corruption(fmt::format("{} blocks failed their checksum",
                                          report->errors.size()));
  }
  return Status::Ok();
}

Status RunCheck(const std::string& dir) {
  CSTOR_ASSIGN_OR_RETURN(auto pool, OpenPool(dir));
  CSTOR_ASSIGN_OR_RETURN(auto report, pool->Check());
  for (const auto& p : report.problems) std::printf("PROBLEM  %s\n", p.c_str());
  std::printf("checked metadata: %lu units referenced, %lu allocated, %zu problems\n",
              report.referenced_units, report.allocated_units, report.problems.size());
  CSTOR_RETURN_IF_ERROR(pool->Close());
  if (!report.problems.empty()) return Status::Corruption("metadata is inconsistent");
  return Status::Ok();
}

}  // namespace

void AddPoolCommands(Cli& cli) {
  CLI::App* pool = cli.app.add_subcommand("pool", "create and inspect storage pools");
  pool->require_subcommand(1);

  auto create_args = std::make_shared<CreateArgs>();
  CLI::App* create = pool->add_subcommand("create", "create a pool in a directory");
  create->add_option("dir", create_args->dir, "pool directory (created if missing)")->required();
  create->add_option("--device", create_args->devices,
                     "backing file or block device, PATH or PATH:SIZE (repeatable; striped)");
  create->add_option("--size", create_args->size,
                     "size of the default device DIR/dev0.img, created sparse")
      ->capture_default_str();
  create->add_option("--ro-threshold", create_args->ro_threshold,
                     "refuse writes when this percentage is used (100: never)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  create->add_flag("--buffered", create_args->buffered, "use the page cache instead of direct IO");
  OnRun(cli, create, [create_args] { return RunCreate(*create_args); });

  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* status = pool->add_subcommand("status", "show capacity, usage and health");
  status->add_option("dir", *dir, "pool directory")->required();
  status->add_flag("--json", *json, "print JSON");
  OnRun(cli, status, [dir, json] { return RunStatus(*dir, *json); });

  CLI::App* scrub = pool->add_subcommand("scrub", "read and verify every stored block");
  scrub->add_option("dir", *dir, "pool directory")->required();
  OnRun(cli, scrub, [dir] { return RunScrub(*dir); });

  CLI::App* check = pool->add_subcommand("check", "verify the pool's metadata is consistent");
  check->add_option("dir", *dir, "pool directory")->required();
  OnRun(cli, check, [dir] { return RunCheck(*dir); });
}

}  // namespace cstor::cli
