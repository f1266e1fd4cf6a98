//! The admission middleware of the routes that run a model or the store: a slot first, then
//! the body, read under the byte limits, and the request's holdings kept until its answer
//! has been written.

use super::Admission;
use crate::metrics::Reason;
use crate::openai::{ApiError, ErrorKind};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long the body of a refused request is still read, and thrown away: a client that
/// sends its whole body before it reads the answer (most do, unless they send `Expect:
/// 100-continue`) then gets the answer, where closing the connection on the unread body would
/// reset it (nginx's lingering close does the same). Nothing is held for it meanwhile.
const LINGER: Duration = Duration::from_secs(5);

/// Admits the request (429 when every slot is taken, before its body is read), reads its
/// body under `--max-body-mb` (413) and `--max-inflight-body-mb` (429), and hands the
/// [`Admission`] to the handler as a request extension.
pub async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let admission = match Admission::begin(&state.budgets) {
        Ok(a) => a,
        Err(e) => {
            linger(req.into_body());
            return e.into_response();
        }
    };
    let (parts, mut body) = req.into_parts();
    let max = state.limits.max_body_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A declared length over the limit is refused without reading a byte of the body.
    if declared.is_some_and(|n| n > max as u64) {
        admission.reject(Reason::BodySize);
        linger(body);
        return too_large(max).into_response();
    }
    let bytes = match read_body(&mut body, max, declared, &admission).await {
        Ok(b) => b,
        Err(e) => {
            drop(admission);
            linger(body);
            return e.into_response();
        }
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(admission.clone());
    next.run(req).await.map(|body| {
        Body::new(Answer {
            body,
            _admission: admission,
        })
    })
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        ErrorKind::TooLarge,
        format!("request body is larger than the server accepts ({max} bytes, --max-body-mb)"),
    )
}

/// Reads the body frame by frame, holding each frame's bytes before keeping it.
async fn read_body(
    body: &mut Body,
    max: usize,
    declared: Option<u64>,
    admission: &Admission,
) -> Result<Bytes, ApiError> {
    // The declared length is at most `max` here; a body that turns out longer is refused
    // below, so the buffer never grows past what was held.
    let mut buf = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::invalid(None, format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > max {
            admission.reject(Reason::BodySize);
            return Err(too_large(max));
        }
        admission.hold_bytes(data.len() as u64)?;
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

/// Reads what is left of a refused request's body for at most [`LINGER`], keeping none of
/// it, on a task of its own.
fn linger(mut body: Body) {
    tokio::spawn(async move {
        let drain = async { while let Some(Ok(_)) = body.frame().await {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
    });
}

/// An answer's body, holding the request's [`Admission`] until it has been handed to the
/// connection: an answer of 2048 vectors is megabytes, held as long as it is being written.
struct Answer {
    body: Body,
    _admission: Admission,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
