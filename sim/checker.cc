#include "sim/checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/random.h"
#include "sim/sim_constants.h"

namespace cstor::sim {
namespace {

void FillSector(uint64_t id, uint64_t sector, char* out) {
  std::memcpy(out, &id, 8);
  std::memcpy(out + 8, &sector, 8);
  Random rng(id * 1'000'003 + sector);
  for (size_t i = 16; i < kSector; i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(out + i, &v, std::min<size_t>(8, kSector - i));
  }
}

}  // namespace

uint64_t Checker::BeginWrite(uint64_t now, uint64_t first, uint64_t count, bool zeros) {
  writes_.push_back(WriteRec{first, count, zeros, now});
  uint64_t id = writes_.size();
  for (uint64_t s = first; s < first + count; s++) by_sector_[s].push_back(static_cast<uint32_t>(id));
  return id;
}

std::string Checker::Content(uint64_t id, uint64_t first, uint64_t count) const {
  std::string out(count * kSector, '\0');
  if (writes_[id - 1].zeros) return out;
  for (uint64_t i = 0; i < count; i++) FillSector(id, first + i, out.data() + i * kSector);
  return out;
}

void Checker::WritesIn(uint64_t first_sector, std::string_view data, std::set<uint64_t>& out) {
  for (size_t i = 0; i + kSector <= data.size(); i += kSector) {
    uint64_t id = 0, at = 0;
    std::memcpy(&id, data.data() + i, 8);
    std::memcpy(&at, data.data() + i + 8, 8);
    if (id != 0 && at == first_sector + i / kSector) out.insert(id);
  }
}

bool Checker::MayBeGone(const WriteRec& w) const {
  return w.ok && w.complete > last_flush_issue_ &&
         static_cast<uint32_t>(std::popcount(w.lost_on)) > tolerated_;
}

void Checker::EndWrite(uint64_t id, uint64_t now, bool ok) {
  WriteRec& w = writes_[id - 1];
  w.complete = now;
  w.ok = ok;
  if (!ok) return;
  if (MayBeGone(w)) {  // lost on enough replicas before it was acknowledged
    w.required = false;
    return;
  }
  for (uint64_t s = w.first; s < w.first + w.count; s++) Record(s, now, static_cast<uint32_t>(id));
}

void Checker::Record(uint64_t sector, uint64_t complete, uint32_t id) {
  Acked next{complete, writes_[id - 1].issue, id};
  if (!acked_[sector].empty() && acked_[sector].back().max_issue > next.max_issue) {
    next.max_issue = acked_[sector].back().max_issue;
    next.max_id = acked_[sector].back().max_id;
  }
  acked_[sector].push_back(next);
}

void Checker::Lost(const std::set<uint64_t>& writes, uint32_t replica) {
  bool changed = false;
  auto lose = [&](uint32_t id) {
    WriteRec& w = writes_[id - 1];
    w.lost_on |= 1u << replica;
    if (w.required && MayBeGone(w)) {
      w.required = false;
      changed = true;
    }
  };
  for (uint64_t id : writes) {
    if (id == 0 || id > writes_.size()) continue;
    lose(static_cast<uint32_t>(id));
    // What the replica held of a sector before this write is gone with it too (the write
    // replaced it there), back to a write the last flush made durable.
    const WriteRec& w = writes_[id - 1];
    for (uint64_t sec = w.first; sec < w.first + w.count; sec++) {
      changed |= LoseBack(sec, static_cast<uint32_t>(id), replica);
    }
  }
  if (changed) Rebuild();
}

bool Checker::LoseBack(uint64_t sector, uint32_t before, uint32_t replica) {
  bool changed = false;
  const auto& ids = by_sector_[sector];
  auto it = std::lower_bound(ids.begin(), ids.end(), before);
  while (it != ids.begin()) {
    WriteRec& o = writes_[*--it - 1];
    if (o.ok && o.complete <= last_flush_issue_) break;
    o.lost_on |= 1u << replica;
    if (o.required && MayBeGone(o)) {
      o.required = false;
      changed = true;
    }
  }
  return changed;
}

void Checker::LostUnder(uint64_t first, uint64_t count, uint32_t replica) {
  bool changed = false;
  for (uint64_t sec = first; sec < first + count && sec < by_sector_.size(); sec++) {
    changed |= LoseBack(sec, UINT32_MAX, replica);
  }
  if (changed) Rebuild();
}

void Checker::UnmapsMayBeLost() {
  for (auto& w : writes_) {
    if (w.zeros && w.ok && w.complete > last_flush_issue_) w.required = false;
  }
  Rebuild();
}

void Checker::Rebuild() {
  for (auto& a : acked_) a.clear();
  std::vector<uint32_t> order;
  for (uint32_t id = 1; id <= writes_.size(); id++) {
    if (writes_[id - 1].ok && writes_[id - 1].required) order.push_back(id);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return writes_[a - 1].complete < writes_[b - 1].complete;
  });
  for (uint32_t id : order) {
    const WriteRec& w = writes_[id - 1];
    for (uint64_t s = w.first; s < w.first + w.count; s++) Record(s, w.complete, id);
  }
}

uint32_t Checker::Stale(uint64_t sector, uint64_t candidate_complete, uint64_t read_issue) const {
  // The latest issue time among required writes acknowledged before the read was issued.
  const auto& a = acked_[sector];
  auto it = std::lower_bound(a.begin(), a.end(), read_issue,
                             [](const Acked& x, uint64_t t) { return x.complete < t; });
  if (it == a.begin()) return 0;
  return candidate_complete < std::prev(it)->max_issue ? std::prev(it)->max_id : 0;
}

std::optional<std::string> Checker::CheckSector(uint64_t sector, uint64_t read_issue,
                                                uint64_t read_done, const char* bytes) const {
  static const char kZeros[kSector] = {};
  if (std::memcmp(bytes, kZeros, kSector) == 0) {
    // Zeros: the initial contents (finished before anything) or some unmap.
    if (!Stale(sector, 0, read_issue)) return std::nullopt;
    for (auto id_it = by_sector_[sector].rbegin(); id_it != by_sector_[sector].rend(); ++id_it) {
      const WriteRec& w = writes_[*id_it - 1];
      if (w.zeros && w.issue < read_done && !Stale(sector, w.complete, read_issue)) return std::nullopt;
    }
    return fmt::format("sector {} reads zeros, older than an acknowledged write", sector);
  }
  uint64_t id = 0, at = 0;
  std::memcpy(&id, bytes, 8);
  std::memcpy(&at, bytes + 8, 8);
  if (id == 0 || id > writes_.size() || at != sector) {
    return fmt::format("sector {} holds garbage (claims write {} sector {})", sector, id, at);
  }
  char expected[kSector];
  FillSector(id, sector, expected);
  if (std::memcmp(bytes, expected, kSector) != 0) {
    return fmt::format("sector {} holds a damaged copy of write {}", sector, id);
  }
  const WriteRec& w = writes_[id - 1];
  if (w.zeros || sector < w.first || sector >= w.first + w.count) {
    return fmt::format("sector {} holds write {}, which did not write it", sector, id);
  }
  if (w.issue >= read_done) return fmt::format("sector {} holds write {} from the future", sector, id);
  if (uint32_t newer = Stale(sector, w.complete, read_issue)) {
    const WriteRec& n = writes_[newer - 1];
    return fmt::format("sector {} holds write {} (issued {} us, done {} us{}), older than write "
                       "{} (issued {} us, acknowledged {} us) — read issued {} us", sector, id,
                       w.issue, w.complete, w.ok ? "" : ", failed", newer, n.issue, n.complete,
                       read_issue);
  }
  return std::nullopt;
}

std::optional<std::string> Checker::CheckRead(uint64_t read_issue, uint64_t read_done,
                                              uint64_t first, const std::string& data) const {
  for (uint64_t i = 0; i < data.size() / kSector; i++) {
    if (auto bad = CheckSector(first + i, read_issue, read_done, data.data() + i * kSector)) {
      return bad;
    }
  }
  return std::nullopt;
}

}  // namespace cstor::sim
