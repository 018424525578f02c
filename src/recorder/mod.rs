//! The recorder and its views.
//!
//! The recorder is the process that owns the card readers, the database's
//! writer and the push; it has no terminal, so a dropped SSH connection
//! takes only a view with it. Views (the roster TUI, the door display)
//! attach over a Unix socket of the user's (`place`), read the roster from
//! the database, which is the truth, and send the instructor's commands
//! (`crate::command`) to the recorder, which carries them out through the
//! engine and tells every view (`protocol::Notice`). tmux is the model: the
//! server outlives its clients.
//!
//! - `place`: where the socket is, who may use it
//! - `protocol`: the messages, one JSON object per line
//! - `serve`, `connection`: the recorder's loop and one view's connection
//! - `attach`: a view's end
//! - `spawn`: a view starts a recorder when there is none

pub mod attach;
pub mod connection;
pub mod place;
pub mod protocol;
pub mod serve;
pub mod spawn;

pub use attach::{AttachError, Attached};
pub use protocol::{Notice, Welcome};
pub use serve::{Ending, Recorder};
