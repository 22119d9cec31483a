//! The CloudFront real-time log fields.
//!
//! A real-time log record is one line of tab-separated values, one per field the log config
//! selects, in the config's order, with `-` for an empty value. The deployer creates the log
//! config from [`crate::Logging::fields`] and the analyser parses records with the same list,
//! so the two cannot disagree. `realtime-log-fields.txt` beside this crate is the same list
//! for the test emulator; a unit test keeps the two identical.

use serde::{Deserialize, Serialize};

macro_rules! fields {
    ($($variant:ident = $name:literal,)*) => {
        /// One documented real-time log field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            /// Every documented field, in CloudFront's documented order.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The field's name as CloudFront spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            /// Looks a field up by its CloudFront name.
            pub fn from_name(name: &str) -> Option<Field> {
                match name {
                    $($name => Some(Field::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

fields! {
    Timestamp = "timestamp",
    ClientIp = "c-ip",
    TimeToFirstByte = "time-to-first-byte",
    Status = "sc-status",
    BytesSent = "sc-bytes",
    Method = "cs-method",
    Protocol = "cs-protocol",
    Host = "cs-host",
    UriStem = "cs-uri-stem",
    BytesReceived = "cs-bytes",
    EdgeLocation = "x-edge-location",
    EdgeRequestId = "x-edge-request-id",
    HostHeader = "x-host-header",
    TimeTaken = "time-taken",
    ProtocolVersion = "cs-protocol-version",
    ClientIpVersion = "c-ip-version",
    UserAgent = "cs-user-agent",
    Referer = "cs-referer",
    Cookie = "cs-cookie",
    UriQuery = "cs-uri-query",
    EdgeResponseResultType = "x-edge-response-result-type",
    ForwardedFor = "x-forwarded-for",
    SslProtocol = "ssl-protocol",
    SslCipher = "ssl-cipher",
    EdgeResultType = "x-edge-result-type",
    FleEncryptedFields = "fle-encrypted-fields",
    FleStatus = "fle-status",
    ContentType = "sc-content-type",
    ContentLength = "sc-content-len",
    RangeStart = "sc-range-start",
    RangeEnd = "sc-range-end",
    ClientPort = "c-port",
    EdgeDetailedResultType = "x-edge-detailed-result-type",
    Country = "c-country",
    AcceptEncoding = "cs-accept-encoding",
    Accept = "cs-accept",
    CacheBehaviorPathPattern = "cache-behavior-path-pattern",
    Headers = "cs-headers",
    HeaderNames = "cs-header-names",
    HeadersCount = "cs-headers-count",
    PrimaryDistributionId = "primary-distribution-id",
    PrimaryDistributionDnsName = "primary-distribution-dns-name",
    OriginFirstByteLatency = "origin-fbl",
    OriginLastByteLatency = "origin-lbl",
    Asn = "asn",
    CmcdEncodedBitrate = "cmcd-encoded-bitrate",
    CmcdBufferLength = "cmcd-buffer-length",
    CmcdBufferStarvation = "cmcd-buffer-starvation",
    CmcdContentId = "cmcd-content-id",
    CmcdObjectDuration = "cmcd-object-duration",
    CmcdDeadline = "cmcd-deadline",
    CmcdMeasuredThroughput = "cmcd-measured-throughput",
    CmcdNextObjectRequest = "cmcd-next-object-request",
    CmcdNextRangeRequest = "cmcd-next-range-request",
    CmcdObjectType = "cmcd-object-type",
    CmcdPlaybackRate = "cmcd-playback-rate",
    CmcdRequestedMaximumThroughput = "cmcd-requested-maximum-throughput",
    CmcdStreamingFormat = "cmcd-streaming-format",
    CmcdSessionId = "cmcd-session-id",
    CmcdStreamType = "cmcd-stream-type",
    CmcdStartup = "cmcd-startup",
    CmcdTopBitrate = "cmcd-top-bitrate",
    CmcdVersion = "cmcd-version",
    OriginHost = "r-host",
    OriginSelectionReason = "sr-reason",
    MediaQualityScore = "x-edge-mqcs",
}

impl Field {
    /// The fields a stack logs unless its config says otherwise: every documented field up to
    /// `asn`, i.e. all but the media-streaming (CMCD, origin selection, MQCS) fields, which a
    /// reverse proxy for web apps and APIs does not produce.
    pub fn default_set() -> Vec<Field> {
        Field::ALL
            .iter()
            .copied()
            .take_while(|field| *field != Field::CmcdEncodedBitrate)
            .collect()
    }

    /// The fields the log analyser needs to compute its metrics; validation warns the user
    /// which metrics a config without them will not produce.
    pub const ANALYSER_CORE: &'static [Field] = &[
        Field::Timestamp,
        Field::ClientIp,
        Field::Status,
        Field::TimeTaken,
    ];
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Field::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("`{name}` is not a CloudFront real-time log field"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_list_and_the_enum_are_the_same_list_in_the_same_order() {
        let text = include_str!("../realtime-log-fields.txt");
        let listed: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        let names: Vec<&str> = Field::ALL.iter().map(|field| field.name()).collect();
        assert_eq!(listed, names);
    }

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::from_name(field.name()), Some(*field));
        }
        assert_eq!(Field::from_name("c_ip"), None);
    }

    #[test]
    fn default_set_ends_with_asn_and_holds_the_analyser_core() {
        let set = Field::default_set();
        assert_eq!(set.len(), 45);
        assert_eq!(set.last(), Some(&Field::Asn));
        for field in Field::ANALYSER_CORE {
            assert!(set.contains(field), "{field} missing");
        }
    }
}
