//! Python module for jifen.
