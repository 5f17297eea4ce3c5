//! C ABI for jifen.
