//! Viewer countries (ISO 3166-1 alpha-2, as the analyser's `Country` dimension carries them)
//! to CloudFront price regions.
//!
//! The pricing page names the countries of each region; those map as published
//! (`assumed: false`). CloudFront bills by the edge location that serves a request, not by
//! the viewer's country, so for every other country the region is an assumption: the region
//! whose edges are nearest (`assumed: true`), reported as such.

use super::table::RegionGroup;

/// How a country maps to a price region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub group: RegionGroup,
    /// True when the pricing page does not name the country.
    pub assumed: bool,
}

const NAMED: &[(RegionGroup, &str)] = &[
    (RegionGroup::NorthAmerica, "US CA MX"),
    (
        RegionGroup::Europe,
        "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE \
         LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA IL TR",
    ),
    (
        RegionGroup::MiddleEastAfrica,
        "ZA KE NG AE BH IQ IR JO KW LB OM PS QA SA SY YE",
    ),
    (
        RegionGroup::SouthAmerica,
        "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    ),
    (RegionGroup::Japan, "JP"),
    (RegionGroup::Australia, "AU NZ"),
    (RegionGroup::AsiaPacific, "HK ID PH SG KR TW TH MY VN"),
    (RegionGroup::India, "IN"),
];

const ASSUMED: &[(RegionGroup, &str)] = &[
    // US territories, Central America, the Caribbean, Greenland.
    (
        RegionGroup::NorthAmerica,
        "PR VI UM GU MP AS AG AI AW BB BL BM BQ BS BZ CR CU CW DM DO GD GP GT HN HT JM KN KY LC \
         MF MQ MS NI PA PM SV SX TC TT VC VG GL",
    ),
    // The Caucasus and Central Asia.
    (RegionGroup::Europe, "AM AZ GE KZ KG TJ TM UZ"),
    // The rest of Africa, Egypt, and the Indian Ocean islands.
    (
        RegionGroup::MiddleEastAfrica,
        "EG MA DZ TN LY EH AO BF BI BJ BW CD CF CG CI CM CV DJ ER ET GA GH GM GN GQ GW KM LR LS \
         MG ML MR MU MW MZ NA NE RE RW SC SD SH SL SN SO SS ST SZ TD TG TZ UG YT ZM ZW IO TF BV",
    ),
    (RegionGroup::SouthAmerica, "GS"),
    // Oceania and Antarctica.
    (
        RegionGroup::Australia,
        "CC CK CX FJ FM HM KI MH NC NF NR NU PF PG PN PW SB TK TO TV VU WF WS AQ",
    ),
    // The rest of East and South-East Asia (mainland China is outside CloudFront's global
    // network; its viewers are served from nearby edges).
    (RegionGroup::AsiaPacific, "BN KH LA MM MO MN TL CN KP"),
    (RegionGroup::India, "BD BT LK MV NP PK AF"),
];

/// The price region of a country code (upper case); `None` for codes we do not know
/// (not ISO 3166-1 alpha-2, or the analyser's `Other` / `-`).
pub fn country(code: &str) -> Option<Mapping> {
    let find = |table: &[(RegionGroup, &str)]| {
        table
            .iter()
            .find(|(_, codes)| codes.split_whitespace().any(|c| c == code))
            .map(|(group, _)| *group)
    };
    if code.len() != 2 {
        return None;
    }
    if let Some(group) = find(NAMED) {
        return Some(Mapping {
            group,
            assumed: false,
        });
    }
    find(ASSUMED).map(|group| Mapping {
        group,
        assumed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_countries_map_as_published() {
        assert_eq!(
            country("DE"),
            Some(Mapping {
                group: RegionGroup::Europe,
                assumed: false
            })
        );
        assert_eq!(
            country("SA").map(|m| m.group),
            Some(RegionGroup::MiddleEastAfrica)
        );
        assert_eq!(
            country("BR").map(|m| m.group),
            Some(RegionGroup::SouthAmerica)
        );
        assert_eq!(country("NZ").map(|m| m.group), Some(RegionGroup::Australia));
        assert!(country("EG").is_some_and(|m| m.assumed));
        assert_eq!(country("Other"), None);
        assert_eq!(country("-"), None);
        assert_eq!(country("ZZ"), None);
    }

    #[test]
    fn every_iso_country_has_exactly_one_region() {
        let mut missing = Vec::new();
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap_or_default();
                if cfrp_config::checks::country_code(&code).is_ok() && country(&code).is_none() {
                    missing.push(code);
                }
            }
        }
        assert!(missing.is_empty(), "no price region for {missing:?}");
        let all: Vec<&str> = NAMED
            .iter()
            .chain(ASSUMED)
            .flat_map(|(_, codes)| codes.split_whitespace())
            .collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(all.len(), unique.len(), "a country is listed twice");
        for code in all {
            assert!(
                cfrp_config::checks::country_code(code).is_ok(),
                "{code} is not an ISO code"
            );
        }
    }
}
