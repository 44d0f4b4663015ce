#include "env/mem_env.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <thread>

namespace cstor {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSector = 512;
using Page = std::array<std::byte, kPage>;

// A sparse image of a file: pages that were never written read as zeros.
struct Image {
  std::map<uint64_t, Page> pages;
  uint64_t size = 0;

  void Write(uint64_t offset, const std::byte* data, size_t n) {
    while (n > 0) {
      uint64_t page = offset / kPage, in_page = offset % kPage;
      size_t chunk = std::min<size_t>(n, kPage - in_page);
      auto [it, inserted] = pages.try_emplace(page);
      if (inserted) it->second.fill(std::byte{0});
      std::memcpy(it->second.data() + in_page, data, chunk);
      offset += chunk;
      data += chunk;
      n -= chunk;
    }
  }
  void Read(uint64_t offset, std::byte* out, size_t n) const {
    while (n > 0) {
      uint64_t page = offset / kPage, in_page = offset % kPage;
      size_t chunk = std::min<size_t>(n, kPage - in_page);
      auto it = pages.find(page);
      if (it == pages.end()) {
        std::memset(out, 0, chunk);
      } else {
        std::memcpy(out, it->second.data() + in_page, chunk);
      }
      offset += chunk;
      out += chunk;
      n -= chunk;
    }
  }
  void Truncate(uint64_t new_size) {
    if (new_size < size) {
      pages.erase(pages.lower_bound((new_size + kPage - 1) / kPage), pages.end());
      if (new_size % kPage != 0) {
        auto it = pages.find(new_size / kPage);
        if (it != pages.end()) {
          std::memset(it->second.data() + new_size % kPage, 0, kPage - new_size % kPage);
        }
      }
    }
    size = new_size;
  }
};

// A write or truncate that has not been made durable yet.
struct InFlight {
  bool truncate = false;
  uint64_t offset = 0;  // or the new size, for a truncate
  std::vector<std::byte> data;
};

}  // namespace

// "/a//b/" -> "/a/b", as a real file system would resolve it.
static std::string Normalize(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

static std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

struct MemEnv::Node {
  Image current;
  Image durable;
  std::vector<InFlight> in_flight;
};

class MemFileHandle final : public File {
 public:
  MemFileHandle(MemEnv* env, std::shared_ptr<MemEnv::Node> node, uint64_t boot, bool read_only)
      : env_(env), node_(std::move(node)), boot_(boot), read_only_(read_only) {}

  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    MutexLock l(&env_->mu_);
    CSTOR_RETURN_IF_ERROR(env_->CheckAlive(boot_));
    const Image& img = node_->current;
    if (offset >= img.size) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), img.size - offset);
    img.Read(offset, out.data(), n);
    return n;
  }

  Status Write(uint64_t offset, std::span<const std::byte> data) override {
    MutexLock l(&env_->mu_);
    CSTOR_RETURN_IF_ERROR(env_->CheckAlive(boot_));
    if (read_only_) return Status::IoError("write to a file opened read-only");
    // The write reaches the page cache even if the machine dies during it: the power cut
    // then decides how much of it lands.
    node_->current.Write(offset, data.data(), data.size());
    node_->current.size = std::max(node_->current.size, offset + data.size());
    node_->in_flight.push_back(InFlight{false, offset, {data.begin(), data.end()}});
    return env_->Tick();
  }

  Status Sync() override {
    MutexLock l(&env_->mu_);
    CSTOR_RETURN_IF_ERROR(env_->CheckAlive(boot_));
    CSTOR_RETURN_IF_ERROR(env_->Tick());
    // The durable image catches up by the writes since the last sync (equal to copying
    // `current`, without copying every page of a large file at each sync).
    for (const InFlight& op : node_->in_flight) {
      if (op.truncate) {
        node_->durable.Truncate(op.offset);
        continue;
      }
      node_->durable.Write(op.offset, op.data.data(), op.data.size());
      node_->durable.size = std::max(node_->durable.size, op.offset + op.data.size());
    }
    node_->in_flight.clear();
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    MutexLock l(&env_->mu_);
    CSTOR_RETURN_IF_ERROR(env_->CheckAlive(boot_));
    return node_->current.size;
  }

  Status Truncate(uint64_t size) override {
    MutexLock l(&env_->mu_);
    CSTOR_RETURN_IF_ERROR(env_->CheckAlive(boot_));
    CSTOR_RETURN_IF_ERROR(env_->Tick());
    node_->current.Truncate(size);
    node_->in_flight.push_back(InFlight{true, size, {}});
    return Status::Ok();
  }

 private:
  MemEnv* const env_;
  const std::shared_ptr<MemEnv::Node> node_;
  const uint64_t boot_;
  const bool read_only_;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string path, uint64_t boot)
      : env_(env), path_(std::move(path)), boot_(boot) {}
  ~MemFileLock() override {
    MutexLock l(&env_->mu_);
    if (env_->boot_ == boot_) env_->locks_.erase(path_);  // a power cut already released it
  }

 private:
  MemEnv* const env_;
  const std::string path_;
  const uint64_t boot_;
};

MemEnv::MemEnv(uint64_t seed) : seeds_(seed) {
  MutexLock l(&mu_);
  dirs_.insert("/");
}

MemEnv::~MemEnv() = default;

void MemEnv::CrashAfterOps(uint64_t ops) {
  MutexLock l(&mu_);
  crash_countdown_ = std::max<uint64_t>(ops, 1);
}

bool MemEnv::crashed() {
  MutexLock l(&mu_);
  return dead_;
}

uint64_t MemEnv::mutating_ops() {
  MutexLock l(&mu_);
  return mutating_ops_;
}

Status MemEnv::Tick() {
  mutating_ops_++;
  if (crash_countdown_ > 0 && --crash_countdown_ == 0) dead_ = true;
  if (dead_) return Status::IoError("simulated crash: the machine is down");
  return Status::Ok();
}

Status MemEnv::CheckAlive(uint64_t boot) {
  if (dead_) return Status::IoError("simulated crash: the machine is down");
  if (boot != boot_) return Status::IoError("file handle from before a simulated crash");
  return Status::Ok();
}

void MemEnv::PowerCut(Random* rng) {
  for (auto& [path, node] : files_) {
    Image img = node->durable;
    for (const InFlight& op : node->in_flight) {
      uint64_t fate = rng ? rng->Uniform(100) : 99;  // without rng: drop everything
      if (op.truncate) {
        if (fate < 50) img.Truncate(op.offset);
        continue;
      }
      if (fate < 40) {  // landed whole
        img.Write(op.offset, op.data.data(), op.data.size());
        img.size = std::max(img.size, op.offset + op.data.size());
      } else if (fate < 70) {  // torn: a random subset of its sectors landed
        for (size_t off = 0; off < op.data.size(); off += kSector) {
          if (!rng->OneIn(2)) continue;
          size_t n = std::min<size_t>(kSector, op.data.size() - off);
          img.Write(op.offset + off, op.data.data() + off, n);
          img.size = std::max(img.size, op.offset + off + n);
        }
      }  // else: lost
    }
    node->current = img;
    node->durable = std::move(img);
    node->in_flight.clear();
  }
  locks_.clear();  // the processes holding them died
  dead_ = false;
  crash_countdown_ = 0;
  boot_++;
}

void MemEnv::SimulatePowerCut(Random& rng) {
  MutexLock l(&mu_);
  PowerCut(&rng);
}

void MemEnv::DropUnsyncedData() {
  MutexLock l(&mu_);
  PowerCut(nullptr);
}

Status MemEnv::CorruptBytes(const std::string& raw_path, uint64_t offset, size_t n,
                            Random& rng) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound(path);
  std::vector<std::byte> garbage(n);
  for (auto& b : garbage) b = static_cast<std::byte>(rng.Next());
  it->second->current.Write(offset, garbage.data(), n);
  it->second->durable.Write(offset, garbage.data(), n);
  return Status::Ok();
}

Result<std::unique_ptr<File>> MemEnv::OpenFile(const std::string& raw_path,
                                               const FileOptions& options) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!options.create) return Status::NotFound("open " + path + ": no such file");
    if (!dirs_.contains(ParentOf(path))) {
      return Status::NotFound("open " + path + ": no such directory");
    }
    CSTOR_RETURN_IF_ERROR(Tick());
    it = files_.emplace(path, std::make_shared<Node>()).first;
  } else if (options.create && options.exclusive) {
    return Status::AlreadyExists("open " + path + ": file exists");
  }
  return std::unique_ptr<File>(new MemFileHandle(this, it->second, boot_, options.read_only));
}

Status MemEnv::DeleteFile(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (!files_.contains(path)) return Status::NotFound("delete " + path + ": no such file");
  CSTOR_RETURN_IF_ERROR(Tick());
  files_.erase(path);
  return Status::Ok();
}

Status MemEnv::RenameFile(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = Normalize(raw_from), to = Normalize(raw_to);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  auto it = files_.find(from);
  if (it == files_.end()) return Status::NotFound("rename " + from + ": no such file");
  CSTOR_RETURN_IF_ERROR(Tick());
  auto node = it->second;
  files_.erase(it);
  files_[to] = std::move(node);
  return Status::Ok();
}

Status MemEnv::CreateDir(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (dirs_.contains(path) || files_.contains(path)) {
    return Status::AlreadyExists("mkdir " + path + ": exists");
  }
  if (!dirs_.contains(ParentOf(path))) return Status::NotFound("mkdir " + path + ": no parent");
  CSTOR_RETURN_IF_ERROR(Tick());
  dirs_.insert(path);
  return Status::Ok();
}

Status MemEnv::DeleteDir(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (!dirs_.contains(path)) return Status::NotFound("rmdir " + path + ": no such directory");
  std::string prefix = path + "/";
  for (auto* set : {&dirs_}) {
    auto it = set->lower_bound(prefix);
    if (it != set->end() && it->starts_with(prefix)) {
      return Status::FailedPrecondition("rmdir " + path + ": not empty");
    }
  }
  auto f = files_.lower_bound(prefix);
  if (f != files_.end() && f->first.starts_with(prefix)) {
    return Status::FailedPrecondition("rmdir " + path + ": not empty");
  }
  CSTOR_RETURN_IF_ERROR(Tick());
  dirs_.erase(path);
  return Status::Ok();
}

Result<std::vector<std::string>> MemEnv::GetChildren(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (!dirs_.contains(dir)) return Status::NotFound("list " + dir + ": no such directory");
  std::string prefix = dir == "/" ? dir : dir + "/";
  std::vector<std::string> names;
  auto collect = [&](const std::string& path) {
    if (path.size() > prefix.size() && path.starts_with(prefix) &&
        path.find('/', prefix.size()) == std::string::npos) {
      names.push_back(path.substr(prefix.size()));
    }
  };
  for (const auto& [path, node] : files_) collect(path);
  for (const auto& path : dirs_) collect(path);
  return names;
}

Result<FileInfo> MemEnv::Stat(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  FileInfo info;
  if (dirs_.contains(path)) {
    info.exists = info.is_directory = true;
  } else if (auto it = files_.find(path); it != files_.end()) {
    info.exists = true;
    info.size = it->second->current.size;
  }
  return info;
}

Status MemEnv::SyncDir(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (!dirs_.contains(dir)) return Status::NotFound("sync " + dir + ": no such directory");
  return Tick();
}

Result<std::unique_ptr<FileLock>> MemEnv::LockFile(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock l(&mu_);
  CSTOR_RETURN_IF_ERROR(CheckAlive(boot_));
  if (!locks_.insert(path).second) {
    return Status::FailedPrecondition(path + " is locked by another process or open");
  }
  return std::unique_ptr<FileLock>(new MemFileLock(this, path, boot_));
}

uint64_t MemEnv::NowMicros() { return Env::Default()->NowMicros(); }
uint64_t MemEnv::WallMicros() { return Env::Default()->WallMicros(); }
void MemEnv::SleepForMicros(uint64_t micros) { Env::Default()->SleepForMicros(micros); }

uint64_t MemEnv::NewRandomSeed() {
  MutexLock l(&mu_);
  return seeds_.Next();
}

}  // namespace cstor
