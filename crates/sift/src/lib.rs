//! sift: the server and the command line.
pub mod cli;
pub mod config;
pub mod observe;
pub mod pipeline;
