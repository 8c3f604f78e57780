"""End-to-end benchmark: orders over each product client, driven by wrk.

``just bench`` runs ``python -m bench.e2e``. One job per module:

- ``databases``: fresh PostgreSQL databases, migrations, the catalogue and order history;
- ``servers``: the uvicorn processes under test and their settings;
- ``load``: wrk scripts, one wrk run, CPU time per request;
- ``matrix``: the main run (every app, every scenario, every concurrency);
- ``rounds``: which rows take turns as pairs, and one group measured in rounds;
- ``analysis``: paired ratios over rounds, ratios against the targets and the anchor rows;
- ``report`` and ``chart``: the markdown tables and ``docs/bench/throughput.png``;
- ``profile``: py-spy samples of the processes under load;
- ``scaling``: the reads at 1x, 10x and 100x the order history.
"""
