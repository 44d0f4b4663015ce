# shellcheck shell=bash disable=SC2154
# Checks for the kubectl tests: pass/fail counting, bounded kubectl runs with expected exit
# codes and output, and starting and stopping `cstor apiserver`. Sourced; expects $dir
# (a scratch directory) and $cstor (the binary), and runs $KUBECTL (default: kubectl).
# Checks read "CONDITION && pass || fail WHAT"; pass always succeeds, so that is if-else:
# shellcheck disable=SC2015,SC2034
KUBECTL=${KUBECTL:-kubectl}

passed=0 failures=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
die() {
  echo "FAIL: $*"
  [[ ! -f $dir/server.log ]] || { echo "    server log:"; tail -n 20 "$dir/server.log" | sed 's/^/    /'; }
  exit 1
}

# run ARGS...: kubectl ARGS, bounded; its output (stdout and stderr) in $out, exit code in $rc.
run() {
  rc=0
  out=$(timeout 60 "$KUBECTL" --request-timeout=30s "$@" 2>&1) || rc=$?
}
# expect CODE PATTERN -- ARGS...: kubectl ARGS exits with CODE and prints PATTERN (ERE).
expect() {
  local code=$1 pattern=$2
  shift 3
  run "$@"
  if [[ $rc -ne $code ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    fail "kubectl $* -> exit $rc (want $code), output:"
    sed 's/^/    /' <<<"$out"
    echo "    (wanted /$pattern/)"
  else
    pass
  fi
}
# expect_no PATTERN WHAT: the output of the previous kubectl does not match PATTERN.
expect_no() {
  if grep -qE -- "$1" <<<"$out"; then
    fail "$2; output:"
    sed 's/^/    /' <<<"$out"
  else
    pass
  fi
}
# get JSONPATH ARGS...: prints the JSONPATH of what kubectl get ARGS finds; fails if it fails.
get() {
  local path=$1
  shift
  run get "$@" -o "jsonpath=$path"
  ((rc == 0)) || { echo "FAIL: kubectl get $* failed: $out" >&2; return 1; }
  printf '%s' "$out"
}
# wait_for FILE PATTERN SECONDS: FILE gets a line matching PATTERN.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_server LISTEN: starts `cstor apiserver` on $dir/api and waits for its kubeconfig.
start_server() {
  : >"$dir/server.out"
  "$cstor" apiserver --data "$dir/api" --listen "$1" >"$dir/server.out" 2>>"$dir/server.log" &
  server_pid=$!
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q '^kubeconfig: ' "$dir/server.out" && break
    lv_alive "$server_pid" || die "cstor apiserver exited at start: $(cat "$dir/server.out")"
    sleep 0.1
  done
  url=$(sed -n 's/^apiserver: \(https:\/\/.*\)$/\1/p' "$dir/server.out")
  KUBECONFIG=$(sed -n 's/^kubeconfig: //p' "$dir/server.out")
  [[ -n $url && -n $KUBECONFIG ]] || die "cstor apiserver printed no URL and kubeconfig within 30 s"
  [[ -f $KUBECONFIG ]] || die "the kubeconfig $KUBECONFIG does not exist"
  export KUBECONFIG
}

# stop_server: SIGTERM, and the server must exit by itself within 20 s with status 0.
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  local i status=0
  for ((i = 0; i < 200; i++)); do lv_alive "$server_pid" || break; sleep 0.1; done
  if lv_alive "$server_pid"; then
    fail "cstor apiserver still runs 20 s after SIGTERM"
    kill -9 "$server_pid"
  fi
  wait "$server_pid" || status=$?
  server_pid=""
  ((status == 0)) && grep -q '^apiserver: stopping' "$dir/server.out" &&
    pass || fail "cstor apiserver did not stop cleanly on SIGTERM (exit $status)"
}

