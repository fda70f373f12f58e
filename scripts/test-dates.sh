#!/usr/bin/env bash
# Runs test tiers with the wall clock shifted to the instants where date bugs live, to prove the
# suite passes on any date (test/support/shift-date.mjs shifts Date in every process of the run).
#
#   scripts/test-dates.sh                       # every scenario, the date-sensitive tiers
#   scripts/test-dates.sh test/unit test/e2e    # every scenario, these paths only
#   SCENARIOS="leap-day dst-berlin" scripts/test-dates.sh
#
# Each run is shuffled with a printed seed (replay: VITEST_SEED=<seed>). With VITEST_JSON_REPORT_DIR
# set, each scenario also writes its vitest JSON report there (<name>.json), as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."

# name|instant the wall clock starts at (empty: the real one)|TZ
ALL_SCENARIOS=(
  "month-end|2027-02-28T23:59:57Z|UTC"
  "leap-day|2028-02-29T23:59:57Z|UTC"
  "dst-berlin|2027-03-28T00:59:57Z|Europe/Berlin"
  "real-date||UTC"
)
wanted="${SCENARIOS:-month-end leap-day dst-berlin real-date}"
if [ "$#" -gt 0 ]; then paths=("$@"); else paths=(test/unit test/handler test/integration test/e2e); fi
preload="$PWD/test/support/shift-date.mjs"

failed=()
for scenario in "${ALL_SCENARIOS[@]}"; do
  IFS='|' read -r name instant tz <<<"$scenario"
  case " $wanted " in *" $name "*) ;; *) continue ;; esac
  echo "== $name: wall clock ${instant:-as it is}, TZ=$tz, ${paths[*]}"
  if [ -n "$instant" ]; then
    env_args=(VOLTLEDGER_SHIFT_DATE="$instant" NODE_OPTIONS="${NODE_OPTIONS:-} --import=$preload")
  else
    env_args=()
  fi
  if [ -n "${VITEST_JSON_REPORT_DIR:-}" ]; then env_args+=(VITEST_JSON_REPORT="$VITEST_JSON_REPORT_DIR/$name.json"); fi
  if ! env -u VOLTLEDGER_SHIFT_OFFSET_MS -u VITEST_JSON_REPORT TZ="$tz" "${env_args[@]}" npx vitest run "${paths[@]}"; then
    failed+=("$name")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "date scenarios failed: ${failed[*]}" >&2
  exit 1
fi
echo "date scenarios passed: $wanted"
