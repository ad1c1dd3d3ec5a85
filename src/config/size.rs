//! Parses sizes such as `50MiB`, `200MB` or `1.5GiB`.

/// Parses a size into bytes. Units: B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of
/// 1024); a bare number is bytes. Returns a message saying what is allowed on failure.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.replace('_', "").parse().map_err(|_| not_a_size(text))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "pb" | "p" => 1e15,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(not_a_size(text)),
    };
    let bytes = (number * multiplier).round();
    if !bytes.is_finite() || !(1.0..=1e15).contains(&bytes) {
        return Err(format!("\"{text}\" is out of range: allowed is 1 byte to 1 PB"));
    }
    Ok(bytes as u64)
}

fn not_a_size(text: &str) -> String {
    format!("\"{text}\" is not a size: use a number with a unit such as 50MiB, 200MB or 1GiB")
}

/// Formats bytes for people: `52.43 MB (50.00 MiB)`.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("50MiB"), Ok(50 * 1024 * 1024));
        assert_eq!(parse_size("200MB"), Ok(200_000_000));
        assert_eq!(parse_size("1.5 GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("10kib"), Ok(10_240));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse_size("50XB").unwrap_err().contains("not a size"));
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("0").unwrap_err().contains("out of range"));
    }
}
