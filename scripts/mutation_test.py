#!/usr/bin/env python3
"""Mutation test of the replication proof.

Applies each deliberate break listed in sim/mutants.txt, one at a time, to a copy of the
tree, builds the simulation there and runs its directed scenarios (sim_scenarios_test),
then, if they pass, replication_sim over the seed budget, stopping at the first failing
seed. A break neither catches means the proof has a hole. Prints one line per mutant and
`caught K of N`; exits 0 only when every mutant is caught.

  scripts/mutation_test.py [--seeds N] [--seconds S] [--only NAME ...] [--dir DIR]

The copy lives in DIR (default build/mutation) and is kept between runs, so a second run
rebuilds only what a mutant touches.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_mutants(path):
    """A mutant is a name, a why, and one or more edits (file, find, replace, occurrence)."""
    mutants, cur = [], None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key == "mutant":
                cur = {"name": value, "edits": [], "line": lineno}
                mutants.append(cur)
            elif cur is not None and key == "open":
                cur["open"] = value or "not yet caught"
            elif cur is None or key not in ("file", "find", "replace", "why", "occurrence"):
                sys.exit(f"{path}:{lineno}: unexpected line: {line}")
            elif key == "why":
                cur["why"] = value
            elif key == "file":
                cur["edits"].append({"file": value, "occurrence": 0})
            elif not cur["edits"]:
                sys.exit(f"{path}:{lineno}: `{key}` before `file`")
            elif key == "occurrence":
                cur["edits"][-1]["occurrence"] = int(value)
            else:
                cur["edits"][-1][key] = value
    for m in mutants:
        if "why" not in m or not m["edits"]:
            sys.exit(f"{path}:{m['line']}: mutant {m['name']} needs `why` and an edit")
        for e in m["edits"]:
            for key in ("find", "replace"):
                if key not in e:
                    sys.exit(f"{path}:{m['line']}: mutant {m['name']} has an edit without `{key}`")
    return mutants


def mutate(text, name, e):
    """Returns text with the edit applied, or exits if it no longer applies."""
    count = text.count(e["find"])
    n = e["occurrence"]
    if (n == 0 and count != 1) or (n > 0 and count < n):
        sys.exit(f"mutant {name}: `{e['find']}` occurs {count} times in {e['file']}; "
                 "update sim/mutants.txt to match the code")
    at = -1
    for _ in range(max(n, 1)):
        at = text.index(e["find"], at + 1)
    return text[:at] + e["replace"] + text[at + len(e["find"]):]


def mutated_files(m, originals):
    """The mutant's files with its edits applied (several edits may touch one file)."""
    out = {}
    for e in m["edits"]:
        out[e["file"]] = mutate(out.get(e["file"], originals[e["file"]]), m["name"], e)
    return out


def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                           cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    for f in files:
        f = f.decode()
        if not f or f.startswith("build/"):
            continue
        src, dst = os.path.join(ROOT, f), os.path.join(dest, f)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # Only what changed, so that ninja rebuilds only that.
        if not os.path.exists(dst) or open(src, "rb").read() != open(dst, "rb").read():
            shutil.copyfile(src, dst)  # a fresh mtime, so ninja sees the change
            shutil.copymode(src, dst)


def build(tree, out):
    if not os.path.exists(os.path.join(out, "build.ninja")):
        subprocess.run(["cmake", "-S", tree, "-B", out, "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g0", "-DCSTOR_WERROR=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
    r = subprocess.run(["ninja", "-C", out, "replication_sim", "sim_scenarios_test"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-2000:])
    return r.returncode == 0


def run_sim(binary, args):
    """Runs the seed budget split over the cores, seed ranges interleaved in small slices so
    that early seeds come first; stops everything at the first failing seed. Returns the exit
    status and the output of the run that failed (or of all)."""
    jobs = max(1, min(args.jobs, args.seeds))
    slice_len = 10
    slices = [(s, min(slice_len, args.seeds - s)) for s in range(0, args.seeds, slice_len)]
    running, outputs = [], []
    while slices or running:
        while slices and len(running) < jobs:
            first, count = slices.pop(0)
            p = subprocess.Popen([binary, "--seed", str(first), "--seeds", str(count),
                                  "--seconds", str(args.seconds), "--stop-on-failure"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            running.append(p)
        p = running[0]
        for q in running:
            if q.poll() is not None:
                p = q
                break
        out, _ = p.communicate()
        running.remove(p)
        if p.returncode != 0:
            for q in running:
                q.kill()
                q.wait()
            return p.returncode, out
        outputs.append(out)
    return 0, "".join(outputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=300, help="seeds per mutant (from seed 0)")
    ap.add_argument("--seconds", type=int, default=15, help="simulated seconds of faults per seed")
    ap.add_argument("--only", action="append", help="run only this mutant (repeatable)")
    ap.add_argument("--all", action="store_true", help="also run the mutants marked open")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="simulations run side by side")
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "mutation"))
    args = ap.parse_args()

    mutants = parse_mutants(os.path.join(ROOT, "sim", "mutants.txt"))
    open_ones = [m for m in mutants if m.get("open")]
    if not args.only and not args.all:
        # Known holes in the proof are listed, not run: the run checks what it claims.
        for m in open_ones:
            print(f"  open    {m['name']:30} {m['why']} ({m['open']})")
        mutants = [m for m in mutants if not m.get("open")]
    if args.only:
        unknown = set(args.only) - {m["name"] for m in mutants}
        if unknown:
            sys.exit(f"no such mutant: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["name"] in args.only]
    tree, out = os.path.join(args.dir, "tree"), os.path.join(args.dir, "out")
    os.makedirs(tree, exist_ok=True)
    copy_tree(tree)
    # Check every mutant still applies before spending time on any.
    originals = {}
    for m in mutants:
        for e in m["edits"]:
            originals.setdefault(e["file"], open(os.path.join(tree, e["file"])).read())
        mutated_files(m, originals)

    print(f"mutation test: {len(mutants)} mutants, up to {args.seeds} seeds each "
          f"(in {args.dir})", flush=True)
    caught, missed = 0, []
    for m in mutants:
        start = time.time()
        files = mutated_files(m, originals)
        try:
            for rel, text in files.items():
                with open(os.path.join(tree, rel), "w") as f:
                    f.write(text)
            if not build(tree, out):
                sys.exit(f"mutant {m['name']} does not build")
            scenarios = subprocess.run([os.path.join(out, "sim", "sim_scenarios_test"),
                                        "--gtest_brief=1"], capture_output=True, text=True)
            rc, output = (scenarios.returncode, scenarios.stdout) if scenarios.returncode != 0 \
                else run_sim(os.path.join(out, "sim", "replication_sim"), args)
        finally:
            for rel in files:
                with open(os.path.join(tree, rel), "w") as f:
                    f.write(originals[rel])
        secs = time.time() - start
        failed = [l for l in output.splitlines() if " FAILED " in l]
        failed_scenarios = [l.split("]", 1)[1].strip() for l in output.splitlines()
                            if l.startswith("[  FAILED  ]") and "." in l]
        if rc != 0 and failed_scenarios:
            caught += 1
            print(f"  caught  {m['name']:30} by scenario {failed_scenarios[0]} ({secs:.0f} s)",
                  flush=True)
        elif rc != 0 and failed:
            caught += 1
            seed, _, why = failed[0].partition(" FAILED ")
            print(f"  caught  {m['name']:30} {seed} ({secs:.0f} s): {why[:150]}", flush=True)
        elif rc != 0:
            sys.exit(f"mutant {m['name']}: replication_sim exited {rc}:\n{output[-3000:]}")
        else:
            missed.append(m["name"])
            print(f"  MISSED  {m['name']:30} ({secs:.0f} s): {m['why']}", flush=True)
    print(f"caught {caught} of {len(mutants)}"
          + (f" ({len(open_ones)} more listed as open)" if open_ones and not args.all and not args.only else ""))
    if missed:
        print(f"mutation test: the simulation did not catch: {', '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
