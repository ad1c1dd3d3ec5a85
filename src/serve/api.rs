//! The routes: `GET /api/status`, `POST /api/analyze`, `GET /api/analyze/{id}`, and the report
//! files under `/<tree>/`. Only GET, HEAD and POST are answered; request bodies are bounded;
//! `/api/*` errors are JSON with the right status code.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::files::{Refused, content_type, resolve};
use super::jobs::{Jobs, Origin, Request as Job};
use super::{AppState, panel, status};

/// The largest request body taken (an analysis request is a few dozen bytes).
pub const MAX_BODY: usize = 16 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/status", get(get_status))
        .route("/api/analyze", post(start_analysis))
        .route("/api/analyze/{id}", get(get_analysis))
        .fallback(files)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// A JSON error.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Refuses other methods, requests for another host (DNS rebinding) on a loopback bind, and
/// POSTs that a foreign web page could send (another origin, or not JSON); marks every answer
/// uncacheable.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if ![Method::GET, Method::HEAD, Method::POST].contains(&method) {
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed: GET, HEAD or POST"),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        return r;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if state.loopback_only && !is_loopback_host(host) {
        return error(
            StatusCode::FORBIDDEN,
            format!("Host `{host}`: this viewer answers only to 127.0.0.1, localhost or [::1]"),
        );
    }
    if method == Method::POST {
        let headers = request.headers();
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
            && origin.split_once("://").map(|(_, h)| h) != Some(host)
        {
            return error(
                StatusCode::FORBIDDEN,
                format!("Origin `{origin}`: only pages of this viewer may start analyses"),
            );
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.split(';').next().is_some_and(|t| t.trim() == "application/json"));
        if !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON (Content-Type: application/json), e.g. {\"only\": [\"overview\"]}",
            );
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => name,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

async fn get_status(State(state): State<Arc<AppState>>) -> Response {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || status::status(&s)).await {
        Ok(status) => axum::Json(status).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot compute the status: {e}"),
        ),
    }
}

/// `POST /api/analyze` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeBody {
    /// Analyzers to re-run (all when left out).
    only: Option<Vec<String>>,
    /// The report tree to analyze (the first when left out).
    reports: Option<String>,
}

async fn start_analysis(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let body: AnalyzeBody = match body.is_empty() {
        true => AnalyzeBody::default(),
        false => match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not {{\"only\": [names], \"reports\": name}}: {e}"),
                );
            }
        },
    };
    let mount = match &body.reports {
        None => 0,
        Some(name) => match state.mounts.iter().position(|m| &m.name == name) {
            Some(i) => i,
            None => return error(StatusCode::NOT_FOUND, format!("no report tree `{name}`")),
        },
    };
    let m = &state.mounts[mount];
    let Some(plan) = m.plan.clone() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("report tree `{}` has no run plan to analyze with", m.name),
        );
    };
    if body.only.as_ref().is_some_and(Vec::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "`only` is empty: name analyzers, or leave it out for all",
        );
    }
    // Names and settings are checked now, so a typo is a 400, not a failed analysis.
    if let Err(e) = crate::cli::analyze::Prepared::new(plan, &m.analysis, body.only.as_deref()) {
        return error(StatusCode::BAD_REQUEST, e.to_string().replace("--only: ", "`only`: "));
    }
    let request = Job {
        mount,
        only: body.only,
        origin: Origin::Api,
        days: None,
    };
    match Jobs::start(&state, request) {
        Ok(id) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "id": id, "state": "running", "url": format!("/api/analyze/{id}") })),
        )
            .into_response(),
        Err(running) => (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "error": format!("analysis {running} is running: one at a time"),
                "running": running,
                "url": format!("/api/analyze/{running}"),
            })),
        )
            .into_response(),
    }
}

async fn get_analysis(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> Response {
    match id.parse::<u64>().ok().and_then(|n| state.jobs.record(n)) {
        Some(record) => axum::Json(record).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no analysis `{id}`")),
    }
}

/// Everything else: the report files, `/` (to the first tree), and JSON 404s under `/api/`.
async fn files(State(state): State<Arc<AppState>>, method: Method, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path == "/api" || path.starts_with("/api/") {
        return error(StatusCode::NOT_FOUND, format!("no route {path}"));
    }
    if method == Method::POST {
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "report files are read with GET or HEAD");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if path == "/" {
        return Redirect::to(&format!("/{}/", state.mounts[0].name)).into_response();
    }
    let rest = &path[1..];
    let (name, under) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(index) = state.mounts.iter().position(|m| m.name == name) else {
        return not_found(&state);
    };
    if !rest.contains('/') {
        return Redirect::to(&format!("/{name}/")).into_response();
    }
    let mount = &state.mounts[index];
    let file = match resolve(&mount.dir, under) {
        Ok(f) => f,
        Err(Refused::BadPath) => return (StatusCode::BAD_REQUEST, "bad path").into_response(),
        // A tree the live run has not analyzed yet: a page that says so, and follows it.
        Err(Refused::NotFound) if under.is_empty() && state.live.is_some() && index == 0 => {
            return html(&state, index, PLACEHOLDER.to_string()).await;
        }
        Err(Refused::NotFound) => return not_found(&state),
    };
    let kind = content_type(&file).unwrap_or("application/octet-stream");
    let bytes = match tokio::fs::read(&file).await {
        Ok(b) => b,
        Err(_) => return not_found(&state),
    };
    if kind.starts_with("text/html") {
        return html(&state, index, String::from_utf8_lossy(&bytes).into_owned()).await;
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    (headers, Body::from(bytes)).into_response()
}

/// A page with the live panel of report tree `index`.
async fn html(state: &Arc<AppState>, index: usize, page: String) -> Response {
    let s = state.clone();
    let mount = tokio::task::spawn_blocking(move || status::status(&s).mounts.swap_remove(index)).await;
    let page = match mount {
        Ok(m) => panel::inject(&page, &m),
        Err(_) => page,
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    (headers, page).into_response()
}

fn not_found(state: &AppState) -> Response {
    let trees: Vec<String> = state.mounts.iter().map(|m| format!("/{}/", m.name)).collect();
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Not found. The reports are under {}.\n", trees.join(" and ")),
    )
        .into_response()
}

/// The index of a tree the live run has not analyzed yet.
const PLACEHOLDER: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>trafficsim — waiting for the first analysis</title></head><body><main style=\"font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto\"><h1>No reports yet</h1><p>The live run analyzes the data after its first days; this page reloads when the reports are written.</p></main></body></html>";
