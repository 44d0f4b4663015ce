#!/usr/bin/env bash
# Drives `cstor apiserver` with the real kubectl: the CRDs and the example objects of
# deploy/, short names and printer columns, the status subresource, describe, labels and
# patches, watch, deletion held by a finalizer, schema validation, server-side dry runs,
# bearer tokens and client certificates, a restart on the same data directory and port,
# and two `cstor operator` replicas under leader election.
#   kubectl_test.sh PATH_TO_CSTOR
# Every check runs; the script prints "FAIL: ..." for each failed one and exits non-zero
# if any failed.
# Checks read "CONDITION && pass || fail WHAT"; pass always succeeds, so that is if-else:
# shellcheck disable=SC2015
set -euo pipefail
cstor=$(realpath "${1:?usage: kubectl_test.sh PATH_TO_CSTOR}")
root=$(cd "$(dirname "$0")/.." && pwd)
command -v kubectl >/dev/null ||
  { echo "FAIL: kubectl is not installed (this test needs it; see https://kubernetes.io/docs/tasks/tools/)"; exit 1; }
source "$root/scripts/lib/local-volume.sh"  # lv_alive, lv_terminate

dir=$(mktemp -d /tmp/cstor-kubectl-test.XXXXXX)
server_pid="" watch_pids=()
cleanup() {
  for p in "${watch_pids[@]}" $server_pid; do lv_terminate "$p"; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
export KUBECACHEDIR=$dir/kube-cache  # no discovery cache from (or into) the caller's home
crds=$root/deploy/crds
examples=$root/deploy/examples

source "$root/tests/lib/kubectl_checks.sh"  # pass, fail, die, run, expect, get, start_server, ...

name_of() { timeout 60 kubectl create --dry-run=client -o 'jsonpath={.metadata.name}' -f "$1"; }

# --- start ---------------------------------------------------------------------------
start_server 127.0.0.1:0
port=${url##*:}
[[ $url == "https://127.0.0.1:$port" && $port =~ ^[0-9]+$ && $port != 0 ]] ||
  die "cstor apiserver printed an unexpected URL '$url'"
echo "== cstor apiserver at $url"
expect 0 'Server Version: v1\.' -- version

# --- CRDs: built in, so applying them changes nothing but kubectl's annotation ----------
ncrds=$(find "$crds" -name "*.yaml" | wc -l)
expect 0 'customresourcedefinition' -- apply -f "$crds/"
[[ $(grep -cE '^customresourcedefinition\.apiextensions\.k8s\.io/.* (unchanged|configured)$' <<<"$out") == "$ncrds" ]] &&
  pass || fail "kubectl apply -f deploy/crds/ did not report all $ncrds CRDs unchanged or configured: $out"
expect 0 'unchanged' -- apply -f "$crds/"
[[ $(grep -c ' unchanged$' <<<"$out") == "$ncrds" ]] &&
  pass || fail "re-applying deploy/crds/ is not a no-op: $out"
expect 0 'condition met' -- wait --for condition=established crd --all --timeout=30s
[[ $(grep -c 'condition met' <<<"$out") -ge $ncrds ]] &&
  pass || fail "not every CRD is Established: $out"
expect 0 'cstorvolumereplicas +cvr +cstor\.openebs\.io/v1 +true +CStorVolumeReplica' -- \
  api-resources --api-group=cstor.openebs.io

# --- the examples ----------------------------------------------------------------------
expect 0 '^namespace/openebs created$' -- apply -f "$examples/namespace.yaml"
expect 0 'cstorvolumereplica\.cstor\.openebs\.io/.* created' -- apply -f "$examples/"
[[ $(grep -c ' created$' <<<"$out") == 7 && $(grep -c '^namespace/openebs unchanged$' <<<"$out") == 1 ]] &&
  pass || fail "kubectl apply -f deploy/examples/ did not create the seven objects: $out"
rvs() {  # KIND/NAME UID RESOURCEVERSION of every example object
  get '{range .items[*]}{.kind}/{.metadata.name} {.metadata.uid} {.metadata.resourceVersion}{"\n"}{end}' \
    cspc,cspi,cv,cva,cvc,cvp,cvr -n openebs
  echo
}
rvs >"$dir/rv.before"
[[ $(wc -l <"$dir/rv.before") == 7 ]] || die "kubectl get does not list the seven example objects: $(cat "$dir/rv.before")"
# Re-applying is a no-op. Objects whose YAML carries a status still print "configured", as
# with Kubernetes: the status never reaches the object through the main resource (it has a
# status subresource), so kubectl's three-way patch always contains it, and the server
# must ignore it without a new resourceVersion.
expect 0 'cstorpoolcluster\.cstor\.openebs\.io/cstor-disk-pool unchanged' -- apply -f "$examples/"
expect_no ' created$' "re-applying deploy/examples/ created something"
grep -q 'cstorvolumepolicy.cstor.openebs.io/cstor-disk-policy unchanged' <<<"$out" &&
  pass || fail "re-applying cvp.yaml is not 'unchanged': $out"
rvs >"$dir/rv.after"
cmp -s "$dir/rv.before" "$dir/rv.after" &&
  pass || fail "re-applying deploy/examples/ changed resourceVersions: $(diff "$dir/rv.before" "$dir/rv.after")"
expect 0 '' -- diff -f "$examples/"  # exit 0: no differences

cspc=$(name_of "$examples/cspc.yaml") cspi=$(name_of "$examples/cspi.yaml")
cv=$(name_of "$examples/cv.yaml") cva=$(name_of "$examples/cva.yaml")
cvc=$(name_of "$examples/cvc.yaml") cvp=$(name_of "$examples/cvp.yaml")
cvr=$(name_of "$examples/cvr.yaml")
[[ -n $cspc && -n $cspi && -n $cv && -n $cva && -n $cvc && -n $cvp && -n $cvr ]] ||
  die "could not read the names of the examples"

# --- get by every name; printer columns ---------------------------------------------------
declare -A names=([cspc]=cstorpoolclusters [cspi]=cstorpoolinstances [cv]=cstorvolumes
  [cva]=cstorvolumeattachments [cvc]=cstorvolumeconfigs [cvp]=cstorvolumepolicies
  [cvr]=cstorvolumereplicas)
declare -A headers=(
  [cspc]='^NAME +HEALTHYINSTANCES +PROVISIONEDINSTANCES +DESIREDINSTANCES +AGE$'
  [cspi]='^NAME +HOST +FREE +CAPACITY +READONLY +PROVISIONEDREPLICAS +HEALTHYREPLICAS +STATUS +AGE$'
  [cv]='^NAME +CAPACITY +STATUS +AGE$'
  [cva]='^NAME +VOLUME +NODE +STATUS +AGE$'
  [cvc]='^NAME +CAPACITY +STATUS +AGE$'
  [cvp]='^NAME +AGE$'
  [cvr]='^NAME +POOL +USED +ALLOCATED +STATUS +AGE$')
for short in "${!names[@]}"; do
  plural=${names[$short]}
  obj=${!short}
  for n in "$short" "$plural" "${plural%s}" "$plural.cstor.openebs.io"; do
    [[ $n != cstorvolumepolicie ]] || n=cstorvolumepolicy
    expect 0 "^$obj " -- get "$n" -n openebs
  done
  grep -qE -- "${headers[$short]}" <<<"$out" &&
    pass || fail "kubectl get $short: the header is not /${headers[$short]}/: $out"
  expect 0 "^$short/$obj$|/$obj$" -- get "$short" "$obj" -n openebs -o name
done
expect 0 "^$cspi +node-1 " -- get cspi -n openebs                              # HOST
expect 0 "^$cva +$cv +node-1 " -- get cva -n openebs                           # VOLUME, NODE
expect 0 "^$cvr +cstor-disk-pool-x7kq +[0-9]" -- get cvr -n openebs            # POOL (a label)
expect 0 "^openebs +$cvr " -- get cvr -A
expect 0 'No resources found in default namespace' -- get cvr

# --- the status subresource -------------------------------------------------------------
[[ -z $(get '{.status}' cvr "$cvr" -n openebs) ]] &&
  pass || fail "the status in cvr.yaml reached the object through the main resource"
gen=$(get '{.metadata.generation}' cvr "$cvr" -n openebs)
expect 0 'patched' -- patch cvr "$cvr" -n openebs --subresource=status --type=merge \
  -p '{"status":{"phase":"Healthy","capacity":{"used":"1Gi","total":"10Gi"}}}'
expect 0 "^$cvr +cstor-disk-pool-x7kq +1Gi +10Gi +Healthy " -- get cvr -n openebs
[[ $(get '{.metadata.generation}' cvr "$cvr" -n openebs) == "$gen" ]] &&
  pass || fail "a status update changed the generation"
rv=$(get '{.metadata.resourceVersion}' cvr "$cvr" -n openebs)
# A status in a write to the main resource is ignored; the rest of the write is not.
expect 0 'patched' -- patch cvr "$cvr" -n openebs --type=merge -p '{"status":{"phase":"Offline"}}'
[[ $(get '{.status.phase} {.metadata.resourceVersion}' cvr "$cvr" -n openebs) == "Healthy $rv" ]] &&
  pass || fail "a plain patch of the status changed the object"
expect 0 'patched' -- patch cvr "$cvr" -n openebs --type=merge \
  -p '{"spec":{"zvolWorkers":"6"},"status":{"phase":"Offline"}}'
[[ $(get '{.spec.zvolWorkers} {.status.phase} {.metadata.generation}' cvr "$cvr" -n openebs) == "6 Healthy $((gen + 1))" ]] &&
  pass || fail "a patch of spec and status did not change exactly the spec (and the generation)"
# ... and a status update ignores everything but the status.
expect 0 'patched' -- patch cvr "$cvr" -n openebs --subresource=status --type=merge \
  -p '{"spec":{"zvolWorkers":"7"},"status":{"phase":"Degraded"}}'
[[ $(get '{.spec.zvolWorkers} {.status.phase}' cvr "$cvr" -n openebs) == "6 Degraded" ]] &&
  pass || fail "a status update changed the spec"
expect 0 'patched' -- patch cvr "$cvr" -n openebs --subresource=status --type=merge -p '{"status":{"phase":"Healthy"}}'
expect 0 'patched' -- patch cva "$cva" -n openebs --subresource=status --type=merge -p '{"status":"Mounted"}'
expect 0 "^$cva +$cv +node-1 +Mounted " -- get cva -n openebs
expect 0 'patched' -- patch cspi "$cspi" -n openebs --subresource=status --type=merge -p \
  '{"status":{"phase":"ONLINE","readOnly":false,"provisionedReplicas":1,"healthyReplicas":1,"capacity":{"free":"97988Mi","total":"99300Mi","used":"1312Mi"}}}'
expect 0 "^$cspi +node-1 +97988Mi +99300Mi +false +1 +1 +ONLINE " -- get cspi -n openebs

# --- describe ------------------------------------------------------------------------------
expect 0 "^Name: +$cvr$" -- describe cvr "$cvr" -n openebs
for pattern in '^Namespace: +openebs$' "^Labels: +cstorpoolinstance\.openebs\.io/name=cstor-disk-pool-x7kq$" \
  "cstorvolume\.openebs\.io/name=$cv$" '^Kind: +CStorVolumeReplica$' '^Status:$' '^  Phase: +Healthy$' \
  '^    Used: +1Gi$' '^  Finalizers:$' 'cstorvolumereplica\.openebs\.io/finalizer'; do
  grep -qE -- "$pattern" <<<"$out" &&
    pass || fail "kubectl describe cvr lacks /$pattern/: $out"
done

# --- labels and patches --------------------------------------------------------------------
expect 0 'labeled' -- label cvr "$cvr" -n openebs test.cstor.io/kubectl=yes
expect 0 "^cstorvolumereplica\.cstor\.openebs\.io/$cvr$" -- get cvr -n openebs -l test.cstor.io/kubectl=yes -o name
expect 0 "^cstorvolumereplica\.cstor\.openebs\.io/$cvr$" -- get cvr -A -l 'test.cstor.io/kubectl in (maybe,yes)' -o name
expect 0 'No resources found' -- get cvr -n openebs -l test.cstor.io/kubectl=no
expect 0 'No resources found' -- get cvr -n openebs -l '!test.cstor.io/kubectl'
expect 1 'already has a value \(yes\)' -- label cvr "$cvr" -n openebs test.cstor.io/kubectl=no
expect 0 'labeled' -- label cvr "$cvr" -n openebs test.cstor.io/kubectl=no --overwrite
expect 0 "/$cvr$" -- get cvr -n openebs -l test.cstor.io/kubectl=no -o name
expect 0 'annotated' -- annotate cvr "$cvr" -n openebs test.cstor.io/note=hello
[[ $(get '{.metadata.annotations.test\.cstor\.io/note}' cvr "$cvr" -n openebs) == hello ]] &&
  pass || fail "kubectl annotate did not set the annotation"
gen=$(get '{.metadata.generation}' cvr "$cvr" -n openebs)
expect 0 'patched' -- patch cvr "$cvr" -n openebs --type=json \
  -p '[{"op":"replace","path":"/spec/zvolWorkers","value":"8"},{"op":"add","path":"/spec/compression","value":"off"}]'
expect 0 'patched' -- patch cvr "$cvr" -n openebs --type=merge -p '{"spec":{"blockSize":8192,"targetIP":null}}'
[[ $(get '{.spec.zvolWorkers} {.spec.compression} {.spec.blockSize} [{.spec.targetIP}] {.metadata.generation}' \
  cvr "$cvr" -n openebs) == "8 off 8192 [] $((gen + 2))" ]] &&
  pass || fail "the JSON and merge patches of the spec did not both apply"
expect 1 'test|invalid' -- patch cvr "$cvr" -n openebs --type=json -p '[{"op":"test","path":"/spec/zvolWorkers","value":"9"}]'
expect 0 'unlabeled' -- label cvr "$cvr" -n openebs test.cstor.io/kubectl-

# --- watch ---------------------------------------------------------------------------------
# A table watch (-w prints the list, then each change) and an event watch of the policies.
timeout 60 kubectl get cvr -n openebs -w >"$dir/watch-cvr.out" 2>&1 &
watch_pids+=("$!")
timeout 60 kubectl get cvp -n openebs -w --output-watch-events \
  -o 'jsonpath={.type} {.object.metadata.name} {.object.spec.target.luWorkers}{"\n"}' >"$dir/watch-cvp.out" 2>&1 &
watch_pids+=("$!")
wait_for "$dir/watch-cvr.out" "^$cvr " 30 && wait_for "$dir/watch-cvp.out" "^ADDED $cvp " 30 &&
  pass || fail "the watches did not list the objects: $(cat "$dir"/watch-*.out)"
expect 0 'patched' -- patch cvr "$cvr" -n openebs --subresource=status --type=merge \
  -p '{"status":{"phase":"Rebuilding","capacity":{"used":"2Gi"}}}'
sed "s/name: $cvp/name: watched-policy/" "$examples/cvp.yaml" >"$dir/watched.yaml"
expect 0 'created' -- apply -f "$dir/watched.yaml"
expect 0 'patched' -- patch cvp watched-policy -n openebs --type=merge -p '{"spec":{"target":{"luWorkers":3}}}'
expect 0 'deleted' -- delete cvp watched-policy -n openebs
wait_for "$dir/watch-cvr.out" "^$cvr +cstor-disk-pool-x7kq +2Gi +10Gi +Rebuilding " 20 &&
  pass || fail "the table watch did not show the status change: $(cat "$dir/watch-cvr.out")"
wait_for "$dir/watch-cvp.out" '^DELETED watched-policy ' 20 &&
  [[ $(grep ' watched-policy ' "$dir/watch-cvp.out" | tr '\n' ';') == 'ADDED watched-policy 6;MODIFIED watched-policy 3;DELETED watched-policy 3;' ]] &&
  pass || fail "the event watch did not show ADDED, MODIFIED, DELETED: $(cat "$dir/watch-cvp.out")"
lv_alive "${watch_pids[0]}" && lv_alive "${watch_pids[1]}" &&
  pass || fail "a watch ended early: $(cat "$dir"/watch-*.out)"
for p in "${watch_pids[@]}"; do lv_terminate "$p"; done
watch_pids=()

# --- deletion held by a finalizer ------------------------------------------------------------
[[ $(get '{.metadata.finalizers}' cvr "$cvr" -n openebs) == *cstorvolumereplica.openebs.io/finalizer* ]] &&
  pass || fail "the cvr example lost its finalizer"
expect 0 "\"$cvr\" deleted" -- delete cvr "$cvr" -n openebs --wait=false
[[ -n $(get '{.metadata.deletionTimestamp}' cvr "$cvr" -n openebs) ]] &&
  pass || fail "the cvr has no deletionTimestamp while its finalizer holds it"
expect 0 "^$cvr " -- get cvr -n openebs
expect 1 'no new finalizers can be added' -- patch cvr "$cvr" -n openebs --type=json \
  -p '[{"op":"add","path":"/metadata/finalizers/-","value":"test.cstor.io/late"}]'
expect 0 'labeled' -- label cvr "$cvr" -n openebs test.cstor.io/while-deleting=yes  # other changes are fine
timeout 60 kubectl wait cvr "$cvr" -n openebs --for=delete --timeout=30s >"$dir/wait-delete.out" 2>&1 &
wait_delete=$!
watch_pids+=("$wait_delete")
sleep 1
expect 0 'patched' -- patch cvr "$cvr" -n openebs --type=merge -p '{"metadata":{"finalizers":null}}'
expect 1 "NotFound.*cstorvolumereplicas\.cstor\.openebs\.io \"$cvr\" not found" -- get cvr "$cvr" -n openebs
wait "$wait_delete" &&
  pass || fail "kubectl wait --for=delete did not see the cvr go: $(cat "$dir/wait-delete.out")"
watch_pids=()
expect 0 'created' -- apply -f "$examples/cvr.yaml"  # back, for the restart below
expect 0 'patched' -- patch cvr "$cvr" -n openebs --subresource=status --type=merge \
  -p '{"status":{"phase":"Healthy","capacity":{"used":"1Gi","total":"10Gi"}}}'

# --- validation ----------------------------------------------------------------------------
cat >"$dir/bad-cvc.yaml" <<EOF
apiVersion: cstor.openebs.io/v1
kind: CStorVolumeConfig
metadata: {name: bad-cvc, namespace: openebs}
spec:
  capacity: {storage: 1Gi}
  provision:
    capacity: {storage: 1Gi}
    replicaCount: 0
EOF
cat >"$dir/bad-cspc.yaml" <<EOF
apiVersion: cstor.openebs.io/v1
kind: CStorPoolCluster
metadata: {name: bad-cspc, namespace: openebs}
spec:
  pools:
    - nodeSelector: {kubernetes.io/hostname: node-1}
      dataRaidGroups: [{blockDevices: [{blockDeviceName: bd-1}]}]
      poolConfig: {dataRaidGroupType: raid9}
EOF
cat >"$dir/bogus.yaml" <<EOF
apiVersion: cstor.openebs.io/v1
kind: CStorVolumePolicy
metadata: {name: bogus-policy, namespace: openebs}
spec:
  bogus: true
  replica: {compression: lz4}
EOF
sed 's/name: bogus-policy/name: Upper-Case/; /bogus: true/d' "$dir/bogus.yaml" >"$dir/upper.yaml"
# Kubernetes words these as "The KIND "NAME" is invalid: FIELD: DETAIL", naming the field once.
field_once() {
  grep -qF -- "$1: $1:" <<<"$out" && { fail "the error names $1 twice (the cause's message repeats its field): $out"; return; }
  pass
}
expect 1 'The CStorVolumeConfig "bad-cvc" is invalid: .*spec\.provision\.replicaCount: .*Invalid value: 0.*greater than or equal to 1' -- apply -f "$dir/bad-cvc.yaml"
field_once spec.provision.replicaCount
expect 1 'The CStorPoolCluster "bad-cspc" is invalid: .*spec\.pools\[0\]\.poolConfig\.dataRaidGroupType: .*Unsupported value: "raid9"' -- create -f "$dir/bad-cspc.yaml"
field_once 'spec.pools[0].poolConfig.dataRaidGroupType'
# kubectl asks for strict field validation by default: an unknown field is refused ...
expect 1 'BadRequest.*unknown field "spec\.bogus"' -- apply -f "$dir/bogus.yaml"
expect 1 'NotFound' -- get cvp bogus-policy -n openebs
# ... and with --validate=warn or =false pruned, with a warning for warn.
expect 0 'Warning: unknown field "spec\.bogus"' -- apply -f "$dir/bogus.yaml" --validate=warn
[[ $(get '{.spec}' cvp bogus-policy -n openebs) == '{"replica":{"compression":"lz4"}}' ]] &&
  pass || fail "the unknown field was not pruned"
expect 0 'configured|unchanged' -- apply -f "$dir/bogus.yaml" --validate=false
expect_no 'Warning' "--validate=false still warned"
# kubectl patch asks for no validation mode; the server's default is Warn.
expect 0 'Warning: unknown field "spec\.bogus"' -- patch cvp bogus-policy -n openebs --type=merge -p '{"spec":{"bogus":1}}'
expect 1 'The CStorVolumePolicy "Upper-Case" is invalid: .*metadata\.name: .*Invalid value: "Upper-Case".*lowercase RFC 1123' -- create -f "$dir/upper.yaml"
field_once metadata.name
expect 0 'deleted' -- delete cvp bogus-policy -n openebs

# --- server-side dry runs change nothing -----------------------------------------------------
sed "s/name: $cvp/name: dry-policy/" "$examples/cvp.yaml" >"$dir/dry.yaml"
expect 0 'created \(server dry run\)' -- create -f "$dir/dry.yaml" --dry-run=server
expect 1 'NotFound' -- get cvp dry-policy -n openebs

# --- client certificates (how kubeadm, kind and minikube kubeconfigs authenticate) ----------
expect 0 '^namespace/openebs$' -- --context cstor-cert get namespace openebs -o name
# The same certificate without the server's signature on it: the handshake fails.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=intruder \
  -keyout "$dir/intruder.key" -out "$dir/intruder.crt" 2>/dev/null || die "openssl could not make a certificate"
sed -e "s|^\( *client-certificate-data:\).*|\1 $(base64 -w0 "$dir/intruder.crt")|" \
  -e "s|^\( *client-key-data:\).*|\1 $(base64 -w0 "$dir/intruder.key")|" "$KUBECONFIG" >"$dir/intruder.kubeconfig"
grep -q "$(base64 -w0 "$dir/intruder.crt")" "$dir/intruder.kubeconfig" || die "no client certificate in $KUBECONFIG"
# TLS 1.3 refuses a client certificate after the client thinks the handshake is done, so
# kubectl may see the refusal as the server hanging up on its request.
expect 1 'certificate|Unauthorized|tls|broken pipe|connection reset|EOF' -- \
  --kubeconfig "$dir/intruder.kubeconfig" --context cstor-cert get namespace openebs
expect 0 'created' -- apply -f "$dir/dry.yaml"
dry_state() { get '{.metadata.resourceVersion} {.spec.target.luWorkers}' cvp dry-policy -n openebs; }
before=$(dry_state)
sed 's/luWorkers: 6/luWorkers: 9/' "$dir/dry.yaml" >"$dir/dry9.yaml"
expect 1 '^\+    luWorkers: 9$' -- diff -f "$dir/dry9.yaml"  # exit 1: differences
after=$(dry_state)
[[ $after == "$before" ]] &&
  pass || fail "kubectl diff (PATCH ?dryRun=All) changed the object: resourceVersion, luWorkers $before -> $after"
before=$(dry_state)
expect 0 'patched' -- patch cvp dry-policy -n openebs --type=merge \
  -p '{"spec":{"target":{"luWorkers":10}}}' --dry-run=server
after=$(dry_state)
[[ $after == "$before" ]] &&
  pass || fail "kubectl patch --dry-run=server changed the object: resourceVersion, luWorkers $before -> $after"
before=$(dry_state)
sed 's/luWorkers: 6/luWorkers: 11/' "$dir/dry.yaml" >"$dir/dry11.yaml"
expect 0 'configured \(server dry run\)' -- apply -f "$dir/dry11.yaml" --dry-run=server
after=$(dry_state)
[[ $after == "$before" ]] &&
  pass || fail "kubectl apply --dry-run=server changed the object: resourceVersion, luWorkers $before -> $after"
before=$(dry_state)
run get cvp dry-policy -n openebs -o yaml
sed 's/luWorkers: .*/luWorkers: 12/' <<<"$out" >"$dir/dry12.yaml"
expect 0 'replaced \(server dry run\)' -- replace -f "$dir/dry12.yaml" --dry-run=server
after=$(dry_state)
[[ $after == "$before" ]] &&
  pass || fail "kubectl replace --dry-run=server changed the object: resourceVersion, luWorkers $before -> $after"
expect 0 'deleted \(server dry run\)' -- delete cvp dry-policy -n openebs --dry-run=server
expect 0 '^cstorvolumepolicy\.cstor\.openebs\.io/dry-policy$' -- get cvp dry-policy -n openebs -o name
expect 0 '' -- delete cvp dry-policy -n openebs --ignore-not-found

# --- tokens --------------------------------------------------------------------------------
sed 's/^\( *token:\).*/\1 not-the-token-0123456789abcdef/' "$KUBECONFIG" >"$dir/wrong-token.kubeconfig"
grep -q 'token: not-the-token' "$dir/wrong-token.kubeconfig" || die "no token in $KUBECONFIG"
expect 1 'Unauthorized' -- --kubeconfig "$dir/wrong-token.kubeconfig" get cvr -n openebs
expect 1 'Unauthorized|provide credentials' -- --kubeconfig "$dir/wrong-token.kubeconfig" apply -f "$dir/dry.yaml"
expect 1 'NotFound' -- get cvp dry-policy -n openebs

# --- restart on the same data directory and port ---------------------------------------------
rvs >"$dir/rv.before"
stop_server
start_server "127.0.0.1:$port"
[[ $url == "https://127.0.0.1:$port" ]] &&
  pass || fail "the restarted server is at $url, not port $port"
expect 0 'condition met' -- wait --for condition=established crd --all --timeout=30s
rvs >"$dir/rv.after"
cmp -s "$dir/rv.before" "$dir/rv.after" &&
  pass || fail "after the restart the objects differ: $(diff "$dir/rv.before" "$dir/rv.after")"
[[ $(wc -l <"$dir/rv.after") == 7 ]] &&
  pass || fail "after the restart there are not seven objects: $(cat "$dir/rv.after")"
expect 0 "^$cvr +cstor-disk-pool-x7kq +1Gi +10Gi +Healthy " -- get cvr -n openebs
expect 0 '^namespace/openebs unchanged' -- apply -f "$examples/namespace.yaml"
# Writes continue after the highest resourceVersion seen before.
max_rv=$(awk '{print $3}' "$dir/rv.before" | sort -n | tail -n 1)
expect 0 'labeled' -- label cvp "$cvp" -n openebs test.cstor.io/restarted=yes
new_rv=$(get '{.metadata.resourceVersion}' cvp "$cvp" -n openebs)
((new_rv > max_rv)) &&
  pass || fail "a write after the restart got resourceVersion $new_rv, not above $max_rv"

# --- cstor operator: two replicas; one leads and keeps the Ready condition; a stop hands over --
lease_holder() { timeout 60 kubectl get lease cstor-operator -n openebs -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null || true; }
operator_pids=()
for id in op-a op-b; do
  "$cstor" operator --kubeconfig "$KUBECONFIG" --namespace openebs --identity "$id" >"$dir/$id.out" 2>&1 &
  operator_pids+=($!)
done
watch_pids+=("${operator_pids[@]}")  # the cleanup ends them if the test does not
holder=""
for ((i = 0; i < 300; i++)); do
  holder=$(lease_holder)
  [[ $holder == op-a || $holder == op-b ]] && break
  sleep 0.1
done
[[ $holder == op-a || $holder == op-b ]] &&
  pass || fail "no operator holds Lease cstor-operator after 30 s (holder '$holder')"
cv_name=$(get '{.items[0].metadata.name}' cv -n openebs)
ready=""
for ((i = 0; i < 300; i++)); do
  ready=$(timeout 60 kubectl get cv "$cv_name" -n openebs -o 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}' 2>/dev/null || true)
  [[ -n $ready ]] && break
  sleep 0.1
done
[[ -n $ready ]] && pass || fail "the leading operator set no Ready condition on cv $cv_name within 30 s"
leader_pid=${operator_pids[0]} other=op-b
[[ $holder == op-b ]] && leader_pid=${operator_pids[1]} other=op-a
kill "$leader_pid"
status=0
wait "$leader_pid" || status=$?
((status == 0)) && pass || fail "the leading operator exited with status $status on SIGTERM"
for ((i = 0; i < 300; i++)); do
  holder=$(lease_holder)
  [[ $holder == "$other" ]] && break
  sleep 0.1
done
[[ $holder == "$other" ]] &&
  pass || fail "after the leader stopped, $other did not take the lease within 30 s (holder '$holder')"
stop_server

if ((failures)); then
  echo "kubectl_test: $passed checks passed, $failures failed"
  exit 1
fi
echo "kubectl_test: $passed checks passed"
