//! Reading a JSON object field by field, collecting every problem instead of stopping at the
//! first, so one `validation_failed` answer names all bad fields.

use rodando_domain::validation::FieldErrors;
use serde_json::{Map, Value};

/// Reads the fields of one JSON object.
pub struct ObjectReader<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    errors: FieldErrors,
}

impl<'a> ObjectReader<'a> {
    /// Starts reading `value`, which must be an object.
    ///
    /// # Errors
    /// A [`FieldErrors`] naming `what` when `value` is not an object (null, array, scalar).
    pub fn new(value: &'a Value, what: &str) -> Result<Self, FieldErrors> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                prefix: String::new(),
                errors: FieldErrors::new(),
            }),
            other => {
                let mut errors = FieldErrors::new();
                errors.add(what, not_an_object(kind(other)));
                Err(errors)
            }
        }
    }

    /// Reads a nested object `name` (required). Its errors are reported as `name.field` and
    /// merged back with [`ObjectReader::merge`].
    pub fn nested(&mut self, name: &str) -> Option<ObjectReader<'a>> {
        let path = self.path(name);
        match self.map.get(name) {
            Some(Value::Object(map)) => Some(ObjectReader {
                map,
                prefix: format!("{path}."),
                errors: FieldErrors::new(),
            }),
            None | Some(Value::Null) => {
                self.errors.add(path, "is required");
                None
            }
            Some(other) => {
                self.errors
                    .add(path, format!("must be an object, not {}", kind(other)));
                None
            }
        }
    }

    /// Takes the errors of a nested reader into this one.
    pub fn merge(&mut self, nested: ObjectReader<'_>) {
        for e in nested.errors.iter() {
            self.errors.add(e.field.clone(), &e.message);
        }
    }

    /// The raw value of the first of `names` present and not null.
    pub fn raw(&self, names: &[&str]) -> Option<(&'a Value, String)> {
        names.iter().find_map(|n| {
            self.map
                .get(*n)
                .filter(|v| !v.is_null())
                .map(|v| (v, self.path(n)))
        })
    }

    /// Whether any of `names` is present (even as null).
    pub fn has(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.map.contains_key(*n))
    }

    /// A required string under the first present alias of `names` (the first name is the one
    /// reported when missing).
    pub fn required_str(&mut self, names: &[&str]) -> Option<&'a str> {
        let found = self.raw(names);
        self.require(names, found)
            .and_then(|(v, path)| self.as_str(v, path))
    }

    /// An optional string (absent or null is `None`).
    pub fn optional_str(&mut self, names: &[&str]) -> Option<&'a str> {
        self.raw(names).and_then(|(v, path)| self.as_str(v, path))
    }

    /// A required number.
    pub fn required_f64(&mut self, names: &[&str]) -> Option<f64> {
        let found = self.raw(names);
        self.require(names, found)
            .and_then(|(v, path)| self.as_f64(v, path))
    }

    /// An optional number.
    pub fn optional_f64(&mut self, names: &[&str]) -> Option<f64> {
        self.raw(names).and_then(|(v, path)| self.as_f64(v, path))
    }

    /// A required boolean.
    pub fn required_bool(&mut self, names: &[&str]) -> Option<bool> {
        let found = self.raw(names);
        self.require(names, found).and_then(|(v, path)| match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.errors
                    .add(path, format!("must be true or false, not {}", kind(other)));
                None
            }
        })
    }

    /// Records a problem with field `name`.
    pub fn error(&mut self, name: &str, message: impl std::fmt::Display) {
        let path = self.path(name);
        self.errors.add(path, message);
    }

    /// Records every field not in `allowed` as unknown (REST bodies are strict).
    pub fn deny_unknown(&mut self, allowed: &[&str]) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| self.path(k))
            .collect();
        for path in unknown {
            self.errors.add(path, "is not a known field");
        }
    }

    /// Everything refused so far.
    pub fn finish(self) -> FieldErrors {
        self.errors
    }

    fn path(&self, name: &str) -> String {
        // Field names come from clients: keep what we echo back short.
        let name: String = name.chars().take(64).collect();
        format!("{}{name}", self.prefix)
    }

    fn require(
        &mut self,
        names: &[&str],
        found: Option<(&'a Value, String)>,
    ) -> Option<(&'a Value, String)> {
        if found.is_none() {
            let path = self.path(names.first().copied().unwrap_or("value"));
            self.errors.add(path, "is required");
        }
        found
    }

    fn as_str(&mut self, v: &'a Value, path: String) -> Option<&'a str> {
        match v {
            Value::String(s) => Some(s),
            other => {
                self.errors
                    .add(path, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    fn as_f64(&mut self, v: &'a Value, path: String) -> Option<f64> {
        match v.as_f64() {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.errors.add(path, not_a_finite_number(kind(v)));
                None
            }
        }
    }
}

/// The answer to a payload that is not an object but `kind` ([`kind`]'s names). Shared with
/// the ping, which is read without an [`ObjectReader`] and must answer alike.
pub(crate) fn not_an_object(kind: &str) -> String {
    format!("must be a JSON object, not {kind}")
}

/// The answer to a field that should be a finite number but is `kind`; shared with the ping.
pub(crate) fn not_a_finite_number(kind: &str) -> String {
    format!("must be a finite number, not {kind}")
}

/// A short name of a JSON value's type, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Helpers for the parsers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;

    use rodando_domain::validation::FieldErrors;

    /// A parsed query string of `pairs`.
    pub(crate) fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The fields `e` names, in order.
    pub(crate) fn fields(e: FieldErrors) -> Vec<String> {
        e.iter().map(|f| f.field.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_bad_field_is_reported_once() {
        let v = json!({"a": "x", "b": [1], "extra": 1, "n": {"deep": true}});
        let mut r = ObjectReader::new(&v, "body").unwrap();
        assert_eq!(r.required_f64(&["a"]), None);
        assert_eq!(r.required_str(&["b"]), None);
        assert_eq!(r.required_bool(&["missing", "alias"]), None);
        let mut n = r.nested("n").unwrap();
        assert_eq!(n.required_f64(&["deep"]), None);
        r.merge(n);
        r.deny_unknown(&["a", "b", "n"]);
        let fields: Vec<String> = r.finish().iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["a", "b", "missing", "n.deep", "extra"]);
    }

    #[test]
    fn aliases_and_null_are_handled() {
        let v = json!({"lat": 1.5, "name": null});
        let mut r = ObjectReader::new(&v, "body").unwrap();
        assert_eq!(r.required_f64(&["latitude", "lat"]), Some(1.5));
        assert_eq!(r.optional_str(&["name"]), None);
        assert!(r.has(&["name"]));
        assert!(r.finish().is_empty());
    }

    #[test]
    fn non_objects_are_refused_with_their_kind() {
        for v in [json!(null), json!([1]), json!("s"), json!(1)] {
            let e = ObjectReader::new(&v, "payload").err().unwrap();
            assert_eq!(e.iter().next().unwrap().field, "payload");
        }
    }
}
