//! sift: the server and the command line.
pub mod cli;
pub mod observe;
