//! CloudFront invalidation paths: how CloudFront wants them encoded and what it accepts. The
//! invalidator (S3 keys → paths) and the deployer's `invalidate` (paths typed by a user) both
//! encode with [`encode_path`], so the two cannot disagree.
//!
//! From the CloudFront developer guide: a path starts with `/`; the `*` wildcard may only
//! end a path; a path is at most 4,000 characters; non-ASCII characters and the characters
//! RFC 1738 calls unsafe (space `<>"#%{}|\^~[]` and backquote, and control characters) are
//! percent-encoded, and nothing else is, or CloudFront would not match the cached object.
//! `?` is encoded too: a bare `?` would start a query string in the invalidation path (a
//! trailing wildcard, `/page*`, covers a path's query-string variants). Per distribution, up
//! to 3,000 file paths and 15 wildcard paths may be in progress at once.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// RFC 1738 "unsafe" characters plus `?` (see the module documentation).
const CLOUDFRONT_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'~')
    .add(b'[')
    .add(b']')
    .add(b'`')
    .add(b'?');

/// The longest invalidation path CloudFront accepts.
pub const MAX_PATH_LENGTH: usize = 4000;
/// File (non-wildcard) paths one distribution may have in progress at once.
pub const MAX_FILE_PATHS_IN_PROGRESS: usize = 3000;
/// Wildcard paths one distribution may have in progress at once.
pub const MAX_WILDCARD_PATHS_IN_PROGRESS: usize = 15;

/// Encodes a (decoded) path as CloudFront expects in an invalidation.
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, CLOUDFRONT_ENCODE).to_string()
}

/// Why a path a user gave cannot be invalidated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{path:?}: an invalidation path must start with /")]
    NoLeadingSlash { path: String },
    #[error("{path:?}: the * wildcard may only be the last character")]
    InnerWildcard { path: String },
    #[error("{path:?}: its %-escapes do not decode to UTF-8")]
    NotUtf8 { path: String },
    #[error(
        "{path:?}: {length} characters once encoded; CloudFront accepts at most {MAX_PATH_LENGTH}"
    )]
    TooLong { path: String, length: usize },
}

impl PathError {
    /// The path as the user gave it.
    pub fn path(&self) -> &str {
        match self {
            PathError::NoLeadingSlash { path }
            | PathError::InnerWildcard { path }
            | PathError::NotUtf8 { path }
            | PathError::TooLong { path, .. } => path,
        }
    }
}

/// Checks a path given as a viewer would type it and encodes it for CloudFront. Paths may be
/// given plain (`/café menu.html`) or already encoded (`/caf%C3%A9%20menu.html`): valid
/// `%XX` escapes are decoded first, so both give the same result and encoding is idempotent.
pub fn normalise_path(path: &str) -> Result<String, PathError> {
    let owned = || path.to_string();
    if !path.starts_with('/') {
        return Err(PathError::NoLeadingSlash { path: owned() });
    }
    if path.find('*').is_some_and(|at| at != path.len() - 1) {
        return Err(PathError::InnerWildcard { path: owned() });
    }
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| PathError::NotUtf8 { path: owned() })?;
    let encoded = encode_path(&decoded);
    if encoded.len() > MAX_PATH_LENGTH {
        return Err(PathError::TooLong {
            path: owned(),
            length: encoded.len(),
        });
    }
    Ok(encoded)
}

/// Whether a path is a wildcard path (counts against the wildcard limit).
pub fn is_wildcard(path: &str) -> bool {
    path.ends_with('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_paths_give_the_same_encoding() {
        assert_eq!(normalise_path("/*").unwrap(), "/*");
        assert_eq!(
            normalise_path("/café menu.html").unwrap(),
            "/caf%C3%A9%20menu.html"
        );
        assert_eq!(
            normalise_path("/caf%C3%A9%20menu.html").unwrap(),
            "/caf%C3%A9%20menu.html"
        );
        assert_eq!(normalise_path("/100%.pdf").unwrap(), "/100%25.pdf");
        assert_eq!(normalise_path("/100%25.pdf").unwrap(), "/100%25.pdf");
        assert_eq!(normalise_path("/a?b").unwrap(), "/a%3Fb");
        assert_eq!(
            normalise_path("/a-b_c.d+e!(f),$;:@=&/x*").unwrap(),
            "/a-b_c.d+e!(f),$;:@=&/x*"
        );
    }

    #[test]
    fn bad_paths_are_named() {
        let err = normalise_path("images/*").unwrap_err();
        assert_eq!(err.path(), "images/*");
        assert!(err.to_string().contains("start with /"), "{err}");
        assert!(matches!(
            normalise_path("/a/*/b"),
            Err(PathError::InnerWildcard { .. })
        ));
        assert!(matches!(
            normalise_path("/bad%FF"),
            Err(PathError::NotUtf8 { .. })
        ));
        assert!(matches!(
            normalise_path(&format!("/{}", "é".repeat(700))),
            Err(PathError::TooLong { .. })
        ));
    }
}
