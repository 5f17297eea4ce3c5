# The two commands a new machine needs:
#   make demo   runs the main job: a synthetic county's month end to end, printing its settlement
#   make test   runs every Rust, C and Python test, with the formatting and lint checks
.PHONY: demo test rust-test c-test python-test lint

demo:
	cargo run --release --example month

test: lint rust-test c-test python-test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	# One package at a time: the C library's crate is also named `jifen`.
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jifen
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jifen-ffi
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jifen-python
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jifen-alloc
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jifen-stream
	# What differs between systems is in jifen-stream (x86-64 vectors and
	# stores) and jifen-alloc (Linux mappings): both are also checked as
	# built for 64-bit ARM Linux and for macOS, whose libraries rustup adds.
	rustup target add aarch64-unknown-linux-gnu aarch64-apple-darwin
	for target in aarch64-unknown-linux-gnu aarch64-apple-darwin; do \
		cargo clippy --target $$target -p jifen-stream -p jifen-alloc --all-targets -- -D warnings \
		|| exit 1; \
	done

rust-test:
	cargo test --workspace
	# Miri checks jifen-stream's unsafe code (result columns written without
	# zeroing them first) on the nightly toolchain, adding Miri when missing.
	rustup component add --toolchain nightly miri rust-src
	cargo +nightly miri test -p jifen-stream
	# And as ARM, where its x86-64 code is not built (Miri runs other targets).
	cargo +nightly miri test --target aarch64-unknown-linux-gnu -p jifen-stream
	# The bulk settlement's builds for narrower vectors than this processor's
	# widest, which it would not otherwise run.
	for vectors in avx2 baseline; do \
		JIFEN_MAX_VECTORS=$$vectors cargo test -p jifen-stream --lib && \
		JIFEN_MAX_VECTORS=$$vectors cargo test -p jifen --test bulk_settlement --test scenarios \
		|| exit 1; \
	done

c-test:
	bash tests/c/run.sh

python-test:
	bash python/run-tests.sh
