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

/// Gives the memory the module keeps for its next settlements back to the
/// system: how many bytes that was. Large blocks a settlement freed (its
/// working buffers, result tables no longer referenced) are kept for the
/// next settlement of about the same size; a notebook done with its
/// settlements calls this to shrink to what it holds. 0 on systems other
/// than Linux.
#[pyfunction]
fn give_back_memory() -> usize {
    jifen_alloc::give_back_kept()
}

#[pymodule]
mod _jifen {
    #[pymodule_export]
    use super::{give_back_memory, presets};

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
