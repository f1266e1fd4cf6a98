//! Metadata filters: `key=value` pairs, all of which must hold. A value matches a metadata
//! field whose JSON value is that string, or whose number / boolean prints as it.

use crate::error::{Error, Result};

/// One `key=value` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Top-level metadata key.
    pub key: String,
    /// Value it must have, as text.
    pub value: String,
}

/// All conditions must hold; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter(pub Vec<Condition>);

impl Filter {
    /// Parses `key=value` strings.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self> {
        items
            .iter()
            .map(|s| {
                let s = s.as_ref();
                let (key, value) = s.split_once('=').ok_or_else(|| Error::Filter(s.into()))?;
                let key_ok = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !key_ok {
                    return Err(Error::Filter(s.into()));
                }
                Ok(Condition {
                    key: key.to_string(),
                    value: value.to_string(),
                })
            })
            .collect::<Result<_>>()
            .map(Filter)
    }

    /// Whether `metadata` satisfies every condition (the rule both backends implement in SQL).
    pub fn matches(&self, metadata: &serde_json::Value) -> bool {
        self.0.iter().all(|c| match metadata.get(&c.key) {
            Some(serde_json::Value::String(s)) => *s == c.value,
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                // Compared as printed JSON: `year=2001` matches the number 2001.
                let printed = v.to_string();
                printed == c.value
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_matches() {
        let f = Filter::parse(&["lang=en", "year=2001", "note=a=b"]).unwrap();
        assert_eq!(f.0[2].value, "a=b");
        assert!(f.matches(&json!({"lang": "en", "year": 2001, "note": "a=b"})));
        assert!(!f.matches(&json!({"lang": "de", "year": 2001, "note": "a=b"})));
        assert!(!f.matches(&json!({"lang": "en"})));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["lang", "=en", "a b=c", "k'=v"] {
            assert!(
                matches!(Filter::parse(&[bad]), Err(Error::Filter(_))),
                "{bad}"
            );
        }
    }
}
