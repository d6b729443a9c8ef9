use super::files::FilesError;
use super::store::StoreError;

/// Everything a request can fail with; the socket and HTTP layers map it once to protocol codes.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("not found")]
    NotFound,
    #[error("unauthorized")]
    Unauthorized,
    /// An agent without the `admin` role asked for an admin operation.
    #[error("only an admin of the site may do this")]
    Forbidden,
    #[error("too many requests, slow down")]
    RateLimited,
    /// The server is too busy to take the request now (e.g. every password check slot is taken
    /// for longer than a client should wait); retrying later may succeed.
    #[error("the server is busy, try again shortly")]
    Unavailable,
    /// A file over the upload limit of `max_bytes`.
    #[error("files may be at most {max_bytes} bytes")]
    FileTooLarge { max_bytes: u64 },
    /// An upload whose bytes are of no allowed type.
    #[error("{0}")]
    UnsupportedType(String),
    #[error("internal error")]
    Internal(StoreError),
    /// The file storage failed.
    #[error("internal error")]
    Files(FilesError),
}

impl From<FilesError> for DomainError {
    fn from(e: FilesError) -> Self {
        DomainError::Files(e)
    }
}

/// Store failures are internal, except the one the store reports as a refusal: an append by an
/// agent disabled or deleted meanwhile is the agent's credentials failing, not the server.
impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AgentInactive => DomainError::Unauthorized,
            StoreError::AttachmentUnavailable => DomainError::invalid(
                "an attachment is not an unsent upload of this side of the conversation",
            ),
            e => DomainError::Internal(e),
        }
    }
}

impl DomainError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        DomainError::Invalid(msg.into())
    }

    /// The protocol's error code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid(_) => "invalid",
            DomainError::TooLarge(_) | DomainError::FileTooLarge { .. } => "too_large",
            DomainError::NotFound => "not_found",
            DomainError::Unauthorized => "unauthorized",
            DomainError::Forbidden => "forbidden",
            DomainError::RateLimited => "rate_limited",
            DomainError::Unavailable => "unavailable",
            DomainError::UnsupportedType(_) => "unsupported_type",
            DomainError::Internal(_) | DomainError::Files(_) => "internal",
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Why a Socket.IO handshake (either namespace) was refused; the text is the client's
/// `connect_error` message.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("unknown_site")]
    UnknownSite,
    #[error("origin_not_allowed")]
    OriginNotAllowed,
    #[error("rate_limited")]
    RateLimited,
    /// The visitor already holds the maximum number of connections.
    #[error("too_many_connections")]
    TooManyConnections,
    /// An agent's token is missing, malformed, expired or revoked.
    #[error("unauthorized")]
    Unauthorized,
    /// The database did not answer: not the client's fault.
    #[error("internal")]
    Internal(#[from] StoreError),
}
