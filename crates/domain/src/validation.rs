//! Field-level validation errors, collected so one answer names every bad field.

use std::fmt;

/// One refused field: its wire name (dotted for nested fields) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Wire name of the field, e.g. `latitude` or `pickup.longitude`.
    pub field: String,
    /// Human-readable reason.
    pub message: String,
}

/// Every bad field of one input. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is bad because of `message`.
    pub fn add(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.to_string(),
        });
    }

    /// Keeps the value of `result`, or records its error against `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e);
                None
            }
        }
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The refused fields, in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was refused, else these errors.
    ///
    /// # Errors
    /// `self` when at least one field was refused.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }

    /// `Ok` with the `value` a parser read when nothing was refused; else these errors (a
    /// value that could not be read always left its error here).
    ///
    /// # Errors
    /// `self` when at least one field was refused or `value` is missing.
    pub fn into_value<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(v) if self.is_empty() => Ok(v),
            _ => Err(self),
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}
