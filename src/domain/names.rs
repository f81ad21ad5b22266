//! Names users type: project and queue slugs, topics, bootstrap servers, tags.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A lowercase identifier used in URLs and topic names: `[a-z][a-z0-9_-]{1,62}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if s.len() < 2 || s.len() > 63 {
            return Err(FieldError::new(field, "must be 2 to 63 characters long"));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(FieldError::new(field, "must start with a lowercase letter"));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(FieldError::new(
                field,
                format!("may contain only lowercase letters, digits, '-' and '_' (found {bad:?})"),
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Kafka topic name: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn parse_topic(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if s.len() > 249 {
        return Err(FieldError::new(field, "must be at most 249 characters"));
    }
    if s == "." || s == ".." {
        return Err(FieldError::new(field, "cannot be '.' or '..'"));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(FieldError::new(
            field,
            format!("may contain only letters, digits, '.', '_' and '-' (found {bad:?})"),
        ));
    }
    Ok(s.to_string())
}

/// The default physical topic of a queue: `<project>.<queue>`.
pub fn default_topic(project: &str, queue: &str) -> String {
    format!("{project}.{queue}")
}

/// A comma- or whitespace-separated list of `host:port` pairs.
pub fn parse_bootstrap_servers(field: &str, raw: &str) -> Result<Vec<String>, FieldError> {
    let servers: Vec<String> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if servers.is_empty() {
        return Err(FieldError::new(field, "needs at least one host:port"));
    }
    for s in &servers {
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(FieldError::new(field, format!("{s:?} is not host:port")));
        };
        let host_ok = !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':')
            });
        if !host_ok {
            return Err(FieldError::new(field, format!("{s:?} has an invalid host")));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => {
                return Err(FieldError::new(
                    field,
                    format!("{s:?} needs a port between 1 and 65535"),
                ))
            }
        }
    }
    Ok(servers)
}

/// Tags: comma-separated, each a slug; duplicates dropped, order kept.
pub fn parse_tags(field: &str, raw: &str) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let tag = Slug::parse(field, &part.to_lowercase())
            .map_err(|e| FieldError::new(field, format!("tag {part:?} {}", e.message)))?;
        if !tags.iter().any(|t| t == tag.as_str()) {
            tags.push(tag.0);
        }
    }
    if tags.len() > 20 {
        return Err(FieldError::new(field, "at most 20 tags"));
    }
    Ok(tags)
}

/// A list of user names: comma- or space-separated.
pub fn parse_usernames(field: &str, raw: &str) -> Result<Vec<String>, FieldError> {
    let mut names = Vec::new();
    for part in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let name = parse_username(field, part)?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// A user name: 2 to 64 of `[a-z0-9._-]`, starting with a letter.
pub fn parse_username(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    let ok = (2..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(s)
    } else {
        Err(FieldError::new(
            field,
            format!("{raw:?} is not a user name (2-64 of a-z, 0-9, '.', '_', '-', starting with a letter)"),
        ))
    }
}

/// A whole number within bounds, from a form field.
pub fn parse_int(field: &str, raw: &str, min: i64, max: i64) -> Result<i64, FieldError> {
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| FieldError::new(field, format!("{raw:?} is not a whole number")))?;
    if v < min || v > max {
        return Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(v)
}

/// Free text with a length limit.
pub fn parse_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_queue_name_with_spaces_is_rejected() {
        let err = Slug::parse("name", "order events").unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.message.contains("' '"), "{}", err.message);
    }

    #[test]
    fn a_slug_must_start_with_a_letter() {
        assert!(Slug::parse("name", "9lives").is_err());
        assert_eq!(Slug::parse("name", " orders ").unwrap().as_str(), "orders");
    }

    #[test]
    fn bootstrap_servers_need_ports() {
        assert_eq!(
            parse_bootstrap_servers("bootstrap_servers", "a:9092, b:9093").unwrap(),
            vec!["a:9092", "b:9093"]
        );
        let e = parse_bootstrap_servers("bootstrap_servers", "a").unwrap_err();
        assert_eq!(e.field, "bootstrap_servers");
        assert!(parse_bootstrap_servers("b", "a:0").is_err());
        assert!(parse_bootstrap_servers("b", "  ").is_err());
    }

    #[test]
    fn tags_are_lowercased_and_deduplicated() {
        assert_eq!(
            parse_tags("tags", "PII, orders,pii").unwrap(),
            vec!["pii", "orders"]
        );
        assert!(parse_tags("tags", "bad tag").is_err());
    }

    #[test]
    fn topics_follow_kafka_rules() {
        assert!(parse_topic("topic", "shop.orders-v1").is_ok());
        assert!(parse_topic("topic", "..").is_err());
        assert!(parse_topic("topic", "a/b").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_slug_round_trips(s in "[a-z][a-z0-9_-]{1,62}") {
            let slug = Slug::parse("name", &s).unwrap();
            prop_assert_eq!(slug.as_str(), s.as_str());
        }

        #[test]
        fn slugs_never_contain_forbidden_characters(s in "\\PC{0,80}") {
            if let Ok(slug) = Slug::parse("name", &s) {
                prop_assert!(slug.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'));
            }
        }

        #[test]
        fn the_default_topic_is_a_valid_topic(p in "[a-z][a-z0-9_-]{1,62}", q in "[a-z][a-z0-9_-]{1,62}") {
            prop_assert!(parse_topic("topic", &default_topic(&p, &q)).is_ok());
        }
    }
}
