//! The HTTP interface: `POST /v1/events` (protocol v1, `docs/protocol.md`),
//! the reads (`/v1/courses`, a course's sessions and attendance) and
//! `/healthz`; `/metrics` on a listener of its own (`metrics_router`). Every
//! `/v1` request is authenticated by a device token (before its body is
//! read) and sees only its institution.

use crate::devices::{self, Device};
use crate::ingest;
use crate::metrics::Metrics;
use crate::rate::RateLimiter;
use crate::reads;
use crate::received::{self, Meaning, Received};
use crate::storage::Storage;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use taproll_wire::protocol::{BatchAnswer, Rejection};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The most a request body may be before the connection is dropped; a
/// body above `max_body_bytes` but under this gets a proper 413.
const BODY_HARD_CAP: usize = 64 * 1024 * 1024;

/// What every request shares.
pub struct AppState {
    pub storage: Storage,
    pub metrics: Metrics,
    pub rate: RateLimiter,
    pub limits: Limits,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// The whole request: reading it, storing a batch, answering.
    pub request_timeout: Duration,
    /// A device clock further off than this is logged.
    pub clock_offset_warn: Duration,
}

/// The devices' and readers' endpoints.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = state.limits;
    let authenticated = Router::new()
        .route("/v1/events", post(post_events))
        .route("/v1/courses", get(get_courses))
        .route("/v1/courses/{course}/sessions", get(get_sessions))
        .route("/v1/courses/{course}/attendance", get(get_attendance))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_device,
        ));
    Router::new()
        .merge(authenticated)
        .route("/healthz", get(healthz))
        // Read to the end, however large (up to a hard cap), and then
        // refused with 413 by the handler: a server that answers before
        // the body is in resets the connection, and the device would see
        // a network error instead of "too large" (and never halve).
        .layer(DefaultBodyLimit::max(
            BODY_HARD_CAP.max(limits.max_body_bytes),
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.request_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .with_state(state)
}

/// `/metrics`, for a listener an admin keeps private: it names every
/// institution's rooms.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// A JSON error: `{"error": "..."}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, axum::Json(body)).into_response()
}

/// The device of the request's bearer token, for the handler; 401 without
/// a valid one, before the body is read.
async fn require_device(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request.headers()).await {
        Ok(device) => {
            request.extensions_mut().insert(device);
            next.run(request).await
        }
        Err(response) => response,
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Device, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let unauthorized = |message: &str| {
        let mut response = error(StatusCode::UNAUTHORIZED, message);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    };
    let Some(token) = token else {
        return Err(unauthorized(
            "a device token is needed (Authorization: Bearer ...)",
        ));
    };
    match devices::device_for_token(&state.storage, token).await {
        Ok(Some(device)) if !device.revoked => Ok(device),
        Ok(Some(_)) => Err(unauthorized("this device token was revoked")),
        Ok(None) => Err(unauthorized("this device token is not known here")),
        Err(e) => {
            tracing::error!(error = %e, "cannot look up a token");
            Err(unavailable())
        }
    }
}

/// 503 with a short `Retry-After`: the database is not answering.
fn unavailable() -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is not answering; try again shortly",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

async fn post_events(
    State(state): State<Arc<AppState>>,
    Extension(device): Extension<Device>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = ingest_batch(&state, &device, &body).await;
    state
        .metrics
        .batch(response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn ingest_batch(state: &AppState, device: &Device, body: &[u8]) -> Response {
    if body.len() > state.limits.max_body_bytes {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a batch may be at most {} bytes here; this one is {}",
                state.limits.max_body_bytes,
                body.len()
            ),
        );
    }
    if let Err(wait) = state.rate.take(&device.id) {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many batches from this device; slow down",
        );
        // Rounded up: never "0", which would invite an immediate retry.
        let seconds = wait.as_secs_f64().ceil().max(1.0).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let (batch, events) = match received::read(body) {
        Ok(read) => read,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Err(e) = ingest::check(device, &batch, &events) {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        return error(status, e.to_string());
    }
    let received_at = chrono::Utc::now().fixed_offset();
    let offset_ms = ingest::sent_at(&batch)
        .map(|sent| (sent - received_at).num_milliseconds())
        .unwrap_or_default();
    if offset_ms.unsigned_abs() > state.limits.clock_offset_warn.as_millis() as u64 {
        tracing::warn!(device = %device.id, room = %device.room, offset_ms, "a device's clock is far off");
    }
    let (storable, broken): (Vec<&Received>, Vec<&Received>) = events
        .iter()
        .partition(|e| !matches!(e.meaning, Meaning::Broken(_)));
    let write = ingest::statements(
        device,
        &batch,
        &storable,
        &taproll_wire::rfc3339(&received_at),
        offset_ms,
        ingest::lag_ms(&batch, &events),
    );
    let inserted = match state.storage.write_batch(write).await {
        Ok(Some(inserted)) => inserted,
        Ok(None) => {
            return error(
                StatusCode::FORBIDDEN,
                "this token was revoked, or belongs to another device",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, device = %device.id, "cannot store a batch");
            return unavailable();
        }
    };
    let mut answer = BatchAnswer::default();
    for (event, new) in storable.iter().zip(&inserted) {
        if *new {
            answer.accepted.push(event.event_id);
        } else {
            answer.known.push(event.event_id);
        }
    }
    for event in broken {
        if let Meaning::Broken(reason) = &event.meaning {
            answer.rejected.push(Rejection {
                event_id: event.event_id,
                reason: reason.clone(),
            });
        }
    }
    state.metrics.events(
        answer.accepted.len(),
        answer.known.len(),
        answer.rejected.len(),
    );
    if let Err(e) = devices::count_events(&state.storage, &device.id, answer.accepted.len()).await {
        tracing::warn!(error = %e, "cannot count a device's events");
    }
    axum::Json(answer).into_response()
}

async fn get_courses(
    State(state): State<Arc<AppState>>,
    Extension(device): Extension<Device>,
) -> Response {
    match reads::courses(&state.storage, device.institution_id).await {
        Ok(courses) => axum::Json(courses).into_response(),
        Err(e) => failed(e),
    }
}

async fn get_sessions(
    State(state): State<Arc<AppState>>,
    Extension(device): Extension<Device>,
    Path(course): Path<String>,
) -> Response {
    if let Err(response) = known_course(&state, device.institution_id, &course).await {
        return response;
    }
    match reads::sessions(&state.storage, device.institution_id, &course).await {
        Ok(sessions) => axum::Json(sessions).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct AttendanceQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

async fn get_attendance(
    State(state): State<Arc<AppState>>,
    Extension(device): Extension<Device>,
    Path(course): Path<String>,
    Query(query): Query<AttendanceQuery>,
) -> Response {
    for date in [&query.from, &query.to].into_iter().flatten() {
        if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`{date}` is not a date like 2026-11-30"),
            );
        }
    }
    if let Err(response) = known_course(&state, device.institution_id, &course).await {
        return response;
    }
    let rows = match reads::attendance(
        &state.storage,
        device.institution_id,
        &course,
        query.from.as_deref(),
        query.to.as_deref(),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return failed(e),
    };
    match query.format.as_deref() {
        None | Some("json") => axum::Json(rows).into_response(),
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            reads::attendance_csv(&rows),
        )
            .into_response(),
        Some(other) => error(
            StatusCode::BAD_REQUEST,
            format!("format `{other}` is not one of json, csv"),
        ),
    }
}

/// 404 for a course this institution does not have (whoever else has it).
async fn known_course(state: &AppState, institution: i64, course: &str) -> Result<(), Response> {
    match reads::courses(&state.storage, institution).await {
        Ok(courses) if courses.iter().any(|c| c.course == course) => Ok(()),
        Ok(_) => Err(error(
            StatusCode::NOT_FOUND,
            format!("no course `{course}` here"),
        )),
        Err(e) => Err(failed(e)),
    }
}

fn failed(e: crate::storage::StorageError) -> Response {
    tracing::error!(error = %e, "a read failed");
    unavailable()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let probe = crate::storage::Statement::new("SELECT 1", Vec::new());
    match state.storage.query(probe).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let devices = devices::list_devices(&state.storage, None)
        .await
        .unwrap_or_default();
    let text = state
        .metrics
        .render(&devices, chrono::Utc::now().fixed_offset());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
