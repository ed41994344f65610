//! Community rules: every alias has a name that cannot be mistaken for a value, a value that
//! parses as a standard or large BGP community, and a name no other alias uses, in this object
//! or in any other Community of the namespace. The rules within one object use the words of
//! [`ferrolb_crds::rules::community`], which the CRD's CEL rules say too.

use ferrolb_crds::Community;
use ferrolb_crds::community_value::{CommunityValue, looks_like_value};
use ferrolb_crds::rules::community::{
    ALIAS_DEFINED_TWICE, ALIAS_NAME_HAS_COLON, ALIAS_VALUE_INVALID, ALIAS_WITHOUT_NAME,
};

use super::{Verdict, describe, require_namespace};
use crate::snapshot::Cluster;

/// Validates a Community being created or updated.
pub fn validate(community: &Community, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let name = community.metadata.name.as_deref().unwrap_or_default();
    let object = describe("Community", Some(name));
    require_namespace(
        &mut verdict,
        cluster,
        &object,
        community.metadata.namespace.as_deref(),
    );
    let aliases = &community.spec.communities;
    for (i, alias) in aliases.iter().enumerate() {
        if alias.name.is_empty() {
            verdict.deny(format!("{object}: {}", ALIAS_WITHOUT_NAME.fill(&[&i])));
        } else if looks_like_value(&alias.name) {
            verdict.deny(format!(
                "{object}: {}",
                ALIAS_NAME_HAS_COLON.fill(&[&alias.name])
            ));
        }
        if let Err(why) = alias.value.parse::<CommunityValue>() {
            verdict.deny(format!(
                "{object}: {}",
                ALIAS_VALUE_INVALID.fill(&[&alias.name, &why])
            ));
        }
        if aliases[..i].iter().any(|a| a.name == alias.name) && !alias.name.is_empty() {
            verdict.deny(format!(
                "{object}: {}",
                ALIAS_DEFINED_TWICE.fill(&[&alias.name])
            ));
        }
        for (other_name, other) in cluster.communities.iter() {
            if other_name != name && other.spec.communities.iter().any(|a| a.name == alias.name) {
                verdict.deny(format!(
                    "{object}: alias {:?} is already defined in Community {other_name:?}",
                    alias.name
                ));
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fixtures::{NS, meta};
    use ferrolb_crds::community::{CommunityAlias, CommunitySpec};

    fn community(name: &str, aliases: &[(&str, &str)]) -> Community {
        Community {
            metadata: meta(name),
            spec: CommunitySpec {
                communities: aliases
                    .iter()
                    .map(|(n, v)| CommunityAlias {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
            },
            status: None,
        }
    }

    #[test]
    fn standard_and_large_aliases_are_admitted() {
        let c = community(
            "c",
            &[("no-advertise", "65535:65282"), ("big", "large:1:2:3")],
        );
        assert_eq!(validate(&c, &Cluster::empty(NS)), Verdict::default());
    }

    #[test]
    fn an_unparsable_value_is_denied_naming_the_alias() {
        let c = community("c", &[("x", "65536:1")]);
        assert_eq!(
            validate(&c, &Cluster::empty(NS)).denials,
            [
                r#"Community "c": alias "x": community "65536:1" is invalid: "65536" is not a number from 0 to 65535; expected a standard community such as 65000:100 or a large community such as large:65000:1:2"#
            ]
        );
    }

    #[test]
    fn an_alias_defined_in_another_community_is_denied() {
        let cluster = Cluster::empty(NS).with_communities([community("first", &[("x", "1:1")])]);
        assert_eq!(
            validate(&community("second", &[("x", "2:2")]), &cluster).denials,
            [r#"Community "second": alias "x" is already defined in Community "first""#]
        );
        // Updating the object that holds it is not a clash with itself.
        assert!(validate(&community("first", &[("x", "3:3")]), &cluster).allowed());
    }

    #[test]
    fn an_alias_repeated_in_one_object_is_denied() {
        let c = community("c", &[("x", "1:1"), ("x", "1:2")]);
        assert_eq!(
            validate(&c, &Cluster::empty(NS)).denials,
            [r#"Community "c": alias "x" is defined more than once"#]
        );
    }

    #[test]
    fn alias_names_with_a_colon_or_none_are_denied() {
        let c = community("c", &[("1:2", "1:2"), ("", "1:3")]);
        assert_eq!(
            validate(&c, &Cluster::empty(NS)).denials,
            [
                r#"Community "c": alias name "1:2" contains ':'; names with a colon read as community values"#,
                r#"Community "c": communities[1] has no name"#,
            ]
        );
    }
}
