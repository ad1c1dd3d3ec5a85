//! Issue 13, `trafficsim catalogue import litellm FILE`: LiteLLM's price table (a fixture
//! excerpt) as a trafficsim catalogue, and the round trip import → generate → validate.

mod common;

use std::path::PathBuf;

use common::*;

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/litellm/model_prices_excerpt.json")
}

fn import(args: &[&str]) -> Run {
    let file = fixture();
    let mut all = vec!["catalogue", "import", "litellm", file.to_str().unwrap()];
    all.extend(args);
    run_bin(all)
}

#[test]
fn chat_models_of_the_chosen_providers_are_priced_per_1k_tokens_with_their_cache_prices() {
    let run = import(&["--providers", "openai,anthropic,gemini"]).success();
    let toml: toml::Table = toml::from_str(&run.stdout).unwrap();
    let prices = toml["prices"].as_table().unwrap();
    let mut models: Vec<&String> = prices.keys().collect();
    models.sort();
    assert_eq!(
        models,
        [
            "claude-3-5-sonnet-20241022",
            "claude-3-haiku-20240307",
            "claude-sonnet-4-20250514",
            "gemini/gemini-1.5-flash",
            "gpt-4-turbo",
            "gpt-4o",
            "gpt-4o-mini"
        ],
        "chat models only: no embedding, image or other provider's model"
    );
    let price = |model: &str, key: &str| prices[model].get(key).and_then(|v| v.as_float());
    assert_eq!(price("gpt-4o", "input"), Some(0.0025));
    assert_eq!(price("gpt-4o", "output"), Some(0.01));
    assert_eq!(price("gpt-4o", "cache_read"), Some(0.00125));
    assert_eq!(price("gpt-4o", "cache_write"), None, "OpenAI charges no write premium");
    assert_eq!(price("claude-3-5-sonnet-20241022", "cache_write"), Some(0.00375));
    assert_eq!(price("claude-3-haiku-20240307", "cache_read"), Some(0.00003));
    assert_eq!(price("gpt-4-turbo", "cache_read"), None, "no prompt caching");
    // LiteLLM's `gemini` provider is trafficsim's `google`, with its regions and billing names.
    let providers = toml["providers"].as_table().unwrap();
    assert_eq!(
        providers["google"]["models"].as_array().unwrap()[0].as_str(),
        Some("gemini/gemini-1.5-flash")
    );
    assert_eq!(providers["google"]["regions"]["eu-fr"].as_str(), Some("europe-west9"));
    assert_eq!(providers["google"]["billing"]["service"].as_str(), Some("Vertex AI"));
    let weights: f64 = toml["market_weights"]
        .as_table()
        .unwrap()
        .values()
        .map(|v| v.as_float().unwrap())
        .sum();
    assert!((weights - 1.0).abs() < 1e-9);
}

#[test]
fn models_can_be_chosen_by_name_and_a_provider_the_base_does_not_know_serves_from_global() {
    let run = import(&[
        "--models",
        "gpt-4o-mini,together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ])
    .success();
    let toml: toml::Table = toml::from_str(&run.stdout).unwrap();
    assert_eq!(toml["prices"].as_table().unwrap().len(), 2);
    let together = &toml["providers"]["together_ai"];
    assert!(
        together["regions"]
            .as_table()
            .unwrap()
            .values()
            .all(|r| r.as_str() == Some("global"))
    );
    assert!(together.get("billing").is_none(), "names default to the provider's key");
}

#[test]
fn bad_requests_name_the_file_and_what_is_allowed() {
    import(&["--models", "gpt-5-imaginary"])
        .failure()
        .stderr_has("model_prices_excerpt.json")
        .stderr_has("model `gpt-5-imaginary` is not a chat or completion model");
    import(&["--providers", "nobody"]).failure().stderr_has(
        "no model matched: the file's providers with chat models are anthropic, gemini, mistral, openai, together_ai",
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("prices.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    run_bin(["catalogue", "import", "litellm", bad.to_str().unwrap()])
        .failure()
        .stderr_has("not LiteLLM's price table");
}

#[test]
fn an_imported_catalogue_round_trips_through_generate_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run_bin(["init".as_ref(), root.as_os_str()]).success();
    let catalogue = root.join("config/imported.toml");
    import(&[
        "--providers",
        "openai,anthropic,gemini,mistral",
        "--out",
        catalogue.to_str().unwrap(),
    ])
    .success();
    // A run plan on the imported catalogue whose one cohort runs the base traffic (the other
    // scenarios name models of the documents' catalogue).
    let plan = root.join("config/imported_plan.toml");
    std::fs::write(
        &plan,
        "catalogue = \"imported.toml\"\ntraffic = \"traffic.toml\"\nprofile = \"realistic\"\n\n\
         [run]\nseed = 7\nstart_date = \"2025-03-01\"\ndays = 10\nrows = 5000\nformats = [\"csv\", \"parquet\"]\nout = \"output\"\n\n\
         [[cohorts]]\nname = \"base\"\nscenario = \"base_traffic\"\nshare = 1\n",
    )
    .unwrap();
    let out = root.join("output");
    let plan_arg = plan.to_str().unwrap();
    run_bin([
        "generate",
        "--config",
        plan_arg,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
    .success();
    run_bin([
        "validate",
        "--config",
        plan_arg,
        out.join("data/calls").to_str().unwrap(),
    ])
    .success()
    .stdout_has("all checks passed");
    let rows = read_all(&out.join("data/simulated_calls.csv"));
    let imported: toml::Table = toml::from_str(&std::fs::read_to_string(&catalogue).unwrap()).unwrap();
    let models = strings(&rows, "model");
    assert!(
        models
            .iter()
            .all(|m| imported["prices"].as_table().unwrap().contains_key(*m))
    );
    assert!(models.contains(&"gemini/gemini-1.5-flash") && models.contains(&"mistral/mistral-large-latest"));
    assert!(
        ints(&rows, "cached_input_tokens").iter().any(|&c| c > 0),
        "imported cache prices are used"
    );
}
