//! API errors as a Kubernetes API server returns them (a `metav1.Status`).

/// `metav1.StatusReason`, with its HTTP code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    NotFound,
    AlreadyExists,
    Conflict,
    Invalid,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    Gone,
    InternalError,
    Timeout,
    TooManyRequests,
    RequestEntityTooLarge,
    /// A patch type the resource does not accept (a strategic merge patch of a custom object).
    UnsupportedMediaType,
    /// Not a server answer: the client could not reach the API server.
    ConnectionRefused,
    /// `StatusReasonUnknown` (empty): a storage's plain error, a 500.
    Unknown,
}

impl Reason {
    pub fn code(self) -> u16 {
        match self {
            Reason::NotFound => 404,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Invalid => 422,
            Reason::BadRequest => 400,
            Reason::Forbidden => 403,
            Reason::MethodNotAllowed => 405,
            Reason::Gone => 410,
            Reason::InternalError => 500,
            Reason::Timeout => 504,
            Reason::TooManyRequests => 429,
            Reason::RequestEntityTooLarge => 413,
            Reason::UnsupportedMediaType => 415,
            Reason::ConnectionRefused => 0,
            Reason::Unknown => 500,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFound => "NotFound",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Invalid => "Invalid",
            Reason::BadRequest => "BadRequest",
            Reason::Forbidden => "Forbidden",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::Gone => "Gone",
            Reason::InternalError => "InternalError",
            Reason::Timeout => "Timeout",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::ConnectionRefused => "ConnectionRefused",
            Reason::Unknown => "",
        }
    }
}

/// One field-level cause of an `Invalid` error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `spec.selector`
    pub field: String,
    /// `Required value`, `Invalid value: "x": must be ...`
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub reason: Reason,
    /// The Status message, e.g. `pods "x" not found`.
    pub message: String,
    /// For `Invalid`: the kind and name kubectl names (`The Deployment "x" is invalid`).
    pub kind: String,
    pub name: String,
    pub causes: Vec<Cause>,
}

impl ApiError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiError { reason, message: message.into(), kind: String::new(), name: String::new(), causes: Vec::new() }
    }
    /// `pods "x" not found` (`qualified` is `pods` or `deployments.apps`).
    pub fn not_found(qualified: &str, name: &str) -> Self {
        Self::new(Reason::NotFound, format!("{qualified} \"{name}\" not found"))
    }
    pub fn already_exists(qualified: &str, name: &str) -> Self {
        Self::new(Reason::AlreadyExists, format!("{qualified} \"{name}\" already exists"))
    }
    pub fn conflict(qualified: &str, name: &str) -> Self {
        Self::new(
            Reason::Conflict,
            format!("Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"),
        )
    }
    pub fn conflict_message(message: impl Into<String>) -> Self {
        Self::new(Reason::Conflict, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Reason::BadRequest, message)
    }
    pub fn connection_refused() -> Self {
        Self::new(Reason::ConnectionRefused, "connection refused")
    }
    /// An `Invalid` error; `qualified_kind` is `Deployment.apps` or `Pod`.
    pub fn invalid(kind: &str, qualified_kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let details = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>();
        let details = if details.len() == 1 { details[0].clone() } else { format!("[{}]", details.join(", ")) };
        ApiError {
            reason: Reason::Invalid,
            message: format!("{qualified_kind} \"{name}\" is invalid: {details}"),
            kind: kind.to_string(),
            name: name.to_string(),
            causes,
        }
    }
    pub fn code(&self) -> u16 {
        self.reason.code()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}
