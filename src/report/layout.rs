//! The page shell every report shares: header, navigation, footer and the inline stylesheet
//! (no CDN, no JavaScript; readable in print and on a narrow screen).

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A link in the navigation bar.
pub struct NavLink<'a> {
    pub href: &'a str,
    pub title: &'a str,
}

/// What the footer says about the run.
pub struct Footer<'a> {
    pub generated_at: &'a str,
    pub source: &'a str,
    pub rows: u64,
}

/// A whole HTML document around `body`. `current` is the href of this page (marked in the nav).
pub fn page(
    title: &str,
    subtitle: &str,
    nav: &[NavLink<'_>],
    current: &str,
    footer: &Footer<'_>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — trafficsim" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    div.wrap {
                        h1 { (title) }
                        p.subtitle { (subtitle) }
                    }
                }
                nav aria-label="Reports" {
                    ul.wrap {
                        @for link in nav {
                            li {
                                @if link.href == current {
                                    a href=(link.href) aria-current="page" { (link.title) }
                                } @else {
                                    a href=(link.href) { (link.title) }
                                }
                            }
                        }
                    }
                }
                main { (body) }
                footer {
                    div.wrap {
                        "Generated " (footer.generated_at) " by trafficsim " (env!("CARGO_PKG_VERSION"))
                        " from " code { (footer.source) } " (" (super::html::count(footer.rows as f64)) " rows)."
                    }
                }
            }
        }
    }
}

/// The stylesheet: the showcase's purple-blue gradient and status colours, a system font stack,
/// cards in a responsive grid, max width 1400 px; print and narrow-screen rules at the end.
pub const CSS: &str = r#"
:root{--grad:linear-gradient(135deg,#667eea 0%,#764ba2 100%);--ok:#0d9488;--warn:#d97706;--bad:#dc2626;--info:#2563eb;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f4f5fb;line-height:1.5}
.wrap,main{max-width:1400px;margin:0 auto}
header{background:var(--grad);color:#fff;padding:22px 16px 18px}
header h1{margin:0;font-size:1.8rem;line-height:1.2}
.subtitle{margin:6px 0 0;opacity:.92}
nav{background:#fff;border-bottom:1px solid var(--line)}
nav ul{list-style:none;margin:0 auto;padding:8px 16px;display:flex;flex-wrap:wrap;gap:4px 18px}
nav a{color:#4c51bf;text-decoration:none}
nav a:hover{text-decoration:underline}
nav a[aria-current]{font-weight:700;color:#1f2937}
main{padding:8px 16px 24px}
section{background:#fff;border-radius:10px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 10px;font-size:1.25rem;color:#4c51bf}
h3{margin:14px 0 6px;font-size:1.05rem}
.note{color:var(--muted);font-size:.9rem;margin:4px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{background:var(--grad);color:#fff;border-radius:10px;padding:12px 16px}
.card-value{font-size:1.45rem;font-weight:700;font-variant-numeric:tabular-nums}
.card-label{opacity:.92;font-size:.88rem}
.card .note,.card a{color:inherit;opacity:.92}
.table-wrap{overflow-x:auto;margin:6px 0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:#f3f4f6;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{white-space:normal;min-width:22em}
.status{font-weight:700}.status-pass{color:#15803d}.status-fail{color:#b91c1c}.status-skip{color:#92400e}
tbody tr:nth-child(even){background:#fafafe}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:16px}
figure.chart{margin:8px 0}
figure.chart svg{max-width:100%;height:auto;display:block}
.alert{border-left:5px solid var(--info);background:#eff6ff;padding:10px 14px;margin:10px 0;border-radius:6px}
.alert p{margin:4px 0}
.alert-title{font-weight:600}
.alert-critical{border-color:var(--bad);background:#fef2f2}
.alert-high{border-color:var(--warn);background:#fff7ed}
.alert-medium{border-color:#eab308;background:#fefce8}
.alert-low{border-color:var(--ok);background:#f0fdfa}
.badge{display:inline-block;text-transform:uppercase;font-size:.7rem;letter-spacing:.04em;padding:1px 6px;border-radius:4px;background:#1f2937;color:#fff;vertical-align:middle}
.action{color:#374151}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}
.reports{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:16px}
.report{background:#fff;border-radius:10px;padding:16px 20px;box-shadow:0 1px 3px rgba(0,0,0,.08);border-top:5px solid #667eea}
.report h2 a{color:#4c51bf;text-decoration:none}
.report dl{display:grid;grid-template-columns:auto 1fr;gap:2px 14px;margin:8px 0 0}
.report dt{color:var(--muted)}
.report dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
footer{color:var(--muted);font-size:.85rem;padding:12px 16px 28px}
code{font-size:.9em;word-break:break-all}
@media (max-width:700px){
header h1{font-size:1.35rem}
main{padding:4px 8px 16px}
section{padding:12px;border-radius:6px}
.card-value{font-size:1.15rem}
th,td{padding:4px 6px}
}
@media print{
body{background:#fff;font-size:11pt}
nav{display:none}
header{background:none;color:#000;border-bottom:2px solid #000;padding:0 0 8px}
.card{background:#fff;color:#000;border:1px solid #888}
section,.report{box-shadow:none;border:1px solid #ccc;break-inside:avoid-page}
.chart-grid{display:block}
figure.chart{break-inside:avoid}
a{color:#000}
.table-wrap{overflow:visible}
th,td{white-space:normal}
}
"#;
