//! The contract's error body and its mapping to HTTP responses.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// A refused request: HTTP status plus the contract's `{"error": {...}}` body.
///
/// Every refusal leaves simulator state unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (always 4xx or 5xx).
    pub status: StatusCode,
    /// Machine-readable code, e.g. `insufficient_onhand`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// JSON path of the offending input field, when one field is to blame.
    pub field: Option<String>,
}

/// Wire form of an error: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error details.
    pub error: ErrorDetail,
}

/// Wire form of the error details.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// JSON path of the offending field, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with the given status, code and message and no field.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
        }
    }

    /// Names the input field to blame.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 Unprocessable Entity: well-formed but refused by the WMS rules.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 409 Conflict: refused because of the current state.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 404 Not Found.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 404 `unknown_dc`.
    pub fn unknown_dc(dc: &str) -> Self {
        Self::not_found("unknown_dc", format!("no distribution center {dc:?}")).at("dc")
    }

    /// 422 `unknown_item`.
    pub fn unknown_item(item: &str, field: &str) -> Self {
        Self::unprocessable("unknown_item", format!("no item {item:?} in the item master")).at(field)
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, axum::Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer, ApiKey header=\"X-Api-Key\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Parses a JSON request body, mapping failures to the contract's 400 errors
/// (`malformed_json`, `unknown_field`, `invalid_body`) instead of axum's plain-text rejections.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request("malformed_json", format!("request body is not valid JSON: {e}"))
            }
            Category::Data => {
                let text = e.to_string();
                if text.starts_with("unknown field") {
                    let field = text.split('`').nth(1).unwrap_or_default().to_string();
                    ApiError::bad_request("unknown_field", text).at(field)
                } else if let Some(field) = text
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    let field = field.to_string();
                    ApiError::bad_request("missing_field", text).at(field)
                } else {
                    ApiError::bad_request("invalid_body", text)
                }
            }
        }
    })
}
