"""One engine shared by 8 Python threads: every command lands once, in one
hash chain, and the accounts add up to what the threads posted."""

from __future__ import annotations

import datetime
import threading

from conftest import JAN_1, REGION, open_engine

THREADS = 8
POSTS = 25
MARCH_5 = datetime.date(2025, 3, 5)


def test_one_engine_from_eight_threads() -> None:
    engine = open_engine()
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    for t in range(THREADS):
        engine.register_household(
            actor="admin",
            household=f"H{t}",
            region=REGION,
            head=f"head {t}",
            category="ordinary",
            category_from=JAN_1,
        )
    start = engine.verify()["seq"]
    credited = [0] * THREADS
    failures: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(POSTS):
                outcome = engine.post_award(
                    actor="admin",
                    household=f"H{t}",
                    date=MARCH_5,
                    points=1 + (i % 3),
                    key=f"t{t}-{i}",
                    reason="thread test",
                )
                credited[t] += outcome["result"]["credited"]
                engine.balance(f"H{(t + 1) % THREADS}")
                # The same idempotency key again appends nothing.
                engine.post_award(
                    actor="admin",
                    household=f"H{t}",
                    date=MARCH_5,
                    points=1 + (i % 3),
                    key=f"t{t}-{i}",
                    reason="thread test",
                )
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, failures
    for t in range(THREADS):
        assert engine.balance(f"H{t}") == credited[t]
    totals = engine.check_invariants()
    assert totals["credited"] == sum(credited)
    assert engine.verify()["seq"] == start + THREADS * POSTS
