//! Case handling (综合业务管理): every submitted application becomes one case per item; a case
//! moves through its workflow version against the legal clock on the work calendar.
//!
//! One function, `move_in`, makes every move — by staff or by the applicant — and writes the new
//! state, the case event, the queue counters, the application's mirrored status and timeline, and
//! the audit record in the caller's transaction. A stale `row_version` loses with 409.
//!
//! The use cases are grouped by who does what: `shared`, `opening`, `view`, `moves`, `queues`, `handling`, `applicant`.

mod applicant;
mod handling;
mod moves;
mod opening;
mod queues;
mod shared;
mod view;

pub use applicant::{of_application, supplement, withdraw_in};
pub use handling::{assign, claim, colleagues, note};
pub use moves::{act, move_in};
pub use opening::{Opening, open_in};
pub use queues::{OFFICE_QUEUES, QueueCount, list, list_with_counts, queues};
pub use shared::{ActionInput, Schedule, YELLOW_DAYS, scope_for, warning_of};
pub use view::{CaseView, reveal, view};
