//! AWS adapters (in progress).
