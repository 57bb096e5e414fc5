//! Shared by the router tests: what the small browser in each does with a response.
#![allow(dead_code)] // Each test file uses a different part.

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;

/// Reads `response` as a browser does: the cookies it sets go into `cookies` (one set
/// with `Max-Age=0` is removed), its `Set-Cookie` lines replace `set_cookies`; returns
/// its status, body and `Location`.
pub async fn read_response(
    response: Response,
    cookies: &mut BTreeMap<String, String>,
    set_cookies: &mut Vec<String>,
) -> (StatusCode, String, Option<String>) {
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    set_cookies.clear();
    for value in response.headers().get_all(header::SET_COOKIE) {
        let text = value.to_str().unwrap().to_string();
        let (pair, attributes) = text.split_once(';').unwrap_or((&text, ""));
        let (name, value) = pair.split_once('=').unwrap();
        if attributes.contains("Max-Age=0") {
            cookies.remove(name);
        } else {
            cookies.insert(name.into(), value.into());
        }
        set_cookies.push(text);
    }
    let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, body, location)
}
