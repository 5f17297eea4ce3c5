//! The Python module of jifen, imported as `jifen._jifen` and re-exported by
//! the `jifen` package.
//!
//! A thin surface: it converts Python values to the core's requests and the
//! core's answers and errors back to Python. Every rule lives in the core.

mod arrow;
mod commands;
mod engine;
mod errors;
mod settle;
mod typed;
mod value;

use pyo3::prelude::*;

/// The module's own allocations (the result tables above all) ask for huge
/// pages when large, as numpy's arrays do.
#[global_allocator]
static ALLOCATOR: jifen_alloc::LargeBlocks = jifen_alloc::LargeBlocks;

/// The names of the built-in policy presets, e.g. `"baisha-2019"`.
#[pyfunction]
fn presets() -> Vec<&'static str> {
    jifen::policy::presets::PRESET_NAMES.to_vec()
}

#[pymodule]
mod _jifen {
    #[pymodule_export]
    use super::presets;

    #[pymodule_export]
    use crate::engine::Engine;

    #[pymodule_export]
    use crate::settle::{settle_month, settle_partitions, synthetic_population};

    #[pymodule_export]
    use crate::errors::{
        AccessError, AccountError, BulkError, CardError, HouseholdError, InputError, JifenError,
        JournalError, PolicyError, ScoringError, SettlementError, StoreError,
    };

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
