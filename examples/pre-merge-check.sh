#!/usr/bin/env bash
# Pre-merge check: audit the candidate and compare it with the deployed model's report.json.
# Exit codes are auditor's: 0 pass, 1 a blocking rule failed (including a regression against the
# deployed model: rules RG01-RG03), 2 bad input or configuration.
#
#   examples/pre-merge-check.sh models/candidate.keras deployed/report.json
set -euo pipefail
candidate="$1"
deployed_report="$2"
code=0
auditor audit "$candidate" \
    --train data/train.parquet --val data/val.parquet \
    --baseline "$deployed_report" \
    --fail-on error --out audit-report --no-progress || code=$?
# The two audits side by side for the review (post compare.md as a pull-request comment); the
# audit above already judged the regression, so compare's own exit code is not the gate here.
if [ -f audit-report/report.json ]; then
    auditor compare "$deployed_report" audit-report/report.json \
        --html audit-report/compare.html > audit-report/compare.md || true
fi
exit "$code"
