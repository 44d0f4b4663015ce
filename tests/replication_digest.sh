# shellcheck shell=bash
# Sourced by the replication process tests (not run on its own).
#
# compare_replica_digests CSTOR VOLUME POOL...
#   Digests VOLUME in each pool (`cstor volume digest`; nothing may be using the pools) and
#   prints one line per replica. Returns 1 if the digests differ, after saying whether the
#   data differs or only io sequences, and showing the first blocks that differ.
compare_replica_digests() {
  local cstor=$1 volume=$2
  shift 2
  local pool out digest data first_pool="" first_digest="" first_data="" differ=0
  for pool in "$@"; do
    out=$("$cstor" volume digest --pool "$pool" "$volume") || {
      echo "   cstor volume digest failed for $pool"
      return 1
    }
    digest=$(awk '$1 == "digest" {print $2}' <<<"$out")
    data=$(awk '$1 == "data_digest" {print $2}' <<<"$out")
    echo "   $pool: digest ${digest:0:16}… data ${data:0:16}… ($(grep '^blocks' <<<"$out"))"
    if [[ -z $first_pool ]]; then
      first_pool=$pool first_digest=$digest first_data=$data
      continue
    fi
    [[ $digest == "$first_digest" ]] && continue
    differ=1
    if [[ $data == "$first_data" ]]; then
      echo "   $pool and $first_pool hold the same data but not the same io sequences"
    else
      echo "   $pool and $first_pool hold different data"
    fi
    diff <("$cstor" volume digest --pool "$first_pool" "$volume" --per-block | grep '^block ') \
      <("$cstor" volume digest --pool "$pool" "$volume" --per-block | grep '^block ') |
      head -n 20 | sed 's/^/      /'
  done
  return "$differ"
}
