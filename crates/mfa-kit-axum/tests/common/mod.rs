//! Shared by the router tests: the small browser they drive the router with in-process,
//! and what a browser does with a response.
#![allow(dead_code)] // Each test file uses a different part.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use tower::ServiceExt;

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

/// A browser on `app.example` from 198.51.100.9, driving the router in-process: it keeps
/// the cookies it is given and sends them back.
pub struct Browser {
    pub router: Router,
    pub cookies: BTreeMap<String, String>,
    /// The `Set-Cookie` lines of the last response.
    pub set_cookies: Vec<String>,
}

impl Browser {
    pub fn new(router: &Router) -> Browser {
        Browser { router: router.clone(), cookies: BTreeMap::new(), set_cookies: Vec::new() }
    }

    /// The `Cookie` header it sends.
    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// The request `builder` makes, with its host, cookies and peer address.
    pub fn request(&self, builder: axum::http::request::Builder, body: impl Into<Body>) -> Request<Body> {
        let mut builder = builder.header(header::HOST, "app.example");
        if !self.cookies.is_empty() {
            builder = builder.header(header::COOKIE, self.cookie_header());
        }
        let mut request = builder.body(body.into()).unwrap();
        request.extensions_mut().insert(ConnectInfo("198.51.100.9:50000".parse::<SocketAddr>().unwrap()));
        request
    }

    pub async fn send(
        &mut self,
        builder: axum::http::request::Builder,
        body: impl Into<Body>,
    ) -> (StatusCode, String, Option<String>) {
        let request = self.request(builder, body);
        let response = self.router.clone().oneshot(request).await.unwrap();
        self.read(response).await
    }

    pub async fn read(&mut self, response: Response) -> (StatusCode, String, Option<String>) {
        read_response(response, &mut self.cookies, &mut self.set_cookies).await
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        self.send(Request::get(path), Body::empty()).await
    }

    /// The session's CSRF token, from the router's `/token` route.
    pub async fn token(&mut self) -> String {
        self.get("/token").await.1
    }

    /// A form POST of `fields` (may be empty) carrying the session's CSRF token.
    pub async fn post_form(&mut self, path: &str, fields: &str) -> (StatusCode, String, Option<String>) {
        let token = self.token().await;
        let body = if fields.is_empty() {
            format!("csrf_token={token}")
        } else {
            format!("{fields}&csrf_token={token}")
        };
        self.send(Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"), body)
            .await
    }
}
