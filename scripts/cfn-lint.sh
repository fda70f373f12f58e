#!/usr/bin/env bash
# Synthesizes the CDK app for every stage (lib/infra/config.ts STAGES) and runs the AWS
# CloudFormation linter, cfn-lint, over every synthesized template. Any error fails; warnings are
# printed and counted, not fatal.
#
#   scripts/cfn-lint.sh
#   CFN_LINT_REGIONS="eu-west-1" scripts/cfn-lint.sh     # lint for other regions
#   CFN_LINT_OUT=/tmp/cdk.lint scripts/cfn-lint.sh        # keep the synthesized templates there
#
# Synthesis is offline (no AWS credentials): the templates are region-agnostic, and cfn-lint checks
# them against the resource schemas of CFN_LINT_REGIONS (default: us-east-1, cfn-lint's own
# default, and eu-central-1, the region docs/deploy.md deploys to).
#
# cfn-lint is a Python tool (pip install cfn-lint). Without it the lint is skipped with a warning,
# except under CI=true, where a missing cfn-lint fails: CI must never pass a lint it did not run.
# `npm test` never needs it (test/infra/cross-stack-references.test.ts covers the known trap).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "cfn-lint: ERROR: cfn-lint is not installed, and CI=true: the CloudFormation templates cannot be linted." >&2
    echo "cfn-lint: install it (pip install cfn-lint) on the CI machine." >&2
    exit 1
  fi
  echo "cfn-lint: WARNING: cfn-lint is not installed; skipping the CloudFormation lint (pip install cfn-lint)." >&2
  exit 0
fi

read -r -a regions <<<"${CFN_LINT_REGIONS:-us-east-1 eu-central-1}"
if [ -n "${CFN_LINT_OUT:-}" ]; then
  out="$CFN_LINT_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/voltledger-cfn-lint.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi

export CDK_DISABLE_CLI_TELEMETRY=true
read -r -a stages <<<"$(npx tsx -e 'import("./lib/infra/config.ts").then((m) => console.log(m.STAGES.join(" ")))')"
if [ "${#stages[@]}" -eq 0 ]; then
  echo "cfn-lint: ERROR: no stages found in lib/infra/config.ts" >&2
  exit 1
fi

templates=()
for stage in "${stages[@]}"; do
  echo "cfn-lint: synthesizing stage $stage"
  # A stage's own folder: `cdk synth` leaves no stale template of another stage behind.
  rm -rf "${out:?}/$stage"
  npx cdk synth --no-notices --quiet -c stage="$stage" -o "$out/$stage" >"$out/$stage.synth.log" 2>&1 || {
    cat "$out/$stage.synth.log" >&2
    echo "cfn-lint: ERROR: cdk synth failed for stage $stage" >&2
    exit 1
  }
  while IFS= read -r template; do templates+=("$template"); done < <(find "$out/$stage" -name '*.template.json' | sort)
done
if [ "${#templates[@]}" -eq 0 ]; then
  echo "cfn-lint: ERROR: cdk synth wrote no template" >&2
  exit 1
fi

echo "cfn-lint: $(cfn-lint --version) on ${#templates[@]} templates (${stages[*]}), regions ${regions[*]}"
report="$out/cfn-lint.txt"
status=0
cfn-lint --regions "${regions[@]}" -- "${templates[@]}" >"$report" 2>&1 || status=$?
cat "$report"
errors=$(grep -cE '^E[0-9]{4}' "$report" || true)
warnings=$(grep -cE '^W[0-9]{4}' "$report" || true)
# cfn-lint's exit code is a bit mask: 1 = cfn-lint itself failed, 2 = errors, 4 = warnings, 8 = informational.
if (( status & 3 )) || [ "$errors" -gt 0 ]; then
  echo "cfn-lint: FAILED: $errors errors, $warnings warnings (exit code $status)" >&2
  exit 1
fi
echo "cfn-lint: passed: 0 errors, $warnings warnings"
