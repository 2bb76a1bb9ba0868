#!/usr/bin/env bash
# Side-by-side CPU cost of server variants, for performance work (not part of `npm run bench`).
#
#   bench/tools/ab.sh "bare|dist/bench/bare-http.js" "now|dist/src/cli.js --rate-limit-allow ''" "old|/tmp/old/dist/src/cli.js"
#
# Each "name|node arguments" starts once (with --port added), then every round loads each in turn with wrk
# and reads the server's utime+stime from /proc, so the VM's drift (up to 2x over minutes here) hits all
# variants alike. Servers run on CPU 1 and wrk on CPU 0 (one process keeps the speed it starts with, and
# unpinned that depends on whether it shares wrk's CPU: give each variant several processes, e.g. "a1|…" "a2|…").
# Prints the median req/s and CPU µs per request of each, and every round's req/s:CPU µs:user-CPU µs.
# Env: R rounds (5), D seconds per load (2), P path (/some/path?x=1), W extra wrk arguments (e.g. -s get.lua).
set -uo pipefail
R=${R:-5}; D=${D:-2}; P=${P:-/some/path?x=1}; W=${W:-}
names=(); pids=(); ports=(); i=0
for spec in "$@"; do
  name=${spec%%|*}; cmd=${spec#*|}; port=$((9200 + i))
  eval "taskset -c ${SERVER_CPU:-1} node $cmd --port $port > /dev/null 2>&1 &"
  pids+=($!); names+=("$name"); ports+=($port); i=$((i + 1))
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
for p in "${ports[@]}"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.1; done
done
for j in "${!ports[@]}"; do wrk -t1 -c50 -d2 $W "http://127.0.0.1:${ports[$j]}$P" > /dev/null; done
declare -A res
for _ in $(seq "$R"); do
  for j in "${!ports[@]}"; do
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/${pids[$j]}/stat")
    out=$(taskset -c ${LOAD_CPU:-0} wrk -t1 -c50 -d"$D" $W "http://127.0.0.1:${ports[$j]}$P")
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/${pids[$j]}/stat")
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{printf "%d", $2}')
    ticks=$(getconf CLK_TCK)
    cpu=$(echo "($u1-$u0+$s1-$s0)*1000000/$ticks/$reqs" | bc -l)
    us=$(echo "($u1-$u0)*1000000/$ticks/$reqs" | bc -l); res[$j]+="$rps:$(printf %.1f "$cpu"):$(printf %.1f "$us") "
  done
done
median () { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for j in "${!ports[@]}"; do
  printf "%-14s median %6s req/s %6s µs CPU/req   [%s]\n" "${names[$j]}" \
    "$(echo "${res[$j]}" | tr ' ' '\n' | cut -d: -f1 | median)" "$(echo "${res[$j]}" | tr ' ' '\n' | cut -d: -f2 | median)" "${res[$j]}"
done
