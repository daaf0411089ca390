//! WMS client (in progress).
