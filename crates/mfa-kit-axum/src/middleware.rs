//! The guard as middleware, for a whole router ([`require_signed_in`]).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};

use crate::config::MfaWeb;
use crate::extract::SignedIn;

/// Middleware form of the guard, for a whole router:
/// `.route_layer(axum::middleware::from_fn_with_state(web.clone(), require_signed_in))`.
/// Handlers behind it can take [`SignedIn`] without a second session read.
pub async fn require_signed_in(
    State(web): State<MfaWeb>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match <SignedIn as FromRequestParts<MfaWeb>>::from_request_parts(&mut parts, &web).await {
        Ok(signed_in) => {
            parts.extensions.insert(signed_in);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(rejection) => rejection.into_response(),
    }
}
