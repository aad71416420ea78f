"""Kept so old commands still work: the benchmark is ``bench/bench_em.py`` (same options).

Run: ``make bench`` or ``.venv/bin/python bench/bench_em.py [--quick]``.
"""

from __future__ import annotations

from bench_em import main

if __name__ == "__main__":
    main()
