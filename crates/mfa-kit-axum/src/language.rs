//! The reader's language, for refusals and audit sentences from mfa-kit's message
//! catalogues (feature `messages`).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use mfa_kit::messages::Language;

/// The language the browser asks for in `Accept-Language`
/// ([`Language::from_accept_language`]: the supported one of the highest weight;
/// English otherwise). Never rejects a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLanguage(pub Language);

impl<S: Send + Sync> FromRequestParts<S> for ReaderLanguage {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
        Ok(ReaderLanguage(Language::from_accept_language(header.unwrap_or_default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(header: Option<&str>) -> Language {
        let mut request = axum::http::Request::builder();
        if let Some(header) = header {
            request = request.header(ACCEPT_LANGUAGE, header);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        let ReaderLanguage(language) = ReaderLanguage::from_request_parts(&mut parts, &()).await.unwrap();
        language
    }

    #[tokio::test]
    async fn the_browsers_language_is_read_from_accept_language() {
        assert_eq!(read(Some("fr-FR,fr;q=0.9,en;q=0.8")).await, Language::French);
        assert_eq!(read(Some("de-DE, en;q=0.5")).await, Language::English);
        assert_eq!(read(None).await, Language::English);
    }
}
