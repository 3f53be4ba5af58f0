//! Status badges shared by the rooms: the colour tag of a licence status.

use tongban_domain::licence::LicenceStatus;

pub fn status_tag(s: &LicenceStatus) -> &'static str {
    if *s == LicenceStatus::Valid { "ok" } else { "bad" }
}
