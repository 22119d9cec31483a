//! From S3 object keys to CloudFront invalidation paths.
//!
//! 1. Decode the key as S3 writes it into event notifications: `+` is a space, `%XX` escapes
//!    are bytes of UTF-8 (a literal `+` arrives as `%2B`).
//! 2. Map it with the config's rule: a key `<key_prefix>rest` becomes `<path_prefix>rest`;
//!    keys outside the prefix are not ours.
//! 3. Encode as CloudFront requires (`cfrp_config::invalidation::encode_path`, shared with
//!    the deployer's `invalidate`): non-ASCII bytes and the characters RFC 1738 calls unsafe
//!    (space `<>"#%{}|\^~[]` and backquote, and control characters) are percent-encoded, and
//!    nothing else is, or CloudFront would not match the cached object. `?` is encoded too:
//!    a viewer can only have requested that key as `%3F`, and a bare `?` would start a query
//!    string in the invalidation path.
//! 4. A key ending in `index.html` also invalidates its directory (`/dir/`), which is how
//!    viewers request it.
//! 5. A key with `*` in it cannot be named exactly: CloudFront takes `*` only as a trailing
//!    wildcard and refuses it anywhere else (InvalidArgument, the whole batch). Such a key is
//!    invalidated by the wildcard path that ends at its first `*`: `/a*b.md` becomes `/a*`,
//!    which covers it (and whatever else shares that beginning).

use percent_encoding::percent_decode;

pub use cfrp_config::invalidation::{MAX_PATH_LENGTH, encode_path};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not valid UTF-8 after decoding")]
    NotUtf8,
    #[error("the key is outside the manuscripts prefix {prefix:?}")]
    OutsidePrefix { prefix: String },
    #[error("the path is {length} characters long; CloudFront accepts at most {MAX_PATH_LENGTH}")]
    TooLong { length: usize },
}

/// Decodes a key from an S3 event notification.
pub fn decode_event_key(key: &str) -> Result<String, KeyError> {
    let spaced = key.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| KeyError::NotUtf8)
}

/// The invalidation paths for one decoded key: the object's path and, for an `index.html`,
/// its directory.
pub fn paths_for_key(
    key: &str,
    key_prefix: &str,
    path_prefix: &str,
) -> Result<Vec<String>, KeyError> {
    let rest = key
        .strip_prefix(key_prefix)
        .ok_or_else(|| KeyError::OutsidePrefix {
            prefix: key_prefix.to_string(),
        })?;
    let base = if path_prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/') {
        path_prefix.to_string()
    } else {
        format!("{path_prefix}/")
    };
    let raw = format!("{base}{rest}");
    let mut encoded = encode_path(&raw);
    // `*` is never percent-encoded, so it is where it was in the key.
    if let Some(star) = encoded.find('*') {
        encoded.truncate(star + 1);
        return if encoded.len() > MAX_PATH_LENGTH {
            Err(KeyError::TooLong {
                length: encoded.len(),
            })
        } else {
            Ok(vec![encoded])
        };
    }
    if encoded.len() > MAX_PATH_LENGTH {
        return Err(KeyError::TooLong {
            length: encoded.len(),
        });
    }
    let mut paths = vec![encoded.clone()];
    if let Some(directory) = encoded.strip_suffix("index.html")
        && directory.ends_with('/')
    {
        paths.push(directory.to_string());
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(event_key: &str) -> Vec<String> {
        let key = decode_event_key(event_key).unwrap();
        paths_for_key(&key, "manuscripts/", "/manuscripts/").unwrap()
    }

    #[test]
    fn plus_is_a_space_and_escapes_are_utf8() {
        assert_eq!(
            decode_event_key("manuscripts/chapter+one.html").unwrap(),
            "manuscripts/chapter one.html"
        );
        assert_eq!(
            decode_event_key("manuscripts/caf%C3%A9.html").unwrap(),
            "manuscripts/café.html"
        );
        assert_eq!(decode_event_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_event_key("bad%FF"), Err(KeyError::NotUtf8));
    }

    #[test]
    fn spaces_unicode_percent_hash_and_question_marks_are_encoded() {
        assert_eq!(
            map("manuscripts/chapter+one.html"),
            vec!["/manuscripts/chapter%20one.html"]
        );
        assert_eq!(
            map("manuscripts/essays/caf%C3%A9+%26+cr%C3%A8me.html"),
            vec!["/manuscripts/essays/caf%C3%A9%20&%20cr%C3%A8me.html"]
        );
        assert_eq!(
            map("manuscripts/reports/100%25+growth.pdf"),
            vec!["/manuscripts/reports/100%25%20growth.pdf"]
        );
        assert_eq!(
            map("manuscripts/old/draft%231%3F.html"),
            vec!["/manuscripts/old/draft%231%3F.html"]
        );
    }

    #[test]
    fn safe_and_reserved_characters_stay_as_they_are() {
        assert_eq!(
            map("manuscripts/a-b_c.d%2Be%21%28f%29%2C%24%3B%3A%40%3D.html"),
            vec!["/manuscripts/a-b_c.d+e!(f),$;:@=.html"]
        );
    }

    #[test]
    fn a_key_with_a_star_is_covered_by_the_wildcard_ending_at_its_first_star() {
        // CloudFront refuses `*` anywhere but at the end of a path.
        assert_eq!(
            map("manuscripts/notes/a%2Ab%2Ac.md"),
            vec!["/manuscripts/notes/a*"]
        );
        assert_eq!(map("manuscripts/star%2A"), vec!["/manuscripts/star*"]);
        assert_eq!(
            map("manuscripts/docs/%2A/index.html"),
            vec!["/manuscripts/docs/*"],
            "no directory path: the wildcard covers it"
        );
        for path in map("manuscripts/a%2A+b%2Aindex.html") {
            assert!(
                cfrp_config::invalidation::normalise_path(&path).is_ok(),
                "{path}"
            );
        }
    }

    #[test]
    fn index_documents_also_invalidate_their_directory() {
        assert_eq!(
            map("manuscripts/essays/index.html"),
            vec!["/manuscripts/essays/index.html", "/manuscripts/essays/"]
        );
        assert_eq!(
            map("manuscripts/index.html"),
            vec!["/manuscripts/index.html", "/manuscripts/"]
        );
        assert_eq!(
            map("manuscripts/notindex.html"),
            vec!["/manuscripts/notindex.html"]
        );
    }

    #[test]
    fn prefixes_map_both_ways() {
        assert_eq!(
            paths_for_key("manuscripts/a.html", "manuscripts/", "/").unwrap(),
            vec!["/a.html"]
        );
        assert_eq!(
            paths_for_key("a.html", "", "/docs").unwrap(),
            vec!["/docs/a.html"]
        );
        assert!(matches!(
            paths_for_key("other/a.html", "manuscripts/", "/"),
            Err(KeyError::OutsidePrefix { .. })
        ));
    }

    #[test]
    fn deep_and_very_long_keys() {
        let deep = format!("manuscripts/{}x.html", "d/".repeat(200));
        assert_eq!(
            paths_for_key(&deep, "manuscripts/", "/m/").unwrap()[0]
                .matches('/')
                .count(),
            202
        );
        let long = format!("manuscripts/{}", "é".repeat(700));
        assert!(matches!(
            paths_for_key(&long, "manuscripts/", "/"),
            Err(KeyError::TooLong { .. })
        ));
    }
}
