#include "base/buggify.h"

#include <map>
#include <string>

#include "base/check.h"
#include "base/random.h"

namespace cstor::buggify {

bool g_enabled = false;

namespace {

struct State {
  Random* rng = nullptr;
  std::map<std::string, bool, std::less<>> sites;  // site -> switched on for this seed
  uint64_t fired = 0;
};
State* g_state = nullptr;

}  // namespace

Scope::Scope(Random* rng) {
  CSTOR_CHECK(g_state == nullptr);
  g_state = new State{rng, {}, 0};
  g_enabled = true;
}

Scope::~Scope() {
  g_enabled = false;
  delete g_state;
  g_state = nullptr;
}

bool Fire(std::string_view site) {
  if (g_state == nullptr) return false;
  auto it = g_state->sites.find(site);
  if (it == g_state->sites.end()) {
    it = g_state->sites.emplace(std::string(site), g_state->rng->OneIn(4)).first;
  }
  if (!it->second || !g_state->rng->OneIn(4)) return false;
  g_state->fired++;
  return true;
}

uint64_t Range(uint64_t lo, uint64_t hi) {
  CSTOR_CHECK(g_state != nullptr);
  return g_state->rng->Range(lo, hi);
}

uint64_t FiredCount() { return g_state == nullptr ? 0 : g_state->fired; }

}  // namespace cstor::buggify
