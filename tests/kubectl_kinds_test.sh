#!/usr/bin/env bash
# The built-in kinds through several kubectl versions against `cstor apiserver`: the
# `kubectl create` commands that send protobuf bodies (namespace, configmap, secret,
# deployment, service, serviceaccount, RBAC), Service cluster IPs and table columns,
# strategic merge patches (kubectl patch's default), a changed client-side re-apply of
# a Deployment and a Service, server-side apply (removal, conflicts, force), `kubectl explain` (OpenAPI v2 for kubectl up to 1.28, v3
# after), `kubectl logs`, and `get` of every kind.
#   kubectl_kinds_test.sh PATH_TO_CSTOR [KUBECTL...]
# Without KUBECTLs: Debian's kubectl 1.20 that scripts/setup.sh unpacks under .cache/, the
# system kubectl, and the oldest and newest of the versions the machine image keeps under
# /usr/lib/google-cloud-sdk/bin (kubectl.1.NN).
# shellcheck disable=SC2015
set -euo pipefail
cstor=$(realpath "${1:?usage: kubectl_kinds_test.sh PATH_TO_CSTOR [KUBECTL...]}")
shift
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/local-volume.sh"  # lv_alive, lv_terminate

kubectls=("$@")
if ((${#kubectls[@]} == 0)); then
  old=$root/.cache/kubectl-1.20/usr/bin/kubectl
  [[ -x $old ]] && kubectls+=("$old") || echo "note: no kubectl 1.20 at $old (scripts/setup.sh unpacks it)"
  command -v kubectl >/dev/null && kubectls+=("$(command -v kubectl)")
  mapfile -t kept < <(find /usr/lib/google-cloud-sdk/bin -maxdepth 1 -name "kubectl.1.*" 2>/dev/null | sort -V)
  ((${#kept[@]} > 0)) && kubectls+=("${kept[0]}")
  ((${#kept[@]} > 1)) && kubectls+=("${kept[-1]}")
fi
((${#kubectls[@]} > 0)) || { echo "FAIL: no kubectl found"; exit 1; }

dir=$(mktemp -d /tmp/cstor-kubectl-kinds.XXXXXX)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || lv_terminate "$server_pid"
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
export KUBECACHEDIR=$dir/kube-cache
source "$root/tests/lib/kubectl_checks.sh"

start_server 127.0.0.1:0
echo "== cstor apiserver at $url"

declare -A tested=()
for KUBECTL in "${kubectls[@]}"; do
  version=$("$KUBECTL" version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -1)
  # The system kubectl may be one of the others (Debian's is 1.20): each version once.
  [[ -z ${tested[$version]:-} ]] || continue
  tested[$version]=1
  ns=k1-$version
  echo "== kubectl 1.$version ($KUBECTL)"

  # kubectl create: typed objects, sent as protobuf by kubectl 1.30 and later.
  expect 0 "namespace/$ns created" -- create namespace "$ns"
  expect 0 'configmap/settings created' -- create configmap settings -n "$ns" --from-literal=a=b
  expect 0 'secret/chap created' -- create secret generic chap -n "$ns" --from-literal=password=s3cret
  expect 0 'serviceaccount/cstor created' -- create serviceaccount cstor -n "$ns"
  expect 0 'deployment.apps/idle created' -- create deployment idle -n "$ns" --image=cstor:1 --replicas=0
  expect 0 'service/idle created' -- create service clusterip idle -n "$ns" --tcp=3260:3260
  expect 0 'role.rbac.authorization.k8s.io/reader created' -- create role reader -n "$ns" --verb=get --resource=pods
  expect 0 'rolebinding.rbac.authorization.k8s.io/reader created' -- \
    create rolebinding reader -n "$ns" --role=reader --serviceaccount="$ns:cstor"
  [[ $(get '{.data.a}' configmap settings -n "$ns") == b ]] && pass || fail "configmap data lost"
  [[ $(get '{.data.password}' secret chap -n "$ns") == "$(printf s3cret | base64)" ]] && pass || fail "secret data lost"
  [[ $(get '{.spec.replicas}' deployment idle -n "$ns") == 0 ]] && pass || fail "replicas: 0 was not kept"
  [[ $(get '{.roleRef.name}/{.subjects[0].name}' rolebinding reader -n "$ns") == reader/cstor ]] &&
    pass || fail "rolebinding lost its role or subject"

  # Services: a cluster IP on loopback, and the columns kubectl shows.
  [[ $(get '{.spec.clusterIP}' service idle -n "$ns") == 127.100.* ]] && pass || fail "no cluster IP from 127.100.0.0/16"
  expect 0 'idle +ClusterIP +127\.100\.[0-9.]+ +<none> +3260/TCP' -- get service idle -n "$ns"
  expect 0 'idle +0/0 +0 +0 ' -- get deployment idle -n "$ns"

  # A changed client-side re-apply: kubectl sends a strategic merge patch with
  # $setElementOrder and deletions; the second container and port must go, the rest stay.
  cat >"$dir/app.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: $ns}
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: main, image: "cstor:1", env: [{name: A, value: "1"}]}
      - {name: side, image: "cstor:1"}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: $ns}
spec:
  selector: {app: app}
  ports: [{name: iscsi, port: 3260}, {name: mgmt, port: 6060}]
YAML
  expect 0 'deployment.apps/app created' -- apply -f "$dir/app.yaml"
  sed -e '/name: side/d' -e 's/cstor:1/cstor:2/' -e 's/{name: mgmt, port: 6060}/{name: metrics, port: 9500}/' \
    "$dir/app.yaml" >"$dir/app2.yaml"
  expect 0 'deployment.apps/app configured' -- apply -f "$dir/app2.yaml"
  [[ $(get '{.spec.template.spec.containers[*].name}={.spec.template.spec.containers[0].image}' deployment app -n "$ns") == main=cstor:2 ]] &&
    pass || fail "re-apply: containers are not [main] with cstor:2"
  [[ $(get '{.spec.ports[*].port}' service app -n "$ns") == "3260 9500" ]] &&
    pass || fail "re-apply: service ports are not 3260 9500: $(get '{.spec.ports}' service app -n "$ns")"
  # kubectl patch's default type is a strategic merge: the env list merges by name.
  expect 0 'deployment.apps/app patched' -- patch deployment app -n "$ns" \
    -p '{"spec":{"template":{"spec":{"containers":[{"name":"main","env":[{"name":"B","value":"2"}]}]}}}}'
  [[ $(get '{.spec.template.spec.containers[0].env[*].name}' deployment app -n "$ns") == "A B" ]] &&
    pass || fail "strategic merge: env is not A B"

  # Server-side apply: creates, owns its fields, removes what a re-apply drops, and
  # conflicts on a field another manager changed unless forced; a custom resource too.
  sed -e "s/name: app, namespace: $ns/name: ssa, namespace: $ns/" -e 's/app: app/app: ssa/g' \
    -e 's/^kind: Deployment$/kind: Deployment/' "$dir/app.yaml" | awk '/^---$/{exit} {print}' >"$dir/ssa.yaml"
  sed -i 's/^metadata: {name: ssa, namespace: \(.*\)}$/metadata: {name: ssa, namespace: \1, labels: {tier: front}}/' "$dir/ssa.yaml"
  expect 0 'deployment.apps/ssa serverside-applied' -- apply --server-side -f "$dir/ssa.yaml"
  # kubectl before 1.21 prints managedFields always and has no flag for it.
  show_managed=(--show-managed-fields)
  ((version >= 21)) || show_managed=()
  expect 0 'manager: kubectl' -- get deployment ssa -n "$ns" -o yaml "${show_managed[@]}"
  expect 0 'operation: Apply' -- get deployment ssa -n "$ns" -o yaml "${show_managed[@]}"
  sed -e '/name: side/d' -e 's/, labels: {tier: front}//' "$dir/ssa.yaml" >"$dir/ssa2.yaml"
  expect 0 'deployment.apps/ssa serverside-applied' -- apply --server-side -f "$dir/ssa2.yaml"
  [[ $(get '{.spec.template.spec.containers[*].name}/{.metadata.labels.tier}' deployment ssa -n "$ns") == main/ ]] &&
    pass || fail "server-side re-apply did not remove the dropped container and label"
  expect 0 'deployment.apps/ssa patched' -- patch deployment ssa -n "$ns" --field-manager=autoscaler -p '{"spec":{"replicas":4}}'
  sed 's/replicas: 0/replicas: 2/' "$dir/ssa2.yaml" >"$dir/ssa3.yaml"
  expect 1 'conflict with "autoscaler".*\.spec\.replicas' -- apply --server-side -f "$dir/ssa3.yaml"
  [[ $(get '{.spec.replicas}' deployment ssa -n "$ns") == 4 ]] && pass || fail "a conflicting apply changed replicas"
  expect 0 'deployment.apps/ssa serverside-applied' -- apply --server-side --force-conflicts -f "$dir/ssa3.yaml"
  [[ $(get '{.spec.replicas}' deployment ssa -n "$ns") == 2 ]] && pass || fail "a forced apply did not set replicas"
  cat >"$dir/pool.yaml" <<YAML
apiVersion: cstor.openebs.io/v1
kind: CStorPoolCluster
metadata: {name: ssa-$version, namespace: $ns}
spec:
  pools:
  - nodeSelector: {kubernetes.io/hostname: node-1}
    dataRaidGroups: [{blockDevices: [{blockDeviceName: bd-1}]}]
    poolConfig: {dataRaidGroupType: stripe}
YAML
  expect 0 "cstorpoolcluster.cstor.openebs.io/ssa-$version serverside-applied" -- apply --server-side -f "$dir/pool.yaml"
  expect 0 "cstorpoolcluster.cstor.openebs.io/ssa-$version serverside-applied" -- apply --server-side -f "$dir/pool.yaml"

  # explain reads the OpenAPI document (v2 up to kubectl 1.28, v3 after): a CRD's fields in
  # full, a built-in kind by name.
  expect 0 'Desired volume' -- explain cstorvolumeconfig.spec
  expect 0 'KIND: +Deployment' -- explain deployment

  # kubectl logs reads what the node runtime writes under the data directory.
  expect 0 'pod/logger created' -- run logger -n "$ns" --image=cstor --restart=Never
  mkdir -p "$dir/api/pod-logs/$ns/logger"
  printf 'first\nsecond\n' >"$dir/api/pod-logs/$ns/logger/logger.log"
  expect 0 '^first$' -- logs logger -n "$ns"
  expect 0 '^second$' -- logs logger -n "$ns" --tail=1
  expect_no 'first' "kubectl logs --tail=1 printed more than the last line"

  # Every kind the operators and the CSI sidecars use answers get, with its columns.
  expect 0 'NAME' -- get pods,serviceaccounts,endpoints,daemonsets,statefulsets,roles,rolebindings -n "$ns"
  expect 0 'NAME|No resources found' -- get csidrivers,csinodes,volumeattachments,clusterroles,clusterrolebindings,storageclasses

  # kubectl scale, through the scale subresource.
  expect 0 'deployment.apps/idle scaled' -- scale deployment idle -n "$ns" --replicas=2
  [[ $(get '{.spec.replicas}' deployment idle -n "$ns") == 2 ]] && pass || fail "kubectl scale did not set replicas"

  # Events, one object under two groups: written as core/v1, read as events.k8s.io/v1.
  cat >"$dir/event.yaml" <<YAML
apiVersion: v1
kind: Event
metadata: {name: started, namespace: $ns}
involvedObject: {kind: Pod, name: logger, namespace: $ns}
reason: Started
message: container started
type: Normal
YAML
  expect 0 'event/started created' -- create -f "$dir/event.yaml"
  expect 0 'started +.* +Normal +Started +pod/logger +container started' -- get events.events.k8s.io -n "$ns"
  [[ $(get '{.note}/{.regarding.name}' events.v1.events.k8s.io started -n "$ns") == "container started/logger" ]] &&
    pass || fail "events.k8s.io/v1 does not show the core Event under its names"
done
stop_server

if ((failures)); then
  echo "kubectl_kinds_test: $passed checks passed, $failures failed"
  exit 1
fi
echo "kubectl_kinds_test: $passed checks passed over ${#tested[@]} kubectl versions (1.x for x in: ${!tested[*]})"
