#!/usr/bin/env bash
# A fuzzing campaign: builds the libFuzzer targets (Clang, ASan + UBSan) in
# build-fuzz/, runs every target for SECONDS (default 300), two at a time,
# and writes what each did (executions, coverage, crashes) into
# docs/reliability.md between its campaign markers.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 60 fuzz_echo
#   scripts/fuzz.sh --runs N [TARGET...]    N inputs per target instead
#
# New inputs collect in build-fuzz/campaign/<target>/ and carry over to the
# next campaign; the checked-in seeds (tests/fuzz/corpus/) are only read. A
# crash leaves its input in build-fuzz/campaign/<target>-crash-*: fix the
# bug, then copy the input into the target's seeds as a regression case.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
limit=(-max_total_time="${1:-300}")
budget="${1:-300} s"
if [ "${1:-}" = "--runs" ]; then
  limit=(-runs="$2")
  budget="$2 inputs"
  shift 2
else
  shift || true
fi
"$root/scripts/install-deps.sh" --test

build=${WIREGEN_FUZZ_BUILD_DIR:-$root/build-fuzz}
cmake -S "$root" -B "$build" -DWIREGEN_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2

campaign=$build/campaign
mkdir -p "$campaign"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(find "$build/tests/fuzz" -maxdepth 1 -type f -executable \
                           -name 'fuzz_*' -printf '%f\n' | sort)
fi

run_one() {
  local target=$1 limit=$2 build=$3 root=$4 campaign=$5
  local name=${target#fuzz_}
  mkdir -p "$campaign/$target"
  "$build/tests/fuzz/$target" "$limit" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 "-artifact_prefix=$campaign/$target-" \
    "$campaign/$target" "$root/tests/fuzz/corpus/$name" >"$campaign/$target.log" 2>&1 || true
  echo "fuzz: $target done"
}
export -f run_one
printf '%s\n' "${targets[@]}" |
  xargs -P2 -I{} bash -c 'run_one "$@"' _ {} "${limit[0]}" "$build" "$root" "$campaign"

"${WIREGEN_PYTHON:-/usr/bin/python3}" - "$campaign" "$root/docs/reliability.md" "$budget" \
    "${targets[@]}" <<'PY'
import datetime, glob, os, re, sys

campaign, doc, targets = sys.argv[1], sys.argv[2], sys.argv[4:]
amount, unit = sys.argv[3].split()
budget = f"each target {int(amount):,} {unit}"
text = open(doc).read()
begin, end = "<!-- fuzz-campaign:begin -->", "<!-- fuzz-campaign:end -->"
before, rest = text.split(begin)
old, after = rest.split(end)
# Rows of targets not run this time stay as they were.
rows = {line.split("|")[1].strip(): line for line in old.splitlines()
        if line.startswith("| fuzz_")}
for target in targets:
    log = open(os.path.join(campaign, target + ".log"), errors="replace").read()
    runs = re.findall(r"stat::number_of_executed_units: (\d+)", log)
    done = re.findall(r"#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log)
    elapsed = re.findall(r"Done \d+ runs in (\d+) second", log)
    crashes = [path for kind in ("crash", "leak", "timeout", "oom")
               for path in glob.glob(os.path.join(campaign, f"{target}-{kind}-*"))]
    executions = int(runs[-1]) if runs else 0
    cov, ft, corpus = done[-1] if done else ("?", "?", "?")
    rate = executions // max(int(elapsed[-1]) if elapsed else 1, 1)
    rows[target] = (f"| {target} | {executions:,} | {rate:,}/s | {cov} | {ft} | {corpus} | "
                    f"{len(crashes)} | {datetime.date.today()}, {budget} |")
table = "\n".join([
    "| target | executions | rate | coverage (edges) | features | corpus | crashes | run |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    *(rows[name] for name in sorted(rows)),
])
open(doc, "w").write(before + begin + "\n" + table + "\n" + end + after)
print(table)
PY
