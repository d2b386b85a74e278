//! lfsb's `Authorization` rule (litefs-backup v0.2.0): the header is `cluster <name>`, and
//! the cluster is taken from it alone (`?cluster=` is ignored).
//!
//! As lfsb splits the header on single spaces: anything but exactly two parts whose first
//! is `cluster` (any case) is `401 EINVALIDAUTH`; an empty name, one longer than 32
//! bytes, one of other characters than `[A-Za-z0-9_.-]` or one starting with `.` is
//! `400 EBADCLUSTER`.

/// Longest cluster name lfsb accepts.
pub const MAX_CLUSTER_LEN: usize = 32;

/// Why a request's `Authorization` was refused, as lfsb answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `401 {"code":"EINVALIDAUTH"}`.
    InvalidFormat,
    /// `400 {"code":"EBADCLUSTER"}`: the name is empty.
    ClusterRequired,
    /// `400 {"code":"EBADCLUSTER"}`: the name is too long or holds other characters.
    ClusterInvalid,
}

impl Refusal {
    /// The HTTP status, lfsb's error code and its message.
    pub fn answer(self) -> (u16, &'static str, &'static str) {
        match self {
            Refusal::InvalidFormat => (401, "EINVALIDAUTH", "authorization header invalid format"),
            Refusal::ClusterRequired => (400, "EBADCLUSTER", "cluster required"),
            Refusal::ClusterInvalid => (400, "EBADCLUSTER", "cluster invalid"),
        }
    }
}

/// The cluster an `Authorization` header names (`None`: no header, or not text).
pub fn cluster_of(header: Option<&str>) -> Result<&str, Refusal> {
    let header = header.unwrap_or("");
    let mut parts = header.split(' ');
    let (Some(scheme), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Refusal::InvalidFormat);
    };
    if !scheme.eq_ignore_ascii_case("cluster") {
        return Err(Refusal::InvalidFormat);
    }
    if name.is_empty() {
        return Err(Refusal::ClusterRequired);
    }
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.len() > MAX_CLUSTER_LEN || name.starts_with('.') || !name.chars().all(word) {
        return Err(Refusal::ClusterInvalid);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_comes_from_a_well_formed_header() {
        assert_eq!(cluster_of(Some("cluster store-7")), Ok("store-7"));
        assert_eq!(cluster_of(Some("Cluster a.b_c-9")), Ok("a.b_c-9"));
        assert_eq!(
            cluster_of(Some(&format!("cluster {}", "x".repeat(32)))).map(str::len),
            Ok(32)
        );
    }

    #[test]
    fn anything_else_is_refused_as_lfsb_refuses_it() {
        for bad in [
            None,
            Some(""),
            Some("FlyV1 abc"),
            Some("cluster  two"),
            Some("cluster a b"),
            Some("clusterx"),
        ] {
            assert_eq!(cluster_of(bad), Err(Refusal::InvalidFormat), "{bad:?}");
        }
        assert_eq!(cluster_of(Some("cluster ")), Err(Refusal::ClusterRequired));
        for bad in ["bad/name", ".hidden", "é", &"x".repeat(33)] {
            assert_eq!(
                cluster_of(Some(&format!("cluster {bad}"))),
                Err(Refusal::ClusterInvalid),
                "{bad}"
            );
        }
        assert_eq!(Refusal::InvalidFormat.answer().0, 401);
        assert_eq!(Refusal::ClusterInvalid.answer().0, 400);
    }
}
