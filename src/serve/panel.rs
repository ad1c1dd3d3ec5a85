//! What the server adds to a report page it serves (never to the files): a bar at the top with
//! the dataset's progress toward the target, the live run's state and how long ago the reports
//! were updated, rendered with the page, and a small script that polls `/api/status` every few
//! seconds (one request at a time, backing off when the server is unreachable), updates the bar
//! in place and reloads the page when its reports are rewritten.

use maud::{Markup, PreEscaped, html};

use super::status::MountStatus;

/// Inserts the panel right after `<body…>` (at the start when there is none).
pub fn inject(page: &str, mount: &MountStatus) -> String {
    let panel = render(mount).into_string();
    let at = page
        .find("<body")
        .and_then(|b| page[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    let mut out = String::with_capacity(page.len() + panel.len());
    out.push_str(&page[..at]);
    out.push_str(&panel);
    out.push_str(&page[at..]);
    out
}

/// The panel, as it is now.
pub fn render(mount: &MountStatus) -> Markup {
    let p = &mount.panel;
    let version = mount.reports.version.as_deref().unwrap_or("");
    html! {
        div #trafficsim-live data-mount=(mount.name) data-version=(version)
            data-age=(p.updated_seconds.map(|s| s.to_string()).unwrap_or_default()) style=(BAR_STYLE) {
            strong { "trafficsim serve" }
            span data-live="state" { (p.state) }
            span style=(TRACK_STYLE) role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(p.percent) {
                span data-live="bar" style={ (FILL_STYLE) "width:" (p.percent) "%" } {}
            }
            span data-live="percent" { (p.percent) "%" }
            span data-live="size" { (p.size) }
            span data-live="updated" { (updated(p.updated_seconds)) }
            span data-live="analysis" { (p.analysis) }
        }
        script { (PreEscaped(SCRIPT)) }
    }
}

/// "reports updated 12 s ago".
fn updated(seconds: Option<u64>) -> String {
    match seconds {
        Some(s) => format!("reports updated {s} s ago"),
        None => "no reports yet".to_string(),
    }
}

const BAR_STYLE: &str = "position:sticky;top:0;z-index:100;display:flex;flex-wrap:wrap;align-items:center;gap:6px 16px;padding:8px 16px;background:#111827;color:#f9fafb;font:14px system-ui,sans-serif";
const TRACK_STYLE: &str =
    "flex:1 1 200px;min-width:160px;height:14px;background:#374151;border-radius:7px;overflow:hidden;display:block";
const FILL_STYLE: &str = "display:block;height:100%;background:linear-gradient(90deg,#667eea,#764ba2);";

/// Polls the status and updates the panel's texts (formatted by the server) in place.
const SCRIPT: &str = r#"(function(){
var el=document.getElementById('trafficsim-live');if(!el||!window.fetch)return;
var mount=el.getAttribute('data-mount'),version=el.getAttribute('data-version'),delay=3000,age=el.getAttribute('data-age');
age=age?+age:null;
function set(k,v){var n=el.querySelector('[data-live="'+k+'"]');if(n)n.textContent=v;}
function shown(){set('updated',age===null?'no reports yet':'reports updated '+age+' s ago');}
function poll(){fetch('/api/status',{cache:'no-store'}).then(function(r){if(!r.ok)throw r.status;return r.json();}).then(function(s){
var m=null;for(var i=0;i<s.mounts.length;i++)if(s.mounts[i].name===mount)m=s.mounts[i];if(!m)return;
var p=m.panel;set('state',p.state);set('size',p.size);set('percent',p.percent+'%');set('analysis',p.analysis);
el.querySelector('[data-live="bar"]').style.width=p.percent+'%';age=p.updated_seconds;shown();delay=3000;
if(m.reports.version&&m.reports.version!==version)location.reload();
}).catch(function(){delay=Math.min(delay*2,30000);set('analysis','server unreachable, retrying');}).then(function(){setTimeout(poll,delay);});}
setInterval(function(){if(age!==null){age+=1;shown();}},1000);
setTimeout(poll,delay);
})();"#;
