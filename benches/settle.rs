//! Criterion benchmarks of the bulk settlement kernel at 1M and 10M
//! households (10 entries each), entries sorted by household and shuffled.
//! `cargo bench --bench settle`; `cargo bench --bench settle -- 1M` for the
//! smaller size only.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jifen::settlement::bulk::{settle, MonthRules, SettleOptions};
use jifen::settlement::synthetic::{Population, PopulationSpec};
use jifen::Policy;

/// The allocator jifen's C library and Python module run on.
#[global_allocator]
static ALLOCATOR: jifen_alloc::LargeBlocks = jifen_alloc::LargeBlocks;

fn bench_size(c: &mut Criterion, label: &str, households: usize) {
    let policy = Policy::from_json("baisha-2019").expect("preset");
    let spec = PopulationSpec::new(households, 2025);
    let mut group = c.benchmark_group(format!("settle/{label}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(spec.entries as u64));
    let mut population = None;
    for variant in ["sorted", "shuffled"] {
        group.bench_function(variant, |b| {
            let population = population
                .get_or_insert_with(|| Population::generate(&policy, &spec).expect("population"));
            if variant == "shuffled" && population.entries.household.is_sorted() {
                population.shuffle_entries(7);
            }
            let rules = MonthRules::for_categories(&policy, spec.month, &population.categories)
                .expect("rules");
            let input = population.input();
            b.iter(|| settle(&rules, &input, SettleOptions::default()).expect("settles"));
        });
    }
    group.finish();
}

fn kernel(c: &mut Criterion) {
    bench_size(c, "1M", 1_000_000);
    bench_size(c, "10M", 10_000_000);
}

criterion_group!(benches, kernel);
criterion_main!(benches);
