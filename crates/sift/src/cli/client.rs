//! The HTTP client shared by the client commands. Being written.
