//! What every room shares and no room owns: the page shell and extractors (`shell`), error
//! pages (`error`), forms and pagination rendering (`forms`), uploads (`upload`), status badges
//! (`badges`), path parameters (`params`), cookies, the request-wide middleware, the route
//! registry and builder, static assets, rate limits and the operations probes (`ops`).
//! Nothing here imports a room.

pub mod assets;
pub mod badges;
pub mod cookies;
pub mod error;
pub mod forms;
pub mod limits;
pub mod middleware;
pub mod ops;
pub mod params;
pub mod registry;
pub mod routes;
pub mod shell;
pub mod upload;
