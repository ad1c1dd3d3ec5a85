#!/usr/bin/env bash
# Validates the default FOCUS export with the FinOps Foundation's focus-validator (PyPI 2.2.1):
# generates the default calls dataset, runs `trafficsim export focus`, and validates the
# Parquet and the CSV file against FOCUS 1.2 (rules model 1.2.0.1).
#
#   bash scripts/focus_check.sh [OUT]        # OUT: where to generate (default: a temp directory)
#   bash scripts/focus_check.sh --find-python  # prints the Python >= 3.12 it would use, or exits 3
#
# How the validator runs here (measured): it needs Python >= 3.12; it pins numpy below 2, so
# pyarrow is pinned below 18 beside it; it downloads its rules at start unless told not to
# (--block-download: the 1.2 rules ship inside the package); it opens
# focus_validator/rules/currency_codes.csv relative to the working directory, so it runs from
# the venv's site-packages; and it exits 0 even when rules fail, so the verdict is its summary
# line, `Total: N | Pass: N | Fail: N | Skipped: N`.
#
# Environment: PYTHON (an interpreter to use), FOCUS_VENV (the venv, default
# ~/.cache/trafficsim/focus-validator-2.2.1), TRAFFICSIM (a trafficsim binary; default: built
# with cargo in the release profile).
set -euo pipefail
cd "$(dirname "$0")/.."

VALIDATOR_VERSION=2.2.1

# Rules the validator fails on every non-empty dataset, whatever it holds, with the reason.
# InvoiceId-C-004-C ("MUST be null when the charge is not associated with an invoice") and
# InvoiceId-C-005-C ("MUST NOT be null when it is") carry no condition in the validator's
# 1.2.0.1 rules model, so one of the two fails on any row: a non-null InvoiceId fails C-004, a
# null one C-005, and leaving the (RECOMMENDED) column out fails 7 rules. The export's rows are
# on a provider's monthly (provisional) invoice, so InvoiceId is set and C-004 is the one.
KNOWN_VALIDATOR_DEFECTS=("InvoiceId-C-004-C")

find_python() {
    local candidates=()
    [[ -n "${PYTHON:-}" ]] && candidates+=("$PYTHON")
    candidates+=(python3.12 python3.13 python3.14 python3)
    # pyenv installs that are not the active version (their shims refuse to run).
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    for p in "$root"/versions/3.1[2-9]*/bin/python3; do
        [[ -x "$p" ]] && candidates+=("$p")
    done
    local py
    for py in "${candidates[@]}"; do
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
            command -v "$py" || echo "$py"
            return 0
        fi
    done
    return 3
}

if [[ "${1:-}" == "--find-python" ]]; then
    find_python
    exit $?
fi

python=$(find_python) || {
    echo "focus_check: no Python >= 3.12 found (focus-validator $VALIDATOR_VERSION needs it); set PYTHON" >&2
    exit 3
}

venv="${FOCUS_VENV:-$HOME/.cache/trafficsim/focus-validator-$VALIDATOR_VERSION}"
installed=$("$venv/bin/python" -m pip show focus-validator 2>/dev/null || true)
if ! grep -qx "Version: $VALIDATOR_VERSION" <<<"$installed"; then
    echo "focus_check: installing focus-validator $VALIDATOR_VERSION into $venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "focus-validator==$VALIDATOR_VERSION" 'pyarrow<18'
fi
site_packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

if [[ -z "${TRAFFICSIM:-}" ]]; then
    cargo build --release --quiet
    target="${CARGO_TARGET_DIR:-target}"
    # .ci/run sets an absolute target directory; a relative one is the clone's.
    [[ "$target" = /* ]] || target="$(pwd)/$target"
    TRAFFICSIM="$target/release/trafficsim"
fi
out="${1:-$(mktemp -d)}"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
"$TRAFFICSIM" generate --out "$out" --quiet
"$TRAFFICSIM" export focus --input "$out/data" --out "$out/focus"

status=0
for file in "$out/focus/focus_cost_and_usage.parquet" "$out/focus/focus_cost_and_usage.csv"; do
    report="$out/focus/$(basename "$file").validation.txt"
    # The validator's rules file path is relative: run it from site-packages.
    (cd "$site_packages" && "$venv/bin/focus-validator" --data-file "$file" \
        --validate-version 1.2.0.1 --block-download) >"$report" 2>&1 || true
    summary=$(grep -E '^Total: [0-9]+ \| Pass: [0-9]+ \| Fail: [0-9]+ \| Skipped: [0-9]+' "$report" || true)
    if [[ -z "$summary" ]]; then
        echo "focus_check: $file: the validator printed no summary line (see $report)" >&2
        status=1
        continue
    fi
    echo "$(basename "$file"): $summary"
    # Failing rules: lines like `❌ RuleId: FAIL  (…)` (or `[FAIL] RuleId: FAIL` on ASCII consoles).
    mapfile -t failed < <(sed -nE 's/^(❌|\[FAIL\]) ([A-Za-z0-9-]+): FAIL.*/\2/p' "$report")
    for rule in "${failed[@]}"; do
        if printf '%s\n' "${KNOWN_VALIDATOR_DEFECTS[@]}" | grep -qx "$rule"; then
            echo "  $rule: FAIL, a known defect of the validator's rules model (see this script)"
        else
            echo "  $rule: FAIL" >&2
            status=1
        fi
    done
done
if [[ $status -eq 0 ]]; then
    echo "focus_check: passed (reports in $out/focus)"
else
    echo "focus_check: FAILED (reports in $out/focus)" >&2
fi
exit $status
