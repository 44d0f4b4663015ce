// Buggify: fault points that live in production code and fire only in simulation, in the
// manner of FoundationDB. A site names a place where the code may legally behave in an
// unusual way — a shorter timeout, a stalled step, a different but valid choice — so that
// the deterministic simulation reaches schedules that plain randomness in the world
// around the code would rarely produce.
//
//   if (CSTOR_BUGGIFY("rebuild.stall_batch")) delay = ...;
//
// Outside simulation nothing is enabled and a site costs one load of a global flag. The
// simulation enables buggify for a seed with its own generator: each site, the first time
// it is reached, is switched on for the rest of the seed with probability 1/4, and a site
// that is on fires with probability 1/4 each time it is reached. Runs stay deterministic.
//
// Threading: single-threaded use only (the simulation). Production never enables it.
#pragma once

#include <cstdint>
#include <string_view>

namespace cstor {

class Random;

namespace buggify {

extern bool g_enabled;

// Turns buggify on, drawing from rng (not owned; must outlive the scope), and off again.
class Scope {
 public:
  explicit Scope(Random* rng);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

// True if the site fires now. Call through CSTOR_BUGGIFY.
bool Fire(std::string_view site);
// A value in [lo, hi] from the simulation's generator. REQUIRES: enabled.
uint64_t Range(uint64_t lo, uint64_t hi);
// How often each site fired in this scope (for the simulation's summary).
uint64_t FiredCount();

}  // namespace buggify
}  // namespace cstor

#define CSTOR_BUGGIFY(site) (::cstor::buggify::g_enabled && ::cstor::buggify::Fire(site))
