#!/usr/bin/env python3
"""Mutation test of the replication proof.

Applies each deliberate break listed in sim/mutants.txt, one at a time, to a copy of the
tree, builds replication_sim there and runs it over the seed budget, stopping at the first
failing seed. A break the simulation does not catch means the proof has a hole. Prints one
line per mutant and `caught K of N`; exits 0 only when every mutant is caught.

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
    mutants, cur = [], None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key == "mutant":
                cur = {"name": value, "occurrence": 0, "line": lineno}
                mutants.append(cur)
            elif cur is None or key not in ("file", "find", "replace", "why", "occurrence"):
                sys.exit(f"{path}:{lineno}: unexpected line: {line}")
            elif key == "occurrence":
                cur["occurrence"] = int(value)
            else:
                cur[key] = value
    for m in mutants:
        for key in ("file", "find", "replace", "why"):
            if key not in m:
                sys.exit(f"{path}:{m['line']}: mutant {m['name']} has no `{key}`")
    return mutants


def mutate(text, m):
    """Returns text with the mutant applied, or exits if it no longer applies."""
    count = text.count(m["find"])
    n = m["occurrence"]
    if (n == 0 and count != 1) or (n > 0 and count < n):
        sys.exit(f"mutant {m['name']}: `{m['find']}` occurs {count} times in {m['file']}; "
                 "update sim/mutants.txt to match the code")
    at = -1
    for _ in range(max(n, 1)):
        at = text.index(m["find"], at + 1)
    return text[:at] + m["replace"] + text[at + len(m["find"]):]


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
    r = subprocess.run(["ninja", "-C", out, "replication_sim"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-2000:])
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=300, help="seeds per mutant (from seed 0)")
    ap.add_argument("--seconds", type=int, default=15, help="simulated seconds of faults per seed")
    ap.add_argument("--only", action="append", help="run only this mutant (repeatable)")
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "mutation"))
    args = ap.parse_args()

    mutants = parse_mutants(os.path.join(ROOT, "sim", "mutants.txt"))
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
        path = os.path.join(tree, m["file"])
        originals.setdefault(m["file"], open(path).read())
        mutate(originals[m["file"]], m)

    print(f"mutation test: {len(mutants)} mutants, up to {args.seeds} seeds each "
          f"(in {args.dir})", flush=True)
    caught, missed = 0, []
    for m in mutants:
        path = os.path.join(tree, m["file"])
        start = time.time()
        try:
            with open(path, "w") as f:
                f.write(mutate(originals[m["file"]], m))
            if not build(tree, out):
                sys.exit(f"mutant {m['name']} does not build")
            r = subprocess.run([os.path.join(out, "sim", "replication_sim"), "--seed", "0",
                                "--seeds", str(args.seeds), "--seconds", str(args.seconds),
                                "--stop-on-failure"], capture_output=True, text=True)
        finally:
            with open(path, "w") as f:
                f.write(originals[m["file"]])
        secs = time.time() - start
        failed = [l for l in r.stdout.splitlines() if " FAILED " in l]
        if r.returncode != 0 and failed:
            caught += 1
            seed, _, why = failed[0].partition(" FAILED ")
            print(f"  caught  {m['name']:30} {seed} ({secs:.0f} s): {why[:150]}", flush=True)
        elif r.returncode != 0:
            sys.exit(f"mutant {m['name']}: replication_sim exited {r.returncode}:\n"
                     f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
        else:
            missed.append(m["name"])
            print(f"  MISSED  {m['name']:30} ({secs:.0f} s): {m['why']}", flush=True)
    print(f"caught {caught} of {len(mutants)}")
    if missed:
        print(f"mutation test: the simulation did not catch: {', '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
