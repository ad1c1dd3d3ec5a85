# trafficsim tasks; each is one line over the CLI or cargo. `just --list` shows them.

# Generate the calls dataset (CSV + Parquet) with config/default.toml; extra flags pass through.
generate *FLAGS:
    cargo run --release -- generate {{FLAGS}}

# Generate one UTC day of the plan's window (its partition replaces what was there): what a nightly cron runs.
generate-day DATE *FLAGS:
    cargo run --release -- generate --date {{DATE}} {{FLAGS}}

# Serve the reports on http://127.0.0.1:8000/ (both workloads' when present); --live generates and re-analyzes day by day.
serve *FLAGS:
    cargo run --release -- serve {{FLAGS}}

# List the scenarios with their parameters, and the modifiers to write new ones.
scenarios *FLAGS:
    cargo run --release -- scenarios {{FLAGS}}

# Check a dataset's invariants (default: the Parquet dataset under output/data/calls).
validate *FLAGS:
    cargo run --release -- validate {{FLAGS}}

# Run every analyzer over output/data and write the reports to output/reports; extra flags pass through.
analyze *FLAGS:
    cargo run --release -- analyze {{FLAGS}}

# Analyze another export's calls through a columns map (a file or a preset: litellm, seed-era), e.g. `just analyze-foreign spend_logs.csv litellm`.
analyze-foreign FILE MAP *FLAGS:
    cargo run --release -- analyze --input {{FILE}} --columns-map {{MAP}} --out output/foreign-reports {{FLAGS}}

# The new FinOps pages alone over output/data (token economics, regions and time zones).
analyze-finops *FLAGS:
    cargo run --release -- analyze --only token_economics,regional {{FLAGS}}

# The main job: generate the dataset, then analyze it (output/data, output/reports).
run *FLAGS:
    cargo run --release -- run {{FLAGS}}

# The whole test suite, in the release profile the runs use, so dependencies compile once.
test:
    cargo test --release

# Speed and memory figures with the machine facts (see BENCHMARKS.md); PARTS: generate, analyze, peer (default: all three), or replay alone.
bench *PARTS:
    bash scripts/bench.sh {{PARTS}}

# The calls as a FOCUS 1.2 cost-and-usage dataset (output/focus); extra flags pass through.
export-focus *FLAGS:
    cargo run --release -- export focus {{FLAGS}}

# Validate the default FOCUS export with the FinOps Foundation's focus-validator (needs Python >= 3.12).
focus-check *ARGS:
    bash scripts/focus_check.sh {{ARGS}}

# A catalogue from LiteLLM's model_prices_and_context_window.json, e.g. `just import-litellm prices.json --providers openai,anthropic --out config/catalogue.toml`.
import-litellm FILE *FLAGS:
    cargo run --release -- catalogue import litellm {{FILE}} {{FLAGS}}

# Write the built-in configuration out to DIR/config for editing.
init *ARGS:
    cargo run --release -- init {{ARGS}}

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --check && cargo clippy --all-targets -- -D warnings

# Generate the ticketing dataset (transactions, events, users, labels) with config/ticketing.toml into output/ticketing; extra flags pass through.
generate-ticketing *FLAGS:
    cargo run --release -- generate --config config/ticketing.toml {{FLAGS}}

# List the ticketing scenarios with their parameters, and the modifiers to write new ones.
scenarios-ticketing *FLAGS:
    cargo run --release -- scenarios --config config/ticketing.toml {{FLAGS}}

# Check the ticketing dataset's invariants (default: output/ticketing/data).
validate-ticketing *FLAGS:
    cargo run --release -- validate --config config/ticketing.toml {{FLAGS}}

# Run the ticketing validators over output/ticketing/data and write output/ticketing/reports; extra flags (e.g. --predictions FILE) pass through.
analyze-ticketing *FLAGS:
    cargo run --release -- analyze --config config/ticketing.toml {{FLAGS}}

# The ticketing main job: generate output/ticketing/data, then analyze it.
run-ticketing *FLAGS:
    cargo run --release -- run --config config/ticketing.toml {{FLAGS}}

# The CI gate: every named one-sided check of the ticketing dataset as a table; exits 1 if one fails.
check *FLAGS:
    cargo run --release -- check --config config/ticketing.toml {{FLAGS}}

# A loopback fraud-scoring service for replay (POST /predict); flags such as --faults-from-labels output/ticketing/data pass through.
serve-mock *FLAGS:
    cargo run --release -- serve-mock {{FLAGS}}

# Drive a live service with the ticketing dataset (default TARGET: serve-mock on 127.0.0.1:8080); extra flags pass through.
replay TARGET="http://127.0.0.1:8080/predict" *FLAGS:
    cargo run --release -- replay --target {{TARGET}} {{FLAGS}}
