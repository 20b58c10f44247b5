//! Pieces shared by the strict readers of a token's two JSON objects, the JOSE header
//! (RFC 7515 §4) and the claims set (RFC 7519 §7.2): both must be JSON objects whose member
//! names are unique, so each reader is a map visitor that refuses a name it has seen.

use std::{borrow::Cow, fmt};

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Longest member name quoted back in an error.
const NAME_IN_ERRORS: usize = 32;

/// A member name or string value, borrowed from the input unless it had JSON escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A string value that is checked for its type and dropped.
pub(crate) struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyStringVisitor;
        impl Visitor<'_> for AnyStringVisitor {
            type Value = AnyString;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(AnyStringVisitor)
    }
}

/// The error for a member name that appears twice in one object.
pub(crate) fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("the member `{}` appears more than once", shortened(name)))
}

fn shortened(name: &str) -> &str {
    name.char_indices().nth(NAME_IN_ERRORS).map_or(name, |(end, _)| &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_borrowed_unless_escaped() {
        let plain: Text = serde_json::from_str(r#""kid""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("kid")));
        let escaped: Text = serde_json::from_str(r#""\u006bid""#).unwrap();
        assert_eq!(escaped.0, "kid");
        assert!(serde_json::from_str::<AnyString>("5").is_err());
    }

    #[test]
    fn problems_leave_out_the_position_and_long_names() {
        let error = serde_json::from_str::<Text>("5").unwrap_err();
        let problem = crate::rejection::JsonProblem::from(&error);
        assert_eq!(problem.to_string(), "invalid type: integer `5`, expected a string");
        let long = "n".repeat(100);
        let error: serde_json::Error = duplicate(&long);
        assert_eq!(error.to_string(), format!("the member `{}` appears more than once", "n".repeat(32)));
    }
}
