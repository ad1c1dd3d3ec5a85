//! Placeholder lists and event-name templates, parsed once so that a name can always be filled.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::ticketing::catalogue::{Piece, Placeholder, Template};

/// Placeholders filled from the event's venue, not from a list.
const RESERVED: [&str; 2] = ["venue", "city"];

pub(super) fn placeholders(
    path: &Path,
    raw: &BTreeMap<String, Vec<String>>,
    performers: &[String],
) -> Result<Vec<Placeholder>, ConfigError> {
    let mut out = Vec::new();
    for (name, values) in raw {
        let key = format!("placeholders.{name}");
        if RESERVED.contains(&name.as_str()) {
            return Err(ConfigError::invalid(
                path,
                key,
                format!("`{name}` is reserved: `{{{name}}}` is filled from the event's venue; remove this list"),
            ));
        }
        if !valid_name(name) {
            return Err(ConfigError::invalid(
                path,
                key,
                "a placeholder name is lowercase letters, digits and `_`",
            ));
        }
        if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            return Err(ConfigError::invalid(
                path,
                key,
                "must list at least one value, and no empty one",
            ));
        }
        out.push(Placeholder {
            name: name.clone(),
            values: values.clone(),
            performer: performers.contains(name),
        });
    }
    for name in performers {
        if !raw.contains_key(name) {
            return Err(ConfigError::invalid(
                path,
                "performers",
                format!(
                    "unknown placeholder `{name}`: allowed are the lists under [placeholders]: {}",
                    checks::allowed(raw.keys().map(String::as_str))
                ),
            ));
        }
    }
    Ok(out)
}

/// The parsed templates of each category, in category order.
pub(super) fn templates(
    path: &Path,
    raw: &BTreeMap<String, Vec<String>>,
    categories: &[&str],
    lists: &[Placeholder],
) -> Result<Vec<Vec<Template>>, ConfigError> {
    for name in raw.keys() {
        if !categories.contains(&name.as_str()) {
            return Err(ConfigError::invalid(
                path,
                format!("templates.{name}"),
                format!(
                    "unknown category `{name}`: allowed are the categories under [categories]: {}",
                    checks::allowed(categories.iter().copied())
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for category in categories {
        let texts = raw.get(*category).filter(|t| !t.is_empty()).ok_or_else(|| {
            ConfigError::invalid(
                path,
                "templates",
                format!("category `{category}` has no name template: add `{category} = [\"…\"]` under [templates]"),
            )
        })?;
        let mut parsed = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let template = parse(text, lists).map_err(|m| {
                ConfigError::invalid(path, format!("templates.{category}[{i}]"), format!("\"{text}\": {m}"))
            })?;
            parsed.push(template);
        }
        out.push(parsed);
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The list a placeholder draws from: its own name, or its name without a trailing number
/// (`team2` → `team`).
fn resolve(name: &str, lists: &[Placeholder]) -> Option<usize> {
    let find = |n: &str| lists.iter().position(|l| l.name == n);
    find(name).or_else(|| find(name.trim_end_matches(|c: char| c.is_ascii_digit())))
}

/// Parses a template; the error says what is wrong with it.
pub(super) fn parse(text: &str, lists: &[Placeholder]) -> Result<Template, String> {
    let mut pieces = Vec::new();
    let mut slot_names: Vec<&str> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(o) = rest.find('{') else {
            if rest.contains('}') {
                return Err("a `}` without its `{`".to_string());
            }
            pieces.push(Piece::Text(rest.to_string()));
            break;
        };
        if rest[..o].contains('}') {
            return Err("a `}` without its `{`".to_string());
        }
        let c = o + rest[o..]
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{}`", &rest[o..]))?;
        if o > 0 {
            pieces.push(Piece::Text(rest[..o].to_string()));
        }
        let name = &rest[o + 1..c];
        if !valid_name(name) {
            return Err(format!(
                "`{{{name}}}` is not a placeholder: write `{{name}}` with lowercase letters, digits and `_`"
            ));
        }
        pieces.push(match name {
            "venue" => Piece::Venue,
            "city" => Piece::City,
            _ => {
                let list = resolve(name, lists).ok_or_else(|| {
                    format!(
                        "placeholder `{{{name}}}` is not defined: add `{name} = [\"…\"]` under [placeholders] (defined: {}; reserved: venue, city)",
                        checks::allowed(lists.iter().map(|l| l.name.as_str()))
                    )
                })?;
                let slot = slot_names.iter().position(|s| *s == name).unwrap_or_else(|| {
                    slot_names.push(name);
                    slots.push(list);
                    slots.len() - 1
                });
                Piece::Slot(slot)
            }
        });
        rest = &rest[c + 1..];
    }
    for (l, list) in lists.iter().enumerate() {
        let used = slots.iter().filter(|&&s| s == l).count();
        if used > list.values.len() {
            return Err(format!(
                "uses {used} different `{{{}…}}` placeholders, but [placeholders].{} has only {} to keep them distinct",
                list.name,
                list.name,
                match list.values.len() {
                    1 => "1 value".to_string(),
                    n => format!("{n} values"),
                }
            ));
        }
    }
    Ok(Template {
        text: text.to_string(),
        pieces,
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Vec<Placeholder> {
        [("team", vec!["A", "B"]), ("artist", vec!["X"])]
            .into_iter()
            .map(|(n, v)| Placeholder {
                name: n.into(),
                values: v.into_iter().map(String::from).collect(),
                performer: true,
            })
            .collect()
    }

    #[test]
    fn templates_parse_into_pieces_and_slots() {
        let t = parse("{team1} vs {team2} at {venue}, {city} ({team1})", &lists()).unwrap();
        assert_eq!(t.slots, vec![0, 0]);
        assert_eq!(
            t.pieces,
            vec![
                Piece::Slot(0),
                Piece::Text(" vs ".into()),
                Piece::Slot(1),
                Piece::Text(" at ".into()),
                Piece::Venue,
                Piece::Text(", ".into()),
                Piece::City,
                Piece::Text(" (".into()),
                Piece::Slot(0),
                Piece::Text(")".into()),
            ]
        );
        assert_eq!(
            parse("Plain", &lists()).unwrap().pieces,
            vec![Piece::Text("Plain".into())]
        );
    }

    #[test]
    fn bad_templates_say_why() {
        for (text, says) in [
            ("{artist1} & {artist2}", "only 1 value to"),
            ("{singer} Live", "`{singer}` is not defined"),
            ("Live {artist", "unclosed"),
            ("Live artist}", "without"),
            ("{Artist}", "lowercase"),
        ] {
            let e = parse(text, &lists()).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
