//! PIN verification at the default Argon2id cost: a kiosk must answer well
//! under 250 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use jifen::card::{PinHashCost, PinHasher};

fn verify_pin(c: &mut Criterion) {
    let hasher = PinHasher::new(b"county pepper", PinHashCost::default())
        .expect("the default cost is valid");
    let stored = hasher.hash("123456", 6).expect("a valid PIN hashes");
    let mut group = c.benchmark_group("pin");
    group.sample_size(20);
    group.bench_function("verify_default_cost", |b| {
        b.iter(|| {
            hasher
                .verify("123456", &stored)
                .expect("the stored hash parses")
        })
    });
    group.finish();
}

criterion_group!(benches, verify_pin);
criterion_main!(benches);
