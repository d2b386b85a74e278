//! The messages on the control socket, one JSON object per line.

use serde::{Deserialize, Serialize};

use crate::status::Status;

/// What the instance answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<Status>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Response {
    pub fn ok(message: impl Into<String>) -> Self {
        Response {
            ok: true,
            status: None,
            message: Some(message.into()),
        }
    }

    pub fn status(status: Status) -> Self {
        Response {
            ok: true,
            status: Some(Box::new(status)),
            message: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Response {
            ok: false,
            status: None,
            message: Some(message.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Request;

    #[test]
    fn requests_are_small_tagged_json() {
        assert_eq!(
            serde_json::to_string(&Request::Resync).unwrap(),
            r#"{"command":"resync"}"#
        );
        let r: Request = serde_json::from_str(r#"{"command":"quit"}"#).unwrap();
        assert_eq!(r, Request::Quit);
        assert!(serde_json::from_str::<Request>(r#"{"command":"format_disk"}"#).is_err());
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::ok("resync requested");
        let back: Response = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
